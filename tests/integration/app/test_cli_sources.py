"""``datawave source add | list | remove`` as a newcomer uses them (issue 11, items 15, 17, 18)."""

from __future__ import annotations

import asyncio
import getpass
import json
import re
from pathlib import Path

import pytest
import yaml
from neo4j import AsyncDriver
from typer.testing import CliRunner

from app.cli.main import cli
from core.settings import Settings
from core.sources import (
    DATABASE_NAME_RULE,
    MAX_DATABASE_NAME,
    MAX_USER,
    NAME_RULE,
    SECRET_LENGTH_RULE,
    SECRET_RULE,
    USER_LENGTH_RULE,
)
from core.urns import source_urn
from graph.driver import read, write
from tests.integration.estate import Estate

EVENTS = "MATCH (e:AuditEvent {resource: $urn}) RETURN e {.*} AS event ORDER BY e.at"
FORGET = "MATCH (e:AuditEvent {resource: $urn}) DELETE e"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", "datawave")
    return CliRunner()


def add(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["source", "add", *args])
    return result.exit_code, result.output


def test_add_defaults_the_port_and_list_prints_whole_names(
    runner: CliRunner, estate: Estate
) -> None:
    name = f"{estate.name}-with-a-name-longer-than-a-narrow-terminal"
    estate.name = name  # so the estate fixture deletes this source afterwards
    code, output = add(
        runner, "--name", name, "--kind", "postgresql", "--user", "datawave",
        "--secret-ref", "env:DATAWAVE_SOURCE_PASSWORD",
    )  # fmt: skip
    assert code == 0, output
    assert f"registered {name} (postgresql at 127.0.0.1:5432)" in output
    listed = runner.invoke(cli, ["source", "list", "--output", "json"])
    assert listed.exit_code == 0, listed.output
    (mine,) = [s for s in json.loads(listed.output) if s["name"] == name]
    assert (mine["port"], mine["tls"], mine["status"]) == (5432, "disable", "registered")
    table = runner.invoke(cli, ["source", "list"], env={"COLUMNS": "40"})
    assert name in table.output and "…" not in table.output


async def test_the_review_queue_prints_whole_column_urns(
    runner: CliRunner, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """``classify queue`` cut a column's URN to ``urn:dw:column:acme-pos…``: nothing to paste
    into ``classify explain``."""
    estate.table("orders_with_a_long_name", ("customer_email_address",))
    column = estate.column_urn("orders_with_a_long_name", "customer_email_address")
    estate.label(column, "Email", status="review")
    await estate.write(neo4j, settings.neo4j.database)
    queue = await asyncio.to_thread(
        runner.invoke, cli, ["classify", "queue", "--limit", "10000"], env={"COLUMNS": "60"}
    )
    assert queue.exit_code == 0, queue.output
    assert column in queue.output


def test_add_says_what_is_wrong_in_words(runner: CliRunner) -> None:
    code, output = add(runner, "--name", "Acme Sales", "--kind", "postgresql", "--secret-ref", "x")
    assert code == 2
    assert f"name: {NAME_RULE}" in output and f"secretRef: {SECRET_RULE}" in output
    assert "pattern" not in output and not re.search(r"\[a-z|\^|\$", output), output


def test_add_refuses_a_secret_reference_over_the_cap(
    runner: CliRunner, tmp_path: Path, estate: Estate
) -> None:
    """A megabyte reference from a file was registered (argv caps a flag at 128 kB)."""
    ref, name = "env:DATAWAVE_SOURCE_" + "A" * 1_000_000, estate.name
    source = tmp_path / "source.yaml"
    source.write_text(yaml.safe_dump({"name": name, "kind": "postgresql", "secret_ref": ref}))
    code, output = add(runner, "--file", str(source))
    assert code == 2 and f"{name}: secretRef: {SECRET_LENGTH_RULE}" in output, output[:500]
    assert "AAAA" not in output


def test_add_refuses_a_user_and_databases_over_their_caps(runner: CliRunner, unique: str) -> None:
    """Any length of user and database names was registered, stored and listed."""
    code, output = add(
        runner, "--name", unique, "--kind", "postgresql", "--user", "u" * (MAX_USER + 1),
        "--database", "sales", "--database", "d" * (MAX_DATABASE_NAME + 1),
    )  # fmt: skip
    assert code == 2, output
    assert f"{unique}: user: {USER_LENGTH_RULE}" in output, output
    assert f"{unique}: databases: {DATABASE_NAME_RULE}" in output, output
    assert "uuuu" not in output


def test_add_says_a_file_it_cannot_read_in_words(runner: CliRunner, tmp_path: Path) -> None:
    """A file that is not UTF-8 text (a binary, a UTF-16 export) was a traceback."""
    binary = tmp_path / "sources.yaml"
    binary.write_bytes(b"\xff\xfename: x\n")
    code, output = add(runner, "--file", str(binary))
    assert code == 2 and "cannot read" in output and "utf-8" in output, output


def test_add_refuses_what_the_policy_refuses(runner: CliRunner, unique: str) -> None:
    code, output = add(runner, "--name", unique, "--kind", "postgresql", "--port", "7687")
    assert code == 2 and "127.0.0.1:7687 is one of DataWave's own services" in output
    code, output = add(
        runner, "--name", unique, "--kind", "postgresql", "--user", "datawave",
        "--secret-ref", "env:DATAWAVE_AUTH__HS_SECRET",
    )  # fmt: skip
    assert code == 2 and "is not a source secret" in output


async def test_remove_soft_deletes_and_is_audited(
    runner: CliRunner, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    estate.table("orders")
    db = settings.neo4j.database
    await estate.write(neo4j, db)
    # In a thread: the command runs its own event loop, as it does from a shell.
    result = await asyncio.to_thread(runner.invoke, cli, ["source", "remove", estate.name])
    assert result.exit_code == 0, result.output
    assert "3 databases, schemas and tables marked removed" in result.output
    rows = await read(
        neo4j, db,
        "MATCH (a:Asset {source: $name}) RETURN count(a) AS all, count(a.removedAt) AS removed",
        name=estate.name,
    )  # fmt: skip
    assert rows[0]["all"] == rows[0]["removed"] == 5
    urn = source_urn(estate.name)
    events = [r["event"] for r in await read(neo4j, db, EVENTS, urn=urn)]
    await write(neo4j, db, FORGET, urn=urn)
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("unregisterDataSource", "allowed"),
        ("unregisterDataSource", "succeeded"),
    ]
    assert {e["actor"] for e in events} == {f"cli:{getpass.getuser()}"}
    again = await asyncio.to_thread(runner.invoke, cli, ["source", "remove", estate.name])
    assert again.exit_code == 1 and "no data source" in again.output


async def test_list_shows_a_source_known_only_from_its_events(
    runner: CliRunner, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """Events of a source nobody registered (or since unregistered) leave a bare
    ``:DataSource`` (urn and name); the listing showed a KeyError instead of every source."""
    db, urn = settings.neo4j.database, source_urn(unique)
    await write(
        neo4j, db, "MERGE (s:DataSource {urn: $urn}) SET s.name = $name", urn=urn, name=unique
    )
    try:
        table = await asyncio.to_thread(runner.invoke, cli, ["source", "list"])
        assert table.exit_code == 0, table.output
        (row,) = [line for line in table.output.splitlines() if unique in line]
        assert [cell.strip() for cell in row.split("│")[1:4]] == [unique, "-", "-"]
    finally:
        await write(neo4j, db, "MATCH (s:DataSource {urn: $urn}) DELETE s", urn=urn)
