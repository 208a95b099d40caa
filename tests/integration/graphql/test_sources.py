"""Data-source mutations and scan history against the local PostgreSQL: register (an admin),
test, scan and unregister a source, and read its scans back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.events import ASSET_CHANGED, parse_event
from core.settings import IngestSettings, Settings
from core.sources import (
    DATABASE_NAME_RULE,
    DATABASES_RULE,
    MAX_DATABASE_NAME,
    MAX_DATABASES,
    MAX_SECRET_REF,
    MAX_USER,
    NAME_RULE,
    SECRET_LENGTH_RULE,
    SECRET_RULE,
    USER_LENGTH_RULE,
)
from core.urns import source_urn
from graph.driver import read, write
from graph.scans import finish_scan, start_scan
from ingest.scan import ScanError, run_scan
from ingest.worker import Worker
from live.broadcast import PREFIX
from live.changes import scan_channel
from security.auth import mint_token
from tests.factories import running
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute, Served, bearer, serve
from tests.integration.graphql.test_live_events import SCAN as PROGRESS
from tests.integration.graphql.test_live_events import collect

REGISTER = """
mutation ($input: DataSourceInput!) {
  registerDataSource(input: $input) {
    dataSource { id name kind port user status configuredDatabases }
    errors { __typename message ... on InvalidInputError { field } }
  }
}
"""
TEST = """
mutation ($source: String!) {
  testDataSource(source: $source) {
    check { status serverVersion error databases correlationId }
    errors { __typename message }
  }
}
"""
SCAN = """
mutation ($source: String!) {
  startScan(source: $source) {
    scanId scan { id status progress { stage percent } }
    errors { __typename message ... on ConnectionFailedError { correlationId } }
  }
}
"""
UNREGISTER = """
mutation ($source: String!) {
  unregisterDataSource(source: $source) { removedAssets errors { __typename message } }
}
"""
SCAN_BY_ID = """
query ($id: ID!) {
  scan(id: $id) { id source status startedAt finishedAt events tables columns error }
}
"""
SCANS = """
query ($source: String!, $first: Int!, $after: String) {
  scans(source: $source, first: $first, after: $after) {
    totalCount edges { node { id status error } } pageInfo { hasNextPage endCursor }
  }
}
"""
ASSETS = """
query ($source: String!) {
  assets(filter: {source: $source}, first: 100) { totalCount edges { node { name } } }
}
"""
FORGET = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
PASSWORD_ENV = "DATAWAVE_SOURCE_TEST_PASSWORD"  # the default policy's prefix: DATAWAVE_SOURCE_


@asynccontextmanager
async def client(served: Served, token: str) -> AsyncIterator[Execute]:
    transport = HTTPXAsyncTransport(url=f"{served.url}/graphql", headers=bearer(token), timeout=60)
    # 60 s: the first classify of the process loads the classifier's models (ml.LazyService).
    async with Client(transport=transport, execute_timeout=60) as session:

        async def run(query: str, **variables: Any) -> dict[str, Any]:
            return await session.execute(GraphQLRequest(query, variable_values=variables))

        yield run


@asynccontextmanager
async def as_admin(served: Served, settings: Settings) -> AsyncIterator[Execute]:
    """Runs documents as an admin (``source:admin``); its audit events are deleted after."""
    subject = f"admin-{uuid.uuid4().hex[:8]}"
    async with client(served, mint_token(settings.auth, subject, ["admin"])) as run:
        yield run
    await served.app.state.datawave.audit.drain()
    state = served.app.state.datawave
    await write(state.neo4j, settings.neo4j.database, FORGET, actor=subject)


@pytest.fixture
async def admin_api(served: Served, settings: Settings) -> AsyncIterator[Execute]:
    async with as_admin(served, settings) as run:
        yield run


@pytest.fixture
def postgres(settings: Settings, monkeypatch: pytest.MonkeyPatch, estate: Estate) -> dict:
    """The local PostgreSQL as source ``estate.name`` (deleted afterwards), no port given."""
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    return {
        "name": estate.name,
        "kind": "postgresql",
        "user": "datawave",
        "secretRef": f"env:{PASSWORD_ENV}",
        "databases": ["postgres"],
    }


async def register(execute: Execute, **source: Any) -> dict:
    return (await execute(REGISTER, input=source))["registerDataSource"]


async def test_register_checks_the_config_and_says_what_is_wrong_in_words(
    admin_api: Execute, postgres: dict
) -> None:
    for change, field, message in (
        ({"name": "Not A Slug"}, "name", NAME_RULE),
        ({"kind": "oracle"}, "kind", "no connector 'oracle'; known: mariadb, mongodb, "
         "mysql, postgres, postgresql"),
        ({"port": 0}, "port", "Input should be greater than or equal to 1"),
        ({"secretRef": "hunter2"}, "secretRef", SECRET_RULE),
        ({"secretRef": "env:DATAWAVE_SOURCE_" + "A" * MAX_SECRET_REF}, "secretRef",
         SECRET_LENGTH_RULE),
        # Uncapped, a megabyte user or database names, or any number of them, were registered.
        ({"user": "u" * (MAX_USER + 1)}, "user", USER_LENGTH_RULE),
        ({"databases": ["postgres", "d" * (MAX_DATABASE_NAME + 1)]}, "databases",
         DATABASE_NAME_RULE),
        ({"databases": [f"db{n}" for n in range(MAX_DATABASES + 1)]}, "databases",
         DATABASES_RULE),
    ):  # fmt: skip
        result = await register(admin_api, **postgres | change)
        assert result["dataSource"] is None
        assert [(e["__typename"], e["field"], e["message"]) for e in result["errors"]] == [
            ("InvalidInputError", field, message)
        ], change
    result = await register(admin_api, **postgres)
    assert result == {
        "dataSource": {
            "id": source_urn(postgres["name"]),
            "name": postgres["name"],
            "kind": "postgresql",
            "port": 5432,  # PostgreSQL's standard port: none was given
            "user": "datawave",
            "status": "REGISTERED",
            "configuredDatabases": postgres["databases"],
        },
        "errors": [],
    }


async def test_a_steward_tests_and_edits_but_an_admin_registers(
    execute: Execute, admin_api: Execute, postgres: dict
) -> None:
    with pytest.raises(TransportQueryError, match="source:admin"):
        await register(execute, **postgres)
    assert (await register(admin_api, **postgres))["errors"] == []
    edited = await register(execute, **postgres | {"databases": ["postgres", "template1"]})
    assert edited["dataSource"]["configuredDatabases"] == ["postgres", "template1"]
    check = (await execute(TEST, source=postgres["name"]))["testDataSource"]
    assert check["errors"] == []
    assert check["check"]["status"] == "REACHABLE", check
    assert check["check"]["serverVersion"] and check["check"]["correlationId"] is None


async def test_test_data_source_reports_failure_in_general_terms(
    execute: Execute, admin_api: Execute, postgres: dict
) -> None:
    await register(admin_api, **postgres | {"port": 1})
    down = (await execute(TEST, source=postgres["name"]))["testDataSource"]["check"]
    assert down["status"] == "UNREACHABLE"
    assert "port 1" not in down["error"] and "refused" in down["error"]
    assert down["correlationId"] in down["error"]
    missing = (await execute(TEST, source=f"{postgres['name']}-missing"))["testDataSource"]
    assert [e["__typename"] for e in missing["errors"]] == ["NotFoundError"]


async def test_start_scan_reports_a_failed_validation_in_its_payload(
    execute: Execute, admin_api: Execute, postgres: dict
) -> None:
    """Issue 11 item 16: the failure was visible only to a WebSocket subscriber."""
    await register(admin_api, **postgres | {"port": 1})
    result = (await execute(SCAN, source=postgres["name"]))["startScan"]
    assert result["scanId"] is None
    assert [e["__typename"] for e in result["errors"]] == ["ConnectionFailedError"]
    assert result["errors"][0]["correlationId"] in result["errors"][0]["message"]


async def test_a_scan_started_through_the_api_is_read_back_when_finished(
    postgres: dict, settings: Settings, ingest_cfg: IngestSettings, neo4j: AsyncDriver
) -> None:
    """The API (on this test's own topics) scans with an ingest worker running; its progress
    reaches subscribers, and ``scan(id)`` and ``scans`` show the outcome afterwards."""
    own = settings.model_copy(update={"ingest": ingest_cfg})
    worker = Worker(ingest_cfg, settings.kafka, neo4j, settings.neo4j.database)
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.psubscribe(PREFIX + scan_channel("*"))
    try:
        async with serve(own) as api, running(worker), as_admin(api, settings) as run:
            await run(REGISTER, input=postgres)
            result = (await run(SCAN, source=postgres["name"]))["startScan"]
            assert result["errors"] == []
            assert result["scan"] == {  # issue 12 (1): with its first state
                "id": result["scanId"],
                "status": "RUNNING",
                "progress": {"stage": "VALIDATE", "percent": 0.0},
            }
            channel = (PREFIX + scan_channel(result["scanId"])).encode()
            stages: list[str] = []
            async with asyncio.timeout(60):
                while not stages or stages[-1] not in ("finished", "failed"):
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message and message["channel"] == channel:
                        stages.append(json.loads(message["data"])["stage"])
            assert stages[0] == "validate" and stages[-1] == "finished", stages
            scan = (await run(SCAN_BY_ID, id=result["scanId"]))["scan"]
            history = (await run(SCANS, source=postgres["name"], first=5))["scans"]
            token = mint_token(settings.auth, "late", ["viewer"])
            late = await collect(api, token, PROGRESS, id=result["scanId"])
    finally:
        await pubsub.aclose()
        await redis.aclose()
    assert (scan["id"], scan["source"], scan["status"]) == (
        result["scanId"],
        postgres["name"],
        "FINISHED",
    )
    assert scan["finishedAt"] >= scan["startedAt"] and scan["error"] is None
    assert [e["node"]["id"] for e in history["edges"]] == [result["scanId"]]
    assert [r["scanProgress"]["stage"] for r in late] == ["FINISHED"]  # then it completes


async def test_scans_pages_a_sources_history_newest_first(
    execute: Execute, admin_api: Execute, postgres: dict, neo4j: AsyncDriver, settings: Settings
) -> None:
    await register(admin_api, **postgres)
    db, name = settings.neo4j.database, postgres["name"]
    ids = [f"{name}-scan-{n}" for n in range(5)]
    for n, scan_id in enumerate(ids):
        await start_scan(neo4j, db, scan_id, name, source_urn(name))
        await finish_scan(neo4j, db, scan_id, status="failed", stage="failed", error=f"e{n}")
    seen, after = [], None
    while True:
        page = (await execute(SCANS, source=name, first=2, after=after))["scans"]
        assert page["totalCount"] == 5
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids[::-1]
    one = (await execute(SCAN_BY_ID, id=ids[0]))["scan"]
    assert (one["status"], one["error"], bool(one["finishedAt"])) == ("FAILED", "e0", True)
    assert (await execute(SCAN_BY_ID, id="no-such-scan"))["scan"] is None


async def test_scans_of_a_source_out_of_scope_read_as_none(
    served: Served, settings: Settings, postgres: dict, admin_api: Execute, neo4j: AsyncDriver
) -> None:
    await register(admin_api, **postgres)
    db, name = settings.neo4j.database, postgres["name"]
    await start_scan(neo4j, db, f"{name}-hidden", name, source_urn(name))
    token = mint_token(settings.auth, "scoped-viewer", ["viewer"], sources=["elsewhere"])
    async with client(served, token) as run:
        by_id = await run(SCAN_BY_ID, id=f"{name}-hidden")
        page = await run(SCANS, source=name, first=10)
    assert by_id["scan"] is None
    assert (page["scans"]["totalCount"], page["scans"]["edges"]) == (0, [])


async def test_unregistering_soft_deletes_and_announces_the_assets(
    execute: Execute,
    admin_api: Execute,
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    """Issue 11 item 15: an admin unregisters; a steward may not."""
    estate.table("orders")
    estate.table("customers")
    await estate.write(neo4j, settings.neo4j.database)
    assert (await execute(ASSETS, source=estate.name))["assets"]["totalCount"] == 8
    consumer = AIOKafkaConsumer(
        settings.ingest.changes_topic, bootstrap_servers=settings.kafka.bootstrap_servers
    )
    await consumer.start()
    try:
        await consumer.seek_to_end()
        with pytest.raises(TransportQueryError, match="source:admin"):
            await execute(UNREGISTER, source=estate.name)
        result = (await admin_api(UNREGISTER, source=estate.name))["unregisterDataSource"]
        assert result == {"removedAssets": 4, "errors": []}  # database, schema, two tables
        page = await execute(ASSETS, source=estate.name)  # the count above was cached
        assert page["assets"]["totalCount"] == 0, "at once, not when the announcement arrives"
        removed: set[str] = set()
        async with asyncio.timeout(30):
            while len(removed) < 5:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = parse_event(record.value)
                        if event.type == ASSET_CHANGED and event.data.change == "removed":
                            removed.add(event.subject)
    finally:
        await consumer.stop()
    assert {source_urn(estate.name), estate.table_urn("orders")} <= removed
    assert (await execute(ASSETS, source=estate.name))["assets"]["totalCount"] == 0
    rows = await read(
        neo4j,
        settings.neo4j.database,
        "MATCH (a:Asset {source: $name}) RETURN count(a) AS all, count(a.removedAt) AS removed",
        name=estate.name,
    )
    assert rows[0]["all"] == rows[0]["removed"] == 8  # kept, marked removed (columns too)
    again = (await admin_api(UNREGISTER, source=estate.name))["unregisterDataSource"]
    assert [e["__typename"] for e in again["errors"]] == ["NotFoundError"]


async def test_a_registration_that_no_longer_validates_is_a_failure_not_an_error(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A source stored by an older version (a relative file: reference, since refused)."""
    await write(
        neo4j,
        settings.neo4j.database,
        "CREATE (:DataSource {urn: $urn, name: $name, kind: 'postgresql', host: '127.0.0.1', "
        "port: 5432, secretRef: 'file:pw.txt', status: 'registered'})",
        urn=source_urn(estate.name),
        name=estate.name,
    )
    check = (await execute(TEST, source=estate.name))["testDataSource"]["check"]
    assert (check["status"], check["correlationId"] in check["error"]) == ("UNREACHABLE", True)
    started = (await execute(SCAN, source=estate.name))["startScan"]
    assert [e["__typename"] for e in started["errors"]] == ["ConnectionFailedError"]
    with pytest.raises(ScanError, match=f"source '{estate.name}' needs registering again: "):
        await run_scan(settings, neo4j, estate.name)
