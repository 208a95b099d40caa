"""Quality gates with SQL rules run on the real PostgreSQL and MariaDB: a warning rule alerts
without quarantine, a failing rule quarantines and opens a remediation whose analysis is noted
and which the passing re-run resolves; a statement that is not one read-only SELECT is refused
with its path, a slow one is stopped by the source after the rule's timeout, and no rule
connects to a source whose circuit breaker is open."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiomysql
import pytest

from core.settings import Settings
from core.sources import DataSourceConfig
from core.urns import column_urn, database_urn, schema_urn, source_urn, table_urn
from graph.driver import read, write
from graph.sources import register_source
from ingest.breakers import KEY, SourceFailure, guarded
from live.changes import ChangeType, catalog_change, publish_catalog_change
from tests.factories import eventually
from tests.integration.databases import postgres_database
from tests.integration.mesh.flow import (
    ADVANCE,
    ASSIGN,
    DOMAIN,
    IMPORT,
    PRODUCT,
    TEAM,
    mesh_steps,
    nodes,
)
from tests.unit.mesh.odcs import contract

ENGINES = {"postgresql": 5432, "mariadb": 3306}
CATALOG = """
MATCH (s:DataSource {urn: $source})
MERGE (d:Asset {urn: $databaseUrn}) SET d:Database, d.name = $db, d.source = $name
MERGE (sc:Asset {urn: $schema}) SET sc:Schema, sc.name = $schemaName, sc.source = $name
MERGE (t:Asset {urn: $table})
SET t:Table, t.name = 'orders', t.kind = 'table', t.source = $name, t.rowCount = 20,
    t.schemaUrn = $schema,
    t.lastSeenAt = datetime()
MERGE (s)-[:CONTAINS]->(d) MERGE (d)-[:CONTAINS]->(sc) MERGE (sc)-[:CONTAINS]->(t)
WITH t
UNWIND $columns AS c
MERGE (col:Asset {urn: c.urn})
SET col:Column, col.name = c.name, col.source = $name, col.dataType = c.type,
    col.ordinal = c.ordinal, col.nullable = true
MERGE (t)-[:HAS_COLUMN]->(col)
"""
COLUMNS = {"id": ("integer", "integer"), "total": ("numeric", "number"),
           "email": ("varchar(80)", "string")}  # fmt: skip
GATE = """
mutation($version: ID!) { evaluateQualityGate(version: $version) {
  version { health alert quarantined quarantineReason quality { rule level observed message }
            qualityRuns(last: 1) { id health }
            remediations { totalCount edges { node {
              id status reason failedRun clearingRun clearedBy
              notes { edges { node { by note } } } } } } }
  errors { __typename message } } }
"""
NOTE = """
mutation($remediation: ID!, $note: String!) {
  noteRemediation(remediation: $remediation, note: $note) {
    remediation { id status notes { edges { node { by at note } } } }
    errors { __typename message } } }
"""
STATE = """
query($id: ID!) { node(id: $id) { ... on ProductVersion {
  quarantined qualityRuns(last: 5) { id by passed }
  remediations { edges { node { status clearedBy clearingRun } } } } } }
"""
AUDITED = """
MATCH (e:AuditEvent) WHERE e.resource IN [$urn, 'Mutation.noteRemediation']
  AND e.actor STARTS WITH $name
RETURN split(e.actor, '-')[-1] AS actor, e.outcome AS outcome ORDER BY e.at
"""


@pytest.fixture
async def orders_db(
    request: pytest.FixtureRequest, unique: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, str, Any]]:
    """A table ``orders`` (20 rows, two without an e-mail) in a new database of the real engine;
    returns its kind, schema and a function running SQL on it; dropped afterwards."""
    engine = request.param
    password = settings.source_password.get_secret_value()
    monkeypatch.setenv(f"DATAWAVE_SOURCE_{unique.upper()}", password)
    login = {"host": "127.0.0.1", "user": "datawave", "password": password}
    rows = [(i, 10.0 * i, None if i < 2 else f"c{i}@example.org") for i in range(20)]
    ddl = "CREATE TABLE orders (id integer, total numeric(10, 2), email varchar(80))"
    if engine == "postgresql":
        async with postgres_database(password, unique) as conn:
            await conn.execute(ddl)
            await conn.executemany("INSERT INTO orders VALUES ($1, $2, $3)", rows)
            yield engine, "public", conn.execute
        return
    maria = await aiomysql.connect(**login, port=3306, autocommit=True, db="mysql")
    async with maria.cursor() as cur:
        await cur.execute(f"CREATE DATABASE `{unique}`")
        await cur.execute(f"USE `{unique}`")
        await cur.execute(ddl)
        await cur.executemany("INSERT INTO orders VALUES (%s, %s, %s)", rows)

    async def run(sql: str) -> None:
        async with maria.cursor() as cur:
            await cur.execute(sql)

    yield engine, unique, run
    async with maria.cursor() as cur:
        await cur.execute(f"DROP DATABASE `{unique}`")
    maria.close()


async def product_on(m: dict[str, Any], kind: str, schema: str) -> tuple[str, str]:
    """The source registered (its password in an allowed variable), its table ``orders`` as a
    scan leaves it, in domain sales, and product ``orders`` of sales exposing it: the
    product's and the table's URNs."""
    name, settings, neo4j = m["name"], m["settings"], m["neo4j"]
    db = settings.neo4j.database
    config = DataSourceConfig(
        name=name, kind=kind, port=ENGINES[kind], databases=[name], user="datawave",
        secret_ref=f"env:DATAWAVE_SOURCE_{name.upper()}",
    )  # fmt: skip
    await register_source(neo4j, db, config)
    table = table_urn(name, name, schema, "orders")
    columns = [{"urn": column_urn(table, c), "name": c, "type": t, "ordinal": i}
               for i, (c, (t, _)) in enumerate(COLUMNS.items(), start=1)]  # fmt: skip
    await write(
        neo4j, db, CATALOG, source=source_urn(name), name=name, db=name, schemaName=schema,
        databaseUrn=database_urn(name, name), schema=schema_urn(name, name, schema), table=table,
        columns=columns,
    )  # fmt: skip
    ada, olga = m["admin"], m["owner"]
    sales = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    await ada(ASSIGN, domain=sales, assets=[schema_urn(name, name, schema)])
    team = (await olga(TEAM, input={"domain": sales, "name": f"{name}-orders"}))["saveTeam"]
    spec = {"domain": sales, "name": "orders", "ownerTeam": team["team"]["id"],
            "description": "Every order, as sold",
            "outputPorts": [{"name": "orders", "asset": table}]}  # fmt: skip
    created = (await olga(PRODUCT, input=spec))["createDataProduct"]
    assert created["errors"] == [], created
    return created["product"]["id"], table


def odcs(*rules: dict[str, Any]) -> str:
    columns = {c: {"logicalType": t} for c, (_, t) in COLUMNS.items()}
    return contract(columns, quality=list(rules))


NO_NEGATIVE = {"type": "sql", "name": "no-negative-totals", "mustBe": 0,
               "query": "SELECT COUNT(*) FROM orders WHERE total < 0"}  # fmt: skip
EMAILS_KNOWN = {"type": "sql", "name": "emails-known", "severity": "warning",
                "query": "SELECT COUNT(*) FROM ${object} WHERE ${object}.email IS NULL",
                "mustBeLessThan": 1}  # fmt: skip


@pytest.mark.parametrize("orders_db", list(ENGINES), indirect=True)
async def test_sql_rules_alert_quarantine_and_remediate(
    mesh: dict[str, Any], orders_db: tuple[str, str, Any]
) -> None:
    m, (kind, schema, on_source) = mesh, orders_db
    olga, carl = m["owner"], m["consumer"]
    product, _ = await product_on(m, kind, schema)
    taken = await olga(
        IMPORT, product=product, version="1.0.0", odcs=odcs(NO_NEGATIVE, EMAILS_KNOWN)
    )
    version = taken["importContract"]["version"]["id"]

    # Two orders without an e-mail: the warning rule alerts, nothing is quarantined.
    warned = (await olga(GATE, version=version))["evaluateQualityGate"]["version"]
    assert (warned["health"], warned["quarantined"]) == ("WARNING", False)
    assert warned["alert"] == "orders sql = 2 fails mustBeLessThan 1"
    levels = {q["rule"]: (q["level"], q["observed"]) for q in warned["quality"]}
    assert levels == {"no-negative-totals": ("PASSED", 0.0), "emails-known": ("WARNING", 2.0)}
    assert warned["remediations"]["totalCount"] == 0

    # A negative total on the source: the gate fails, the version is quarantined and cannot
    # be published, and a remediation is open on the failing run.
    await on_source("INSERT INTO orders VALUES (99, -5, 'x@example.org')")
    failed = (await olga(GATE, version=version))["evaluateQualityGate"]["version"]
    assert (failed["health"], failed["quarantined"]) == ("QUARANTINED", True)
    assert failed["quarantineReason"] == "orders sql = 1 fails mustBe 0"
    [edge] = failed["remediations"]["edges"]
    opened = edge["node"]
    assert (opened["status"], opened["failedRun"]) == ("OPEN", failed["qualityRuns"][0]["id"])
    assert opened["reason"] == failed["quarantineReason"]
    refused = (await olga(ADVANCE, version=version, step="PUBLISH"))["advanceVersion"]
    assert [e["__typename"] for e in refused["errors"]] == ["WrongStateError"]

    # The analysis is noted by the product's owner; a consumer may not.
    noted = await olga(NOTE, remediation=opened["id"], note="a refund booked as an order")
    [note] = nodes(noted["noteRemediation"]["remediation"]["notes"])
    assert note["by"] == f"{m['name']}-olga"
    outsider = await carl.raw(NOTE, remediation=opened["id"], note="not mine")
    assert outsider["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # Fixed on the source: the re-run releases the version and resolves the remediation.
    await on_source("DELETE FROM orders WHERE total < 0")
    cleared = (await olga(GATE, version=version))["evaluateQualityGate"]["version"]
    assert (cleared["health"], cleared["quarantined"]) == ("WARNING", False)
    [edge] = cleared["remediations"]["edges"]
    resolved = edge["node"]
    assert resolved["status"] == "RESOLVED"
    assert resolved["clearingRun"] == cleared["qualityRuns"][0]["id"]
    assert resolved["clearedBy"] == f"{m['name']}-olga"
    assert [n["note"] for n in nodes(resolved["notes"])] == ["a refund booked as an order"]
    late = (await olga(NOTE, remediation=opened["id"], note="too late"))["noteRemediation"]
    assert [e["__typename"] for e in late["errors"]] == ["WrongStateError"]

    await m["served"].app.state.datawave.audit.drain()
    db = m["settings"].neo4j.database
    audit = await read(m["neo4j"], db, AUDITED, urn=opened["id"], name=m["name"])
    # The notes, the late one and the outsider's attempt are in the audit trail.
    assert [(a["actor"], a["outcome"]) for a in audit] == [
        ("olga", "allowed"), ("olga", "succeeded"), ("carl", "denied"), ("olga", "allowed"),
        ("olga", "failed"),
    ]  # fmt: skip
    correlation = await _correlation(m, product)
    steps = await mesh_steps(m["settings"], correlation, 11)
    # The version's steps (one partition, in order) beside the product's creation.
    actions = [s["data"]["action"] for s in steps if s["subject"] == version]
    assert actions == [
        "contract.imported",
        "gate.passed", "gate.warned", "gate.failed", "gate.warned", "remediation.opened",
        "remediation.noted", "gate.passed", "gate.warned", "remediation.resolved",
    ]  # fmt: skip


async def _correlation(m: dict[str, Any], product: str) -> str:
    rows = await read(
        m["neo4j"], m["settings"].neo4j.database,
        "MATCH (p:DataProduct {urn: $urn}) RETURN p.correlationId AS c", urn=product,
    )  # fmt: skip
    return rows[0]["c"]


REFUSED = (
    "DELETE FROM orders",
    "SELECT 1; DROP TABLE orders",
    "WITH gone AS (DELETE FROM orders RETURNING id) SELECT COUNT(*) FROM gone",
)


@pytest.mark.parametrize("orders_db", list(ENGINES), indirect=True)
async def test_only_one_read_only_select_runs_and_a_slow_one_is_stopped(
    mesh: dict[str, Any], orders_db: tuple[str, str, Any]
) -> None:
    m, (kind, schema, _) = mesh, orders_db
    olga = m["owner"]
    product, _ = await product_on(m, kind, schema)
    for query in REFUSED:
        rule = {"type": "sql", "query": query, "mustBe": 0}
        taken = await olga(IMPORT, product=product, version="1.0.0", odcs=odcs(NO_NEGATIVE, rule))
        [error] = taken["importContract"]["errors"]
        assert (error["__typename"], error["path"]) == (
            "InvalidContractError",
            "schema.0.quality.1.query",
        ), query
        assert taken["importContract"]["version"] is None

    sleep = "SELECT pg_sleep(30)" if kind == "postgresql" else "SELECT SLEEP(30)"
    slow = {"type": "sql", "name": "slow", "query": sleep, "mustBe": 0,
            "customProperties": [{"property": "timeoutSeconds", "value": 1}]}  # fmt: skip
    taken = await olga(IMPORT, product=product, version="1.0.0", odcs=odcs(NO_NEGATIVE, slow))
    version = taken["importContract"]["version"]["id"]
    start = time.monotonic()
    gate = (await olga(GATE, version=version))["evaluateQualityGate"]["version"]
    assert time.monotonic() - start < 20  # the source stopped it, not the 30 s sleep
    by_rule = {q["rule"]: q for q in gate["quality"]}
    assert by_rule["slow"]["level"] == "FAILED"
    assert by_rule["slow"]["message"] == "orders sql: stopped: timed out after 1 s"
    assert by_rule["no-negative-totals"]["level"] == "PASSED"
    assert gate["quarantined"] is True


@pytest.mark.parametrize("orders_db", ["postgresql"], indirect=True)
async def test_a_scan_runs_the_gate_again(
    mesh: dict[str, Any], orders_db: tuple[str, str, Any]
) -> None:
    m, (kind, schema, on_source) = mesh, orders_db
    olga = m["owner"]
    product, table = await product_on(m, kind, schema)
    taken = await olga(IMPORT, product=product, version="1.0.0", odcs=odcs(NO_NEGATIVE))
    version = taken["importContract"]["version"]["id"]
    await on_source("INSERT INTO orders VALUES (99, -5, 'x@example.org')")
    failed = (await olga(GATE, version=version))["evaluateQualityGate"]["version"]
    assert failed["quarantined"] is True

    # What the API announces about the table itself changes neither its columns nor its
    # data: the gate does not run again (it would put a run between the owner's own).
    redis = m["served"].app.state.datawave.redis
    for fields in (["domains"], ["labels"], ["description", "tags", "owners"]):
        await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, table, fields))
    await asyncio.sleep(2)
    assert len((await olga(STATE, id=version))["node"]["qualityRuns"]) == 1

    # Fixed on the source; the next scan's change of the table (as the relay forwards a
    # worker's) runs the gate again: released, and the remediation cleared by that run.
    await on_source("DELETE FROM orders WHERE total < 0")

    async def released() -> bool:
        # Announced again while not released: a watcher behind on a busy channel drops some.
        change = catalog_change(ChangeType.CHANGED, table, ["columns"])
        await publish_catalog_change(redis, change)
        await asyncio.sleep(1)
        return (await olga(STATE, id=version))["node"]["quarantined"] is False

    await eventually(released, timeout_s=60)
    node = (await olga(STATE, id=version))["node"]
    [edge] = node["remediations"]["edges"]
    assert (edge["node"]["status"], edge["node"]["clearedBy"]) == ("RESOLVED", "datawave")
    runs = {r["id"]: (r["by"], r["passed"]) for r in node["qualityRuns"]}
    assert runs[edge["node"]["clearingRun"]] == ("datawave", True)


@pytest.mark.parametrize("orders_db", ["postgresql"], indirect=True)
async def test_no_rule_connects_to_a_source_whose_breaker_is_open(
    mesh: dict[str, Any], orders_db: tuple[str, str, Any], settings: Settings
) -> None:
    m, (kind, schema, _) = mesh, orders_db
    product, _ = await product_on(m, kind, schema)
    taken = await m["owner"](IMPORT, product=product, version="1.0.0", odcs=odcs(NO_NEGATIVE))
    version = taken["importContract"]["version"]["id"]
    redis = m["served"].app.state.datawave.redis
    try:
        for _ in range(settings.resilience.breaker_threshold):  # scans that found it down
            with contextlib.suppress(SourceFailure):
                async with guarded(settings.redis_url, m["name"], settings.resilience):
                    raise SourceFailure("unreachable")
        gate = (await m["owner"](GATE, version=version))["evaluateQualityGate"]["version"]
        [rule] = gate["quality"]
        assert rule["level"] == "FAILED" and rule["observed"] is None
        assert rule["message"].startswith(f"orders sql: not run: refused: source {m['name']}")
        assert "circuit breaker is open" in rule["message"]
    finally:
        await redis.delete(*(f"{KEY}{m['name']}{s}" for s in ("", "::failure_count")))
    passed = (await m["owner"](GATE, version=version))["evaluateQualityGate"]["version"]
    assert [q["level"] for q in passed["quality"]] == ["PASSED"]
