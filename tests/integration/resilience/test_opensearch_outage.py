"""OpenSearch in the fault matrix, through a fault proxy in front of the shared OpenSearch (the
API's and the change relay's clients go through it): during the cut, search answers a
SEARCH_UNAVAILABLE error (HTTP 200, not a 500), /readyz says degraded (200, not unavailable),
the ingest worker keeps writing the graph and the relay keeps broadcasting catalog changes;
once OpenSearch is back the relay reindexes what it missed and search finds it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from core.settings import IngestSettings, ResilienceSettings, Settings
from graph.driver import read
from ingest.producer import EventProducer
from ingest.worker import Worker
from live.broadcast import Subscription
from live.changes import CATALOG_CHANNEL
from live.relay import ChangeRelay
from live.search import INDEX
from live.state import open_state
from security.auth import mint_token
from tests.factories import Source, columns, eventually, running
from tests.integration.graphql.conftest import serve
from tests.integration.resilience.proxy import FaultProxy

N = 30
TABLES = "MATCH (t:Table) WHERE t.source = $source RETURN count(t) AS n"
BEFORE = [f"before_{i}" for i in range(N)]
MISSED = [f"catchup_{i}" for i in range(N)]
FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1)
SEARCH = """query($text: String!, $source: String!) {
  search(text: $text, source: $source, first: 50) { edges { node { asset { id } } } }
}"""


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", int(settings.opensearch_url.rsplit(":", 1)[1])) as p:
        yield p


@pytest.fixture
def through(settings: Settings, proxy: FaultProxy, ingest_cfg: IngestSettings) -> Settings:
    """The settings of an API whose OpenSearch is behind the proxy (no relay of its own: the
    test runs one on its own topic, so no other test's replica indexes for it)."""
    return settings.model_copy(
        update={
            "opensearch_url": f"http://127.0.0.1:{proxy.port}", "relay_changes": False,
            "ingest": ingest_cfg, "resilience": FAST, "dependency_cache_s": 0,
        }
    )  # fmt: skip


@pytest.fixture
async def api(through: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API under uvicorn in this event loop (the proxy's), and a client of it."""
    token = mint_token(through.auth, "search-outage-tester", ["admin"])
    async with (
        serve(through) as served,
        httpx.AsyncClient(
            base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client,
    ):
        yield client


@pytest.fixture
async def searchable(source: Source, settings: Settings) -> AsyncIterator[Source]:
    """The test's source; its documents leave the shared index afterwards."""
    yield source
    async with AsyncOpenSearch(hosts=[settings.opensearch_url]) as client:
        for name in [*BEFORE, *MISSED]:
            await client.delete(index=INDEX, id=source.table_urn(name), ignore=[404])


async def collect(live: Subscription, urns: set[str]) -> None:
    async for message in live:
        urns.add(message["urn"])


async def _holds(condition: bool) -> bool:
    return condition


async def searched(api: httpx.AsyncClient, text: str, source: str) -> dict[str, Any]:
    variables = {"text": text, "source": source}
    r = await api.post("/graphql", json={"query": SEARCH, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.timeout(300)
async def test_search_says_unavailable_then_the_index_catches_up(
    api: httpx.AsyncClient,
    through: Settings,
    proxy: FaultProxy,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    searchable: Source,
) -> None:
    source = searchable
    db = settings.neo4j.database
    before = [source.checked(), *source.containers()]
    before += [source.table(name, columns("id:int")) for name in BEFORE]
    missed = [source.table(name, columns("id:int")) for name in MISSED]
    worker = Worker(ingest_cfg, settings.kafka, neo4j, db, FAST)
    async with (
        open_state(through) as state,
        AsyncOpenSearch(hosts=[settings.opensearch_url]) as direct,
        EventProducer(settings.kafka, ingest_cfg.topics[0]) as producer,
    ):
        relay = ChangeRelay(state, topic=ingest_cfg.changes_topic, group_id=source.name)

        async def indexed(n: int) -> bool:
            body = {"query": {"term": {"source": source.name}}}
            return (await direct.count(index=INDEX, body=body))["count"] == n

        async def in_graph(n: int) -> bool:
            return (await read(neo4j, db, TABLES, source=source.name))[0]["n"] == n

        relaying = asyncio.create_task(relay.run())
        try:
            async with running(worker):
                await producer.publish_many(before)
                await eventually(lambda: indexed(N), 120)
                found = await searched(api, "before", source.name)
                assert len(found["data"]["search"]["edges"]) == N

                proxy.cut()
                async with state.broadcast.subscribe(CATALOG_CHANNEL) as live:
                    announced: set[str] = set()
                    listening = asyncio.create_task(collect(live, announced))
                    # 15 batches the relay reads one by one (it used to hold back after 10).
                    for i in range(0, N, 2):
                        await producer.publish_many(missed[i : i + 2])
                        await eventually(lambda i=i: in_graph(N + i + 2), 60)  # ingest writes on
                        await asyncio.sleep(0.6)
                    wanted = {source.table_urn(name) for name in MISSED}
                    await eventually(lambda: _holds(wanted <= announced), 30)  # broadcast on
                    listening.cancel()
                refused = await searched(api, "catchup", source.name)
                (error,) = refused["errors"]
                assert error["extensions"]["code"] == "SEARCH_UNAVAILABLE"
                assert error["message"] == (
                    "search is unavailable: the search engine (OpenSearch) is unreachable; try "
                    "again shortly (the rest of the catalog answers)"
                )
                ready = await api.get("/readyz")
                assert ready.status_code == 200
                assert ready.json()["status"] == "degraded"
                assert "opensearch" in ready.json()["degraded"]
                assert await indexed(N), "what changed meanwhile is not in the index yet"

                proxy.restore()
                restored = time.monotonic()
                await eventually(lambda: indexed(2 * N), 120)
                caught_up_s = time.monotonic() - restored
                found = await searched(api, "catchup", source.name)
                assert len(found["data"]["search"]["edges"]) == N
                assert (await api.get("/readyz")).json()["status"] == "ready"
        finally:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)
    print(f"opensearch cut: the index caught up ({N} tables) {caught_up_s:.1f}s after it was back")
