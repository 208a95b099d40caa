"""The live-event semantics through a mainstream JS client (graphql-ws on Node, as a UI uses it),
against the real services: a scan of a real PostgreSQL database through the API, the ingest
worker writing it and the change relay announcing it (issue 12, tests).

A new table arrives as ADDED with its asset, an unchanged rescan sends nothing, a new column
is CHANGED with the field that changed, and a client that subscribes to a scan after it ended
gets its final state, then the subscription completes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from neo4j import AsyncDriver

from core.settings import IngestSettings, Settings
from core.urns import table_urn
from ingest.worker import Worker
from live.relay import ChangeRelay
from security.auth import mint_token
from tests.factories import running
from tests.integration.cleanup import drop_sources
from tests.integration.databases import postgres_database
from tests.integration.graphql.conftest import JS, Execute, serve
from tests.integration.graphql.test_replicas import anext_within, read_lines
from tests.integration.graphql.test_sources import PASSWORD_ENV, client

REGISTER = """
mutation ($input: DataSourceInput!) { registerDataSource(input: $input) { errors { message } } }
"""
SCAN = "mutation ($s: String!) { startScan(source: $s) { scan { id } errors { message } } }"
STATUS = "query ($id: ID!) { scan(id: $id) { status error } }"


@pytest.fixture
async def database(
    settings: Settings, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[asyncpg.Connection]:
    """A PostgreSQL database of this test's own, with one table; the source the test registers
    over it is dropped with it."""
    try:
        async with postgres_database(settings.source_password.get_secret_value(), unique) as conn:
            await conn.execute("CREATE TABLE orders (id int PRIMARY KEY)")
            yield conn
    finally:
        await drop_sources(settings, neo4j, unique)


async def scan(run: Execute, source: str) -> str:
    """Scan through the API and wait until the scan has finished."""
    started = (await run(SCAN, s=source))["startScan"]
    assert started["errors"] == [], started
    scan_id = started["scan"]["id"]
    for _ in range(450):  # 90 s
        status = (await run(STATUS, id=scan_id))["scan"]
        if status["status"] != "RUNNING":
            assert status == {"status": "FINISHED", "error": None}
            return scan_id
        await asyncio.sleep(0.2)
    raise AssertionError(f"scan {scan_id} still running after 90 s")


@asynccontextmanager
async def in_background(work: Coroutine[Any, Any, Any]) -> AsyncIterator[None]:
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def node_client(node: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        node, str(JS / "live.mjs"), *args, stdout=asyncio.subprocess.PIPE
    )


async def test_live_events_through_graphql_ws(
    node: str,
    database: asyncpg.Connection,
    settings: Settings,
    ingest_cfg: IngestSettings,
    monkeypatch: pytest.MonkeyPatch,
    neo4j: AsyncDriver,
    unique: str,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    own = settings.model_copy(update={"ingest": ingest_cfg, "relay_changes": False})
    worker = Worker(ingest_cfg, settings.kafka, neo4j, settings.neo4j.database)
    token = mint_token(settings.auth, f"ui-{uuid.uuid4().hex[:6]}", ["admin"])
    orders = table_urn(unique, unique, "public", "orders")
    async with serve(own) as api, running(worker), client(api, token) as run:
        relay = ChangeRelay(api.app.state.datawave, topic=ingest_cfg.changes_topic, group_id=unique)
        async with in_background(relay.run()):
            source = {"name": unique, "kind": "postgresql", "user": "datawave",
                      "secretRef": f"env:{PASSWORD_ENV}", "databases": [unique]}  # fmt: skip
            assert (await run(REGISTER, input=source))["registerDataSource"]["errors"] == []
            ws = api.url.replace("http", "ws") + "/graphql"
            changes = await node_client(node, "changes", ws, token, unique)
            assert changes.stdout is not None
            lines = read_lines(changes.stdout)
            try:
                assert await anext_within(lines, 30) == {"ready": True}
                first = await scan(run, unique)
                assert await anext_within(lines, 30) == {
                    "type": "ADDED", "urn": orders, "fields": [],
                    "asset": {"id": orders, "name": "orders"},
                }  # fmt: skip
                await scan(run, unique)  # nothing changed: nothing is announced
                await database.execute("ALTER TABLE orders ADD COLUMN email text")
                await scan(run, unique)
                change = await anext_within(lines, 30)  # the first event since the new table
                assert (change["type"], change["urn"]) == ("CHANGED", orders)
                assert "columns" in change["fields"]  # with sizeBytes, as PostgreSQL reports it
            finally:
                changes.kill()
                await changes.wait()
            late = await node_client(node, "scan", ws, token, first)
            assert late.stdout is not None
            seen = [line async for line in read_lines(late.stdout)]
            assert await late.wait() == 0
            assert [s.get("stage") for s in seen[1:-1]] == ["FINISHED"]
            assert (seen[0], seen[-1]) == ({"ready": True}, {"complete": True})
