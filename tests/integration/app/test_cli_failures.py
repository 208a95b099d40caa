"""What the ``datawave`` commands say when they cannot do their work: a dependency that does not
answer, credentials Neo4j refuses, a value out of range. Words and an exit code, never a Python
traceback (a traceback was all ``source list``, ``migrate`` and ``classify queue`` printed)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import AsyncDriver
from typer.testing import CliRunner

from app.cli.main import cli
from core.settings import Settings
from graph.scans import count_scans
from graph.sources import register_source
from ingest.registration import source_config
from tests.integration.cleanup import drop_sources


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    return CliRunner()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (held, not listening, for the test)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def said_in_words(result: object, *words: str) -> str:
    """The command exited 1 of itself (no exception escaped) and said ``words``."""
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1, output  # type: ignore[attr-defined]
    assert isinstance(result.exception, SystemExit), result.exception  # type: ignore[attr-defined]
    assert all(w in output for w in words), output
    return output


# Each waits out the driver's retries (30 s) first, as a blip would be waited out.
@pytest.mark.parametrize("args", [["source", "list"], ["classify", "queue"]])
def test_an_unreachable_graph_is_said_in_words(
    runner: CliRunner, closed_port: int, args: list[str]
) -> None:
    env = {"DATAWAVE_NEO4J__URI": f"bolt://127.0.0.1:{closed_port}"}
    result = runner.invoke(cli, args, env=env)
    said_in_words(result, "the graph database (Neo4j) is unreachable", "DATAWAVE_NEO4J__URI")


def test_an_unwritable_audit_trail_stops_an_unregistration_in_words(
    runner: CliRunner, closed_port: int, unique: str
) -> None:
    env = {"DATAWAVE_NEO4J__URI": f"bolt://127.0.0.1:{closed_port}"}
    result = runner.invoke(cli, ["source", "remove", unique], env=env)
    said_in_words(result, "the audit trail is unavailable, so nothing was changed", "Neo4j")


def test_refused_neo4j_credentials_are_said_in_words(runner: CliRunner) -> None:
    env = {"DATAWAVE_NEO4J__PASSWORD": "not-the-password"}
    output = said_in_words(runner.invoke(cli, ["source", "list"], env=env), "Neo4j refused")
    assert "DATAWAVE_NEO4J__PASSWORD" in output and "not-the-password" not in output


@pytest.mark.parametrize("limit", ["0", "-1", "99999999999999999999"])
def test_a_review_queue_limit_out_of_range_is_refused(runner: CliRunner, limit: str) -> None:
    """A negative limit was a Neo4j error's traceback, a huge one an OverflowError's."""
    result = runner.invoke(cli, ["classify", "queue", "--limit", limit])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--limit'" in result.output


def test_explaining_a_urn_without_labels_says_so(runner: CliRunner, unique: str) -> None:
    """It printed nothing and exited 0, as if the column had been explained."""
    urn = f"urn:dw:column:{unique}/db/public/t/c"
    result = runner.invoke(cli, ["classify", "explain", urn])
    assert result.exit_code == 1, result.output
    assert f"no labels on {urn}" in result.output


def test_reevaluating_an_unknown_source_names_it(runner: CliRunner, unique: str) -> None:
    """A typo re-scored 0 columns and exited 0, as if the source had been re-evaluated."""
    result = runner.invoke(cli, ["classify", "reevaluate", "--source", unique])
    said_in_words(result, f"no data source {unique}", "datawave source list")


async def test_scanning_names_every_unknown_source_before_it_scans_any(
    runner: CliRunner, closed_port: int, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """``scan good typo`` scanned ``good``, then failed on ``typo``: the typo cost a scan."""
    db, typos = settings.neo4j.database, [f"{unique}-typo", f"{unique}-typo2"]
    good = source_config({"name": unique, "kind": "postgresql", "port": closed_port})
    await register_source(neo4j, db, good)
    try:
        args = ["scan", unique, typos[0], unique, typos[1]]
        result = await asyncio.to_thread(runner.invoke, cli, args)
        said_in_words(result, "nothing scanned", *(f"unknown source {t!r}" for t in typos))
        assert f"unknown source {unique!r}" not in result.output
        assert await count_scans(neo4j, db, unique) == 0, "a named source was scanned"
    finally:
        await drop_sources(settings, neo4j, unique)
