"""The Redis read-through cache: hits, invalidation, the stale-write race, Redis outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from core.urns import column_urn, table_urn
from graph.lineage_queries import Subgraph
from graph.records import NodeRecord
from live.cache import ReadThroughCache, invalidate


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


class Store:
    """A stand-in for Neo4j that counts loads."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.loads: list[list[str]] = []

    async def load(self, urns: Sequence[str]) -> dict[str, NodeRecord]:
        self.loads.append(list(urns))
        return {
            u: NodeRecord(labels=["Asset"], props={"urn": u, "name": self.names[u]})
            for u in urns
            if u in self.names
        }


def names(found: dict[str, NodeRecord]) -> dict[str, str]:
    return {u: r.props["name"] for u, r in found.items()}


async def test_reads_through_once_then_serves_from_redis(redis: Redis, unique: str) -> None:
    cache, store = ReadThroughCache(redis, 60), Store()
    a, b, missing = (table_urn(unique, "db", "s", t) for t in ("a", "b", "missing"))
    store.names = {a: "a", b: "b"}
    assert names(await cache.assets([a, b, missing], store.load)) == {a: "a", b: "b"}
    assert names(await cache.assets([a, b, missing], store.load)) == {a: "a", b: "b"}
    assert store.loads == [[a, b, missing], [missing]], "misses are not cached"


async def test_a_change_to_a_table_invalidates_its_columns(redis: Redis, unique: str) -> None:
    cache, store = ReadThroughCache(redis, 60), Store()
    table = table_urn(unique, "db", "s", "t")
    col, other = column_urn(table, "c"), table_urn(unique, "db", "s", "other")
    store.names = {col: "old", other: "other"}
    await cache.assets([col, other], store.load)
    store.names[col] = "new"
    await invalidate(redis, [table])
    assert names(await cache.assets([col, other], store.load)) == {col: "new", other: "other"}
    assert store.loads[-1] == [col], "assets of other tables stay cached"


async def test_a_read_racing_a_change_never_leaves_stale_data(redis: Redis, unique: str) -> None:
    """The reader loads old data, the writer commits and invalidates, then the reader stores."""
    cache, urn = ReadThroughCache(redis, 60), table_urn(unique, "db", "s", "t")
    loaded, stored = asyncio.Event(), asyncio.Event()

    async def slow_old_load(urns: Sequence[str]) -> dict[str, NodeRecord]:
        loaded.set()
        await stored.wait()
        return {urn: NodeRecord(labels=["Asset"], props={"urn": urn, "name": "old"})}

    reader = asyncio.create_task(cache.assets([urn], slow_old_load))
    await loaded.wait()
    await invalidate(redis, [urn])  # the change is acknowledged here
    stored.set()
    assert names(await reader) == {urn: "old"}  # that request began before the change
    store = Store()
    store.names = {urn: "new"}
    assert names(await cache.assets([urn], store.load)) == {urn: "new"}


async def test_lineage_reads_are_cached_until_any_change(redis: Redis, unique: str) -> None:
    cache, calls = ReadThroughCache(redis, 60), []
    parts = (table_urn(unique, "db", "s", "t"), "both", "3", "table")

    async def load() -> Subgraph | None:
        calls.append(1)
        return None if len(calls) == 1 else Subgraph(nodes=[], edges=[])

    assert await cache.across(parts, Subgraph, load) is None
    assert await cache.across(parts, Subgraph, load) is None, "a miss is cached too"
    await invalidate(redis, [table_urn(unique, "db", "s", "elsewhere")])
    assert await cache.across(parts, Subgraph, load) == Subgraph(nodes=[], edges=[])
    assert len(calls) == 2


async def test_redis_down_means_reading_neo4j_not_failing(unique: str) -> None:
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache, store = ReadThroughCache(down, 60), Store()
    urn = table_urn(unique, "db", "s", "t")
    store.names = {urn: "t"}
    try:
        assert names(await cache.assets([urn], store.load)) == {urn: "t"}
        assert await cache.across((urn,), Subgraph, lambda: asyncio.sleep(0)) is None
    finally:
        await down.aclose()


async def test_ttl_zero_turns_the_cache_off(redis: Redis, unique: str) -> None:
    cache, store = ReadThroughCache(redis, 0), Store()
    urn = table_urn(unique, "db", "s", "t")
    store.names = {urn: "t"}
    await cache.assets([urn], store.load)
    await cache.assets([urn], store.load)
    assert len(store.loads) == 2
