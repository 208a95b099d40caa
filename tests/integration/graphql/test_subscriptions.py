"""Subscriptions over graphql-transport-ws: delivery, filters, cleanup, slow consumers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.settings import Settings
from core.urns import column_urn, table_urn
from graph.driver import write
from live.changes import (
    CATALOG_CHANNEL,
    ChangeType,
    ComplianceUpdate,
    ScanProgress,
    catalog_change,
    compliance_channel,
    publish_catalog_change,
    publish_compliance_update,
    publish_scan_progress,
    scan_channel,
)
from resolvers.channels import SLOW_CONSUMER
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, bearer, serve, ws_client

CHANGES = """
subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) { type urn kind source fields }
}
"""
SCAN = """
subscription ($id: ID!) { scanProgress(scanId: $id) { scanId stage events tables percent error } }
"""


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 10 s")


class Subscriber:
    """One subscription on its own connection; ``next()`` waits for the next result."""

    def __init__(
        self, served: Served, token: str, query: str, channel: str, **variables: Any
    ) -> None:
        self.served, self.token, self.channel = served, token, channel
        self.request = GraphQLRequest(query, variable_values=variables)
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> Subscriber:
        before = self.served.hub.subscriber_count(self.channel)
        self.task = asyncio.create_task(self._run())
        await until(lambda: self.served.hub.subscriber_count(self.channel) > before)
        return self

    async def _run(self) -> None:
        async with ws_client(self.served.url, self.token) as session:
            async for result in session.subscribe(self.request):
                await self.results.put(result)

    async def next(self) -> dict[str, Any]:
        # A mutation's change reaches subscribers through Kafka and the relay: seconds on a
        # busy machine (10 s was missed once with a 10^6-column load beside the tests).
        async with asyncio.timeout(30):
            return await self.results.get()

    async def __aexit__(self, *_: object) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def test_catalog_changes_arrive_filtered(
    served: Served, token: str, redis: Redis, unique: str
) -> None:
    ours, theirs = table_urn(unique, "db", "s", "t"), table_urn(f"{unique}x", "db", "s", "t")
    async with Subscriber(
        served, token, CHANGES, CATALOG_CHANNEL, filter={"source": unique, "types": ["REMOVED"]}
    ) as sub:
        await publish_catalog_change(
            redis,
            catalog_change(ChangeType.REMOVED, theirs),
            catalog_change(ChangeType.CHANGED, ours, ["rowCount"]),
            catalog_change(ChangeType.REMOVED, ours),
        )
        assert (await sub.next())["catalogChanges"] == {
            "type": "REMOVED",
            "urn": ours,
            "kind": "TABLE",
            "source": unique,
            "fields": [],
        }
        assert sub.results.empty()


async def test_a_subscriber_of_a_table_may_follow_its_columns_too(
    served: Served, token: str, redis: Redis, unique: str
) -> None:
    """A table page that shows labels: a label decided on a column is announced for the
    column, which ``urns: [table]`` does not match; ``within: [table]`` does."""
    table = table_urn(unique, "db", "s", "t")
    column, elsewhere = column_urn(table, "email"), column_urn(f"{table}x", "email")
    async with Subscriber(
        served, token, CHANGES, CATALOG_CHANNEL, filter={"within": [table]}
    ) as sub:
        await publish_catalog_change(
            redis,
            catalog_change(ChangeType.CHANGED, elsewhere, ["labels"]),
            catalog_change(ChangeType.CHANGED, column, ["labels"]),
            catalog_change(ChangeType.CHANGED, table, ["rowCount"]),
        )
        assert [(await sub.next())["catalogChanges"]["urn"] for _ in "ab"] == [column, table]
        assert sub.results.empty()


async def test_a_mutation_is_announced_to_subscribers(
    served: Served,
    token: str,
    execute: Any,
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    urn = estate.table("orders")
    await estate.write(neo4j, settings.neo4j.database)
    async with Subscriber(served, token, CHANGES, CATALOG_CHANNEL, filter={"urns": [urn]}) as sub:
        await execute(
            'mutation ($urn: ID!) { describeAsset(input: {urn: $urn, description: "d"}) '
            "{ errors { message } } }",
            urn=urn,
        )
        change = (await sub.next())["catalogChanges"]
        assert (change["type"], change["urn"], change["fields"]) == (
            "CHANGED",
            urn,
            ["description"],
        )


async def test_scan_progress_and_compliance_updates(
    served: Served, token: str, redis: Redis, unique: str
) -> None:
    async with Subscriber(served, token, SCAN, scan_channel(unique), id=unique) as sub:
        await publish_scan_progress(
            redis,
            ScanProgress(scan_id=unique, source="pg", stage="discover", events=3, percent=12.5),
        )
        assert (await sub.next())["scanProgress"] == {
            "scanId": unique,
            "stage": "DISCOVER",
            "events": 3,
            "tables": 0,
            "percent": 12.5,
            "error": None,
        }
    query = "subscription ($d: String!) { complianceUpdates(domain: $d) { domain status score } }"
    async with Subscriber(served, token, query, compliance_channel(unique), d=unique) as sub:
        update = ComplianceUpdate(domain=unique, framework="GDPR", status="at_risk", score=0.5)
        await publish_compliance_update(redis, update)
        assert (await sub.next())["complianceUpdates"] == {
            "domain": unique,
            "status": "at_risk",
            "score": 0.5,
        }


async def test_leaving_a_subscription_unsubscribes(served: Served, token: str, unique: str) -> None:
    async with Subscriber(served, token, SCAN, scan_channel(unique), id=unique):
        assert served.hub.subscriber_count(scan_channel(unique)) == 1
    await until(lambda: served.hub.subscriber_count(scan_channel(unique)) == 0)


async def test_an_oversized_scan_id_is_refused(served: Served, token: str) -> None:
    async with ws_client(served.url, token) as session:
        with pytest.raises(TransportQueryError, match="scanId must have 1 to 200 characters"):
            async for _ in session.subscribe(
                GraphQLRequest(SCAN, variable_values={"id": "x" * 201})
            ):
                pass


async def cut_off_slowly(
    served: Served, token: str, query: str, variables: dict[str, Any], channel: str,
    flood: Callable[[], Awaitable[int]],
) -> None:  # fmt: skip
    """Subscribe with a client that stops reading, ``flood`` its channel (how many messages it
    sent): the server's queue for it fills and it is cut off (4008), before all of them."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(served.url.rsplit(":", 1)[1])))
    url = served.url.replace("http", "ws") + "/graphql"
    # A tiny receive buffer and no compression: the server's writes back up quickly.
    async with connect(
        url, sock=sock, subprotocols=["graphql-transport-ws"], max_queue=1, compression=None
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": bearer(token)}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        await until(lambda: served.hub.subscriber_count(channel) == 1)
        sent = await flood()
        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(30):
                while True:
                    message = json.loads(await ws.recv())
                    assert message["type"] == "next" and "errors" not in message["payload"], message
                    received += 1
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == SLOW_CONSUMER
    assert closed.value.rcvd.reason.startswith("slow consumer")
    assert received < sent
    await until(lambda: served.hub.subscriber_count(channel) == 0)


async def test_a_slow_client_is_disconnected_with_a_clear_code(
    settings: Settings, token: str, redis: Redis, unique: str
) -> None:
    """The client stops reading; the server's queue for it fills and it is cut off (4008),
    while the server's memory for it stays bounded by the queue."""

    async def flood() -> int:
        big = "x" * 16_384
        sent = 2000
        for n in range(0, sent, 100):
            await publish_scan_progress(
                redis,
                *(
                    ScanProgress(scan_id=unique, source="s", stage="discover", events=i, error=big)
                    for i in range(n, n + 100)
                ),
            )
        return sent

    slow = settings.model_copy(update={"subscription_queue_size": 8})
    async with serve(slow) as served:
        await cut_off_slowly(served, token, SCAN, {"id": unique}, scan_channel(unique), flood)


async def test_queries_over_one_websocket_see_fresh_data(
    served: Served,
    token: str,
    redis: Redis,
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    urn = estate.table("orders", description="before")
    await estate.write(neo4j, settings.neo4j.database)
    query = GraphQLRequest(
        "query ($urn: ID!) { asset(urn: $urn) { description } }", variable_values={"urn": urn}
    )
    async with ws_client(served.url, token) as session:
        assert (await session.execute(query))["asset"] == {"description": "before"}
        change = "MATCH (t:Asset {urn: $urn}) SET t.description = 'after'"
        await write(neo4j, settings.neo4j.database, change, urn=urn)
        await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, urn))
        assert (await session.execute(query))["asset"] == {"description": "after"}
