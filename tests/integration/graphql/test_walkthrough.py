"""docs/walkthrough.md runs as written: its SQL makes the database, and every GraphQL document
in it runs in order against the real services (PostgreSQL, Kafka, the ingest worker, Neo4j,
OpenSearch, Redis), with the source and database named after this test instead of ``shop``."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import IngestSettings, Settings
from ingest.worker import Worker
from live.relay import ChangeRelay
from security.auth import mint_token
from tests.factories import running
from tests.integration.cleanup import drop_sources
from tests.integration.databases import postgres_database
from tests.integration.graphql.conftest import Served, serve, ws_client
from tests.integration.graphql.test_js_client import in_background
from tests.integration.graphql.test_sources import client

DOC = Path(__file__).resolve().parents[3] / "docs" / "walkthrough.md"
BLOCK = re.compile(r"```(?P<lang>graphql|sql)\n(?P<code>.*?)```", re.S)
NAME = re.compile(r"^(?:query|mutation|subscription)\s+(\w+)")
SECRET = "DATAWAVE_SOURCE_SHOP_PASSWORD"


def blocks(unique: str) -> tuple[str, dict[str, str]]:
    """The doc's SQL, and its GraphQL documents by operation name, ``shop`` renamed."""
    text = re.sub(r"\bshop\b", unique, DOC.read_text())
    sql, documents = "", {}
    for block in BLOCK.finditer(text):
        if block["lang"] == "sql":
            sql += block["code"]
        else:
            name = NAME.match(block["code"])
            assert name, block["code"]
            documents[name[1]] = block["code"]
    return sql, documents


def test_every_step_has_its_documents() -> None:
    _, documents = blocks("shop")
    assert list(documents) == [
        "Register", "Scan", "Progress", "ScanOutcome", "Tables", "Customers", "Classify", "Find",
        "Upstream", "ColumnLineage", "Impact", "Versions", "Diff", "Changes",
    ]  # fmt: skip


@pytest.fixture
async def shop(
    settings: Settings, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[asyncpg.Connection]:
    """The doc's database, renamed ``unique``; the source the test registers over it is
    dropped with it."""
    password = settings.source_password.get_secret_value()
    try:
        async with postgres_database(password, unique) as conn:
            await conn.execute(blocks(unique)[0])
            yield conn
    finally:
        await drop_sources(settings, neo4j, unique)


async def subscribe(api: Served, token: str, document: str, **variables: Any) -> list[dict]:
    """Every result until the server completes the subscription."""
    async with asyncio.timeout(90), ws_client(api.url, token) as session:
        request = GraphQLRequest(document, variable_values=variables)
        return [result async for result in session.subscribe(request)]


async def test_the_walkthrough_runs_as_written(
    shop: asyncpg.Connection,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    monkeypatch: pytest.MonkeyPatch,
    unique: str,
) -> None:
    monkeypatch.setenv(SECRET, settings.source_password.get_secret_value())
    _, doc = blocks(unique)
    own = settings.model_copy(update={"ingest": ingest_cfg, "relay_changes": False})
    worker = Worker(ingest_cfg, settings.kafka, neo4j, settings.neo4j.database)
    token = mint_token(settings.auth, f"walker-{uuid.uuid4().hex[:6]}", ["admin"])
    urn = f"urn:dw:table:{unique}/{unique}/public/"
    async with serve(own) as api, running(worker), client(api, token) as run:
        relay = ChangeRelay(api.app.state.datawave, topic=ingest_cfg.changes_topic, group_id=unique)
        async with in_background(relay.run()):
            registered = (await run(doc["Register"]))["registerDataSource"]
            assert registered["errors"] == [], registered
            assert registered["dataSource"]["port"] == 5432

            async def scan() -> None:
                started = (await run(doc["Scan"]))["startScan"]
                assert started["errors"] == [] and started["scan"]["status"] == "RUNNING"
                assert started["scan"]["progress"]["stage"] == "VALIDATE"
                scan_id = started["scan"]["id"]
                stages = await subscribe(api, token, doc["Progress"], id=scan_id)
                assert stages[-1]["scanProgress"]["stage"] == "FINISHED", stages
                outcome = (await run(doc["ScanOutcome"], id=scan_id))["scan"]
                assert (outcome["status"], outcome["tables"]) == ("FINISHED", 3)

            await scan()
            tables = (await run(doc["Tables"]))["assets"]
            assert [e["node"]["name"] for e in tables["edges"]] == [
                "big_orders", "customers", "orders",
            ]  # fmt: skip
            customers = (await run(doc["Customers"]))["asset"]
            assert [c["name"] for c in customers["columns"]] == ["id", "email", "country"]
            classified = (await run(doc["Classify"]))["classify"]
            assert classified["errors"] == []
            assert {c["name"] for c in classified["columns"]} == {"id", "email", "country"}

            async def found() -> list[str]:
                hits = (await run(doc["Find"]))["search"]["edges"]
                return [h["node"]["asset"]["name"] for h in hits]

            for _ in range(100):  # the relay indexes the scanned tables right after the scan
                if await found():
                    break
                await asyncio.sleep(0.1)
            assert (await found())[0] == "customers"
            upstream = (await run(doc["Upstream"]))["lineage"]
            assert {n["name"] for n in upstream["nodes"]} == {"big_orders", "customers", "orders"}
            columns = (await run(doc["ColumnLineage"]))["lineage"]["edges"]
            assert {
                "from": f"urn:dw:column:{unique}/{unique}/public/customers/email",
                "to": f"urn:dw:column:{unique}/{unique}/public/big_orders/email",
            } in columns
            impact = (await run(doc["Impact"]))["impact"]
            assert "big_orders" in {a["asset"]["name"] for a in impact["assets"]}

            changes: asyncio.Queue[dict] = asyncio.Queue()

            async def follow() -> None:
                async with ws_client(api.url, token) as session:
                    async for result in session.subscribe(GraphQLRequest(doc["Changes"])):
                        await changes.put(result["catalogChanges"])

            hub, before = api.hub, api.hub.subscriber_count("catalog")
            async with in_background(follow()):
                for _ in range(100):
                    if hub.subscriber_count("catalog") > before:
                        break
                    await asyncio.sleep(0.05)
                await shop.execute("ALTER TABLE orders ADD COLUMN currency text")
                await scan()
                change = await asyncio.wait_for(changes.get(), 30)
            assert (change["type"], change["urn"]) == ("CHANGED", urn + "orders")
            assert "columns" in change["fields"]
            versions = (await run(doc["Versions"]))["asset"]["versions"]["edges"]
            assert [v["node"]["version"] for v in versions] == [1, 2]
            diff = (await run(doc["Diff"]))["schemaDiff"]
            assert diff == {
                "added": [{"name": "currency", "dataType": "text"}], "removed": [], "changed": [],
            }  # fmt: skip
