"""GraphQL subscriptions across a Redis outage: the API's Redis (its clients and the live fan-out)
goes through a fault proxy, cut while catalogChanges, complianceUpdates and scanProgress
subscribers listen over WebSocket. None of the streams ends; each receives what is published
after recovery; the scan that finished during the outage reaches its subscriber (its state sent
again once the fan-out reads), although its message was lost with the outage (pub/sub). A scan
the API runs that ends during the outage publishes its last state once Redis is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import ResilienceSettings, Settings
from core.sources import DataSourceConfig
from core.urns import table_urn
from devstack.demo import PASSWORD_ENV
from graph.scans import get_scan
from ingest.worker import Worker
from live.changes import (
    CATALOG_CHANNEL,
    ChangeType,
    ComplianceUpdate,
    ScanProgress,
    ScanStage,
    catalog_change,
    compliance_channel,
    publish_catalog_change,
    publish_compliance_update,
    publish_scan_progress,
    scan_channel,
    scan_state,
)
from live.scans import ScanRunner
from security.auth import mint_token
from tests.factories import eventually, running
from tests.integration.graphql.conftest import Served, serve, ws_client
from tests.integration.ingest.test_scan import estate, scan_settings  # noqa: F401
from tests.integration.resilience.proxy import FaultProxy

OUTAGE_S = 5
FAST_SCAN_PROGRESS = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1)
CHANGES = "subscription ($f: CatalogChangeFilter) { catalogChanges(filter: $f) { urn type } }"
COMPLIANCE = "subscription ($d: String!) { complianceUpdates(domain: $d) { framework status } }"
CHANGES_SINCE = """subscription ($f: CatalogChangeFilter, $since: String) {
  catalogChanges(filter: $f, since: $since) { urn cursor } }"""
COMPLIANCE_SINCE = """subscription ($d: String!, $since: String) {
  complianceUpdates(domain: $d, since: $since) { framework cursor } }"""
SCAN = "subscription ($id: ID!) { scanProgress(scanId: $id) { stage tables } }"


@pytest.fixture
async def served(redis_proxy: FaultProxy, settings: Settings) -> AsyncIterator[Served]:
    through_proxy = redis_proxy.url(settings.redis_url)
    async with serve(settings.model_copy(update={"redis_url": through_proxy})) as s:
        yield s


class Stream:
    """One subscription on its own WebSocket; its results in a queue, and whether it ended."""

    def __init__(self, served: Served, token: str, query: str, **variables: Any) -> None:
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(served, token, query, variables))

    async def _run(self, served: Served, token: str, query: str, variables: Any) -> None:
        async with ws_client(served.url, token) as session:
            request = GraphQLRequest(query, variable_values=variables)
            async for result in session.subscribe(request):
                await self.results.put(result)

    async def until(self, publish: Callable[[], Awaitable[None]], s: float = 30) -> dict[str, Any]:
        """Publish until a result arrives (the hub may not read yet): the first result."""
        async with asyncio.timeout(s):
            while True:
                await publish()
                try:
                    return await asyncio.wait_for(self.results.get(), 0.5)
                except TimeoutError:
                    assert not self.task.done(), "the stream ended"


async def listening(served: Served, *channels: str) -> None:
    async with asyncio.timeout(20):
        while any(served.hub.subscriber_count(c) == 0 for c in channels):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@pytest.mark.timeout(120)
async def test_subscriptions_live_on_across_a_redis_outage(
    served: Served, redis_proxy: FaultProxy, settings: Settings, unique: str
) -> None:
    proxy = redis_proxy
    token = mint_token(settings.auth, f"outage-{unique}", ["admin"])
    urn = table_urn(unique, "db", "s", "t")
    scan = ScanProgress(scan_id=unique, source=unique, stage=ScanStage.DISCOVER, tables=1)
    async with Redis.from_url(settings.redis_url) as redis:  # the shared Redis, not the proxy
        await publish_scan_progress(redis, scan)
        changes = Stream(served, token, CHANGES, f={"source": unique})
        compliance = Stream(served, token, COMPLIANCE, d=unique)
        progress = Stream(served, token, SCAN, id=unique)
        await listening(served, CATALOG_CHANNEL, compliance_channel(unique), scan_channel(unique))
        assert (await progress.results.get())["scanProgress"] == {"stage": "DISCOVER", "tables": 1}

        async def change() -> None:
            await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, urn))

        async def update() -> None:
            await publish_compliance_update(
                redis, ComplianceUpdate(domain=unique, framework="gdpr", status="at_risk")
            )

        assert (await changes.until(change))["catalogChanges"]["urn"] == urn
        assert (await compliance.until(update))["complianceUpdates"]["framework"] == "gdpr"

        proxy.cut()
        await asyncio.sleep(1)
        finished = ScanProgress(scan_id=unique, source=unique, stage=ScanStage.FINISHED, tables=2)
        await publish_scan_progress(redis, finished)  # lost for the API's fan-out (cut)
        await asyncio.sleep(OUTAGE_S - 1)
        proxy.restore()
        restored = time.monotonic()

        last = await asyncio.wait_for(progress.results.get(), 30)
        assert last["scanProgress"] == {"stage": "FINISHED", "tables": 2}
        assert (await changes.until(change))["catalogChanges"]["urn"] == urn
        assert (await compliance.until(update))["complianceUpdates"]["status"] == "at_risk"
        live_s = time.monotonic() - restored
        print(f"redis outage {OUTAGE_S}s: subscriptions live {live_s:.1f}s after")
        await asyncio.wait_for(progress.task, 10)  # complete after FINISHED
        assert not changes.task.done() and not compliance.task.done()
        for stream in (changes, compliance):
            stream.task.cancel()
        await asyncio.gather(changes.task, compliance.task, return_exceptions=True)


@pytest.mark.timeout(240)
async def test_a_scan_that_ends_while_redis_is_away_publishes_its_end_once_it_is_back(
    redis_proxy: FaultProxy,
    estate: list[DataSourceConfig],  # noqa: F811
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scan the API runs ends during the cut: its last state is published when Redis is
    back, so scanProgress subscribers complete (before, it was lost and they waited)."""
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    proxy = redis_proxy
    through_proxy = proxy.url(settings.redis_url)
    cfg = scan_settings.model_copy(
        update={"redis_url": through_proxy, "resilience": FAST_SCAN_PROGRESS}
    )
    db = cfg.neo4j.database
    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db)
    async with Redis.from_url(through_proxy) as via_proxy, running(worker):
        runner = ScanRunner(cfg, neo4j, via_proxy)
        first = await runner.start(estate[0].name)
        proxy.cut()

        async def recorded() -> bool:  # the scan went on without Redis, and ended
            found = await get_scan(neo4j, db, first.scan_id)
            return bool(found) and found["status"] == "finished"

        async def published() -> bool:  # a client of its own: Redis drops idle ones
            async with Redis.from_url(settings.redis_url) as redis:
                state = await scan_state(redis, first.scan_id)
            return state is not None and state.stage == ScanStage.FINISHED

        try:
            await eventually(recorded, 120)
            await asyncio.sleep(1)
            assert not await published()
            proxy.restore()
            await eventually(published, 30)
        finally:
            await runner.close()


async def joined(served: Served, channel: str, base: int) -> None:
    """Until ``channel`` has more subscribers than ``base``."""
    async with asyncio.timeout(20):
        while served.hub.subscriber_count(channel) <= base:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def numbered(unique: str, n: int) -> list[str]:
    return [table_urn(unique, "db", "s", f"t{i}") for i in range(n)]


async def announce(redis: Redis, urns: list[str]) -> None:
    await publish_catalog_change(redis, *(catalog_change(ChangeType.CHANGED, u) for u in urns))


@pytest.mark.timeout(120)
async def test_an_open_subscription_gets_what_was_published_during_a_redis_outage(
    served: Served, redis_proxy: FaultProxy, settings: Settings, unique: str
) -> None:
    """Changes and compliance updates published while the API's Redis is cut arrive once Redis
    is back, in order and once each, then the live ones (before, pub/sub lost them)."""
    token = mint_token(settings.auth, f"outage-{unique}", ["admin"])
    urns = numbered(unique, 12)
    async with Redis.from_url(settings.redis_url) as redis:  # the shared Redis, not the proxy
        base = served.hub.subscriber_count(CATALOG_CHANNEL)  # the app's own watchers
        changes = Stream(served, token, CHANGES_SINCE, f={"source": unique})
        compliance = Stream(served, token, COMPLIANCE_SINCE, d=unique)
        await listening(served, compliance_channel(unique))
        await joined(served, CATALOG_CHANNEL, base)
        await announce(redis, urns[:1])
        first = await asyncio.wait_for(changes.results.get(), 10)
        assert first["catalogChanges"]["urn"] == urns[0]

        redis_proxy.cut()
        await asyncio.sleep(1)
        await announce(redis, urns[1:6])  # during the cut: only the log keeps them
        await publish_compliance_update(
            redis,
            *(ComplianceUpdate(domain=unique, framework=f"f{i}", status="ok") for i in range(3)),
        )
        await asyncio.sleep(OUTAGE_S - 1)
        redis_proxy.restore()
        await announce(redis, urns[6:])  # maybe before the fan-out reads again, maybe after
        got = [r["catalogChanges"] for r in await received(changes, len(urns) - 1)]
        assert [c["urn"] for c in got] == urns[1:], "each once, in order"
        assert [c["cursor"] for c in got] == sorted({c["cursor"] for c in got}, key=_cursor)
        updates = [r["complianceUpdates"]["framework"] for r in await received(compliance, 3)]
        assert updates == ["f0", "f1", "f2"]
        await asyncio.sleep(2)
        assert changes.results.empty() and compliance.results.empty(), "nothing twice"
        for stream in (changes, compliance):
            stream.task.cancel()
        await asyncio.gather(changes.task, compliance.task, return_exceptions=True)


async def received(stream: Stream, n: int) -> list[dict[str, Any]]:
    """The next ``n`` results of ``stream``."""
    return [await asyncio.wait_for(stream.results.get(), 30) for _ in range(n)]


def _cursor(cursor: str) -> tuple[int, int]:
    ms, seq = cursor.split("-")
    return int(ms), int(seq)


@pytest.mark.timeout(120)
async def test_a_client_that_reconnects_with_its_cursor_gets_what_it_missed(
    served: Served, settings: Settings, unique: str
) -> None:
    """A client drops its connection, changes happen, it subscribes again with ``since``: the
    missed ones come first, then live ones, none twice; a cursor no longer kept is refused."""
    token = mint_token(settings.auth, f"reconnect-{unique}", ["admin"])
    urns = numbered(unique, 6)
    async with Redis.from_url(settings.redis_url) as redis:
        base = served.hub.subscriber_count(CATALOG_CHANNEL)  # the app's own watchers
        before = Stream(served, token, CHANGES_SINCE, f={"source": unique})
        await joined(served, CATALOG_CHANNEL, base)
        await announce(redis, urns[:2])
        got = [r["catalogChanges"] for r in await received(before, 2)]
        before.task.cancel()  # the connection drops
        await asyncio.gather(before.task, return_exceptions=True)

        await announce(redis, urns[2:4])  # missed
        again = Stream(served, token, CHANGES_SINCE, f={"source": unique}, since=got[-1]["cursor"])
        await announce(redis, urns[4:])  # before or after it subscribes: it has a cursor
        after = [r["catalogChanges"]["urn"] for r in await received(again, 4)]
        assert after == urns[2:]
        await asyncio.sleep(1)
        assert again.results.empty(), "nothing twice"
        again.task.cancel()
        await asyncio.gather(again.task, return_exceptions=True)

    async with ws_client(served.url, token) as session:
        request = GraphQLRequest(CHANGES_SINCE, variable_values={"since": "1-0"})
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(request):
                pass
    (error,) = refused.value.errors or []
    assert error["extensions"]["code"] == "CURSOR_EXPIRED"
    assert _cursor(error["extensions"]["cursor"]) >= _cursor(got[-1]["cursor"])
