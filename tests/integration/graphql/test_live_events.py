"""Live events that mean something (issue 12, 1-3): a scan's current state for a late
subscriber, catalog changes with their asset, anomalies as a query and a subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import GraphQLRequest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import Settings
from graph.driver import write
from live.changes import (
    CATALOG_CHANNEL,
    ChangeType,
    ScanProgress,
    catalog_change,
    publish_catalog_change,
    publish_scan_progress,
)
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, ws_client
from tests.integration.graphql.test_subscriptions import Subscriber, until

SCAN = """
subscription ($id: ID!) { scanProgress(scanId: $id) { scanId stage events percent } }
"""
CHANGES = """
subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) {
    type urn fields asset { id ... on Table { name description } }
  }
}
"""
DETAIL = """
subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) {
    asset { ... on Table { description columns { name description } } }
  }
}
"""
DESCRIBE = """
MATCH (t:Table {urn: $urn})-[:HAS_COLUMN]->(c:Column {name: 'id'})
SET t.description = $text, c.description = $text
"""


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def collect(served: Served, token: str, query: str, **variables: Any) -> list[dict]:
    """Every result of a subscription until the server completes it (10 s at most)."""
    results = []
    async with asyncio.timeout(10), ws_client(served.url, token) as session:
        async for result in session.subscribe(GraphQLRequest(query, variable_values=variables)):
            results.append(result)
    return results


async def test_a_late_subscriber_gets_the_scans_current_state_first(
    served: Served, token: str, redis: Redis, unique: str
) -> None:
    """A client that subscribed after the scan started got nothing until its next report, and
    nothing at all once it had ended; now it starts from the current state, and the
    subscription completes when the scan has ended."""
    await publish_scan_progress(
        redis, ScanProgress(scan_id=unique, source="pg", stage="discover", events=3, percent=10)
    )
    received: asyncio.Queue[dict] = asyncio.Queue()

    async def follow() -> None:
        async with ws_client(served.url, token) as session:
            request = GraphQLRequest(SCAN, variable_values={"id": unique})
            async for result in session.subscribe(request):
                await received.put(result["scanProgress"])

    task = asyncio.create_task(follow())
    async with asyncio.timeout(10):
        assert (await received.get())["stage"] == "DISCOVER"
        await publish_scan_progress(
            redis, ScanProgress(scan_id=unique, source="pg", stage="finished", percent=100)
        )
        assert (await received.get())["stage"] == "FINISHED"
        await task  # completed by the server after the final state
    late = await collect(served, token, SCAN, id=unique)
    assert [r["scanProgress"]["stage"] for r in late] == ["FINISHED"]


async def test_a_catalog_change_carries_its_asset(
    served: Served, token: str, redis: Redis, estate: Estate, neo4j: AsyncDriver,
    settings: Settings,
) -> None:  # fmt: skip
    urn = estate.table("orders")
    await estate.write(neo4j, settings.neo4j.database)
    received: asyncio.Queue[dict] = asyncio.Queue()
    hub = served.hub

    async def follow() -> None:
        async with ws_client(served.url, token) as session:
            request = GraphQLRequest(CHANGES, variable_values={"filter": {"urns": [urn]}})
            async for result in session.subscribe(request):
                await received.put(result["catalogChanges"])

    before = hub.subscriber_count("catalog")
    task = asyncio.create_task(follow())
    try:
        async with asyncio.timeout(10):
            await until(lambda: hub.subscriber_count("catalog") > before)
            await publish_catalog_change(
                redis, catalog_change(ChangeType.CHANGED, urn, ["description"])
            )
            change = await received.get()
    finally:
        task.cancel()
    assert change == {
        "type": "CHANGED",
        "urn": urn,
        "fields": ["description"],
        "asset": {"id": urn, "name": "orders", "description": None},
    }


async def test_each_event_carries_the_asset_as_it_is_then(
    served: Served, token: str, redis: Redis, estate: Estate, neo4j: AsyncDriver,
    settings: Settings,
) -> None:  # fmt: skip
    """A live table page shows the table's columns from each event: they stayed as the
    subscription's first event had read them, while the table itself was read afresh."""
    urn = estate.table("orders")
    await estate.write(neo4j, settings.neo4j.database)
    filter = {"urns": [urn]}
    async with Subscriber(served, token, DETAIL, CATALOG_CHANNEL, filter=filter) as sub:
        for text in ("first", "second"):
            await write(neo4j, settings.neo4j.database, DESCRIBE, urn=urn, text=text)
            await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, urn))
            asset = (await sub.next())["catalogChanges"]["asset"]
            assert asset == {
                "description": text,
                "columns": [
                    {"name": "id", "description": text},
                    {"name": "email", "description": None},
                ],
            }
