"""Subscription fan-out: 1,000 graphql-transport-ws subscribers receiving catalog changes.

Run alone with ``.venv/bin/python bench/subscriptions.py`` (the local stack's Redis, Kafka,
Neo4j and OpenSearch up: the API's lifespan and its change relay need them). In one run it:

1. starts the DataWave API (``uvicorn app.main:create_app --factory`` on a free port, as
   ``bench/graphql.py`` does: rate limit raised out of the way, since all subscribers share one
   admin principal and each ``connection_init`` and ``subscribe`` takes a token from its bucket;
   the Kafka change relay on; everything else as configured), then two such replicas, then the
   peer;
2. opens ``BENCH_SUBSCRIBERS`` (1,000) WebSocket connections from this one asyncio process
   (``websockets`` on uvloop, default options: permessage-deflate offered), half on each
   replica when there are two; each sends ``connection_init`` with an admin bearer token, waits
   for ``connection_ack`` and subscribes to ``catalogChanges(filter: {source: <this run's
   source>})`` with every field of ``CatalogChange``. Connect time: from the first connection
   to the last ``connection_ack``;
3. warms up: the protocol does not confirm a subscription, so warm-up changes are sent every
   ``BENCH_INTERVAL_S`` until every subscriber received one, and on the Kafka path one through
   each partition of ``datawave.changes.v1`` (so every partition's relay is live);
4. sends ``BENCH_EVENTS`` (20) catalog changes ``BENCH_INTERVAL_S`` (0.5 s) apart, each to a
   distinct table URN of a source that exists nowhere (nothing is written to the graph), by one
   of two production paths:

   - **Redis publish**: ``live.changes.publish_catalog_change`` (cache invalidation, then Redis
     pub/sub), as a mutation or the relay does;
   - **Kafka announce**: a ``datawave.asset.changed.v1`` event on ``datawave.changes.v1`` by
     ``ingest.producer.EventProducer``, as the ingest worker announces its writes; the API's
     relay (``live/relay.py``) turns it into the same Redis publish (and refreshes search);

   latency = the subscriber's receive time - the time just before the send, both
   ``time.perf_counter`` in this process, so they include the client's own work: decoding
   1,000 frames per event on the same 2 cores as the server;
5. prints p50/p95/p99/max over all deliveries, delivered/expected (a missing or duplicated
   delivery is reported), connect time, the servers' RSS (after connecting, peak while
   sending) and CPU seconds while sending, and the target: p99 <= 250 ms with 1,000
   subscribers.

The peer (``bench/graphql-ws-peer/server.mjs``, graphql-ws 6 on ws 8 and graphql-js 16, no
auth or RBAC, ``npm ci`` at run time) serves the same ``catalogChanges`` from the same Redis
channel with the same design (one pattern subscription, a bounded queue per subscriber); it
gets the Redis path only (it has no relay), and the ratio DataWave/peer is printed for p99.

Env overrides: ``BENCH_SUBSCRIBERS`` (1000), ``BENCH_EVENTS`` (20), ``BENCH_INTERVAL_S``
(0.5), ``BENCH_REPLICAS`` ("1,2": which DataWave set-ups to run), ``BENCH_PEER`` (1; 0 skips
the peer).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, bench/ would come first on sys.path (and bench/graphql.py would shadow
# graphql-core): put the repository there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

import orjson  # noqa: E402
import psutil  # noqa: E402
import uvloop  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bench.api_support import (  # noqa: E402
    cpu_seconds,
    free_port,
    npm_ci,
    pct,
    start_datawave,
    stop,
    wait_http,
)
from core.events import ASSET_CHANGED, AssetChanged, make_event  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.topics import CHANGES  # noqa: E402
from core.urns import Urn, source_urn, table_urn  # noqa: E402
from ingest.producer import EventProducer  # noqa: E402
from live.changes import ChangeType, catalog_change, publish_catalog_change  # noqa: E402
from security.auth import mint_token  # noqa: E402

PEER_DIR = ROOT / "bench" / "graphql-ws-peer"
SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "1000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "20"))
INTERVAL_S = float(os.environ.get("BENCH_INTERVAL_S", "0.5"))
REPLICAS = [int(n) for n in os.environ.get("BENCH_REPLICAS", "1,2").split(",") if n.strip()]
PEER = os.environ.get("BENCH_PEER", "1") != "0"
TARGET_P99_MS = 250.0
TARGET_SUBSCRIBERS = 1000
CONNECTING = 100  # handshakes in flight at once
WARMUP_TIMEOUT_S = 90
DRAIN_TIMEOUT_S = 15

QUERY = """subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) { type urn kind source fields at }
}"""


@dataclass(frozen=True)
class Emitter:
    """One production path of a change to subscribers."""

    name: str
    send: Callable[[str], Awaitable[int | None]]  # a change of this URN; its Kafka partition
    lanes: frozenset[int | None]  # what the warm-up must prove live: partitions, or {None}


class Subscriber:
    """One connection with one ``catalogChanges`` subscription; records when each URN arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: dict[str, float] = {}
        self.duplicates = 0
        self.problems: list[str] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                message = orjson.loads(raw)
                kind = message.get("type")
                if kind == "next" and "errors" not in message["payload"]:
                    urn = message["payload"]["data"]["catalogChanges"]["urn"]
                    if urn in self.received:
                        self.duplicates += 1
                    else:
                        self.received[urn] = now
                elif kind == "ping":
                    await self.ws.send('{"type":"pong"}')
                else:
                    self.problems.append(str(message)[:200])
        except Exception as err:  # a closed connection is a lost subscriber: reported
            self.problems.append(f"{type(err).__name__}: {err}"[:200])


async def subscribe(url: str, token: str, source: str, gate: asyncio.Semaphore) -> Subscriber:
    async with gate:
        ws = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60)
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(orjson.dumps(init).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 60))
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"{url}: no connection_ack but {ack}")
        payload = {"query": QUERY, "variables": {"filter": {"source": source}}}
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
        return Subscriber(ws)


@dataclass
class Result:
    setup: str
    path: str
    subscribers: int
    connect_s: float
    latencies: list[float]
    expected: int
    duplicates: int
    rss_connected_mib: float
    rss_peak_mib: float
    server_cpu_s: float
    client_cpu_s: float
    problems: list[str] = field(default_factory=list)

    @property
    def p99(self) -> float:
        return pct(self.latencies, 99)

    @property
    def met(self) -> bool:
        return len(self.latencies) == self.expected and self.p99 <= TARGET_P99_MS


class Servers:
    """The server processes of one set-up, for RSS and CPU."""

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        self.procs = [psutil.Process(p.pid) for p in procs]

    def rss_mib(self) -> float:
        return sum(p.memory_info().rss for p in self.procs) / 2**20

    def cpu_s(self) -> float:
        return cpu_seconds(self.procs)


async def delivered(subs: list[Subscriber], urns: Iterable[str]) -> None:
    """Until every subscriber has received these changes, or DRAIN_TIMEOUT_S (then: lost)."""
    for _ in range(round(DRAIN_TIMEOUT_S / 0.1)):
        if all(u in s.received for s in subs for u in urns):
            return
        await asyncio.sleep(0.1)


async def warm_up(setup: str, emitter: Emitter, subs: list[Subscriber], warmup: str) -> None:
    """Send changes until every subscriber received one through each lane."""
    lane_of: dict[str, int | None] = {}
    deadline = time.monotonic() + WARMUP_TIMEOUT_S
    while True:
        for _ in emitter.lanes:
            urn = f"{warmup}{len(lane_of)}"
            lane_of[urn] = await emitter.send(urn)
        await asyncio.sleep(INTERVAL_S)
        live = {lane for urn, lane in lane_of.items() if all(urn in s.received for s in subs)}
        if live >= emitter.lanes:
            await delivered(subs, lane_of)  # none left in flight to delay the measured events
            return
        if time.monotonic() > deadline:
            some = sum(any(u.startswith(warmup) for u in s.received) for s in subs)
            problems = [p for s in subs for p in s.problems][:3]
            raise SystemExit(
                f"{setup}, {emitter.name}: {some}/{len(subs)} subscribers got a warm-up change; "
                f"lanes live {sorted(live, key=str)} of {sorted(emitter.lanes, key=str)}; "
                f"{problems}"
            )


async def measure(
    setup: str, emitter: Emitter, subs: list[Subscriber], source: str, servers: Servers
) -> Result:
    """Warm up until every subscriber is live, then send EVENTS changes and collect latencies."""
    tag = uuid.uuid4().hex[:6]
    await warm_up(setup, emitter, subs, table_urn(source, "bench", f"{tag}-warmup", ""))
    await asyncio.sleep(1)  # stragglers of the warm-up
    rss_connected = rss_peak = servers.rss_mib()
    cpu0, client0 = servers.cpu_s(), time.process_time()
    sent: dict[str, float] = {}
    for i in range(EVENTS):
        urn = table_urn(source, "bench", tag, f"event{i}")
        start = time.perf_counter()
        sent[urn] = start
        await emitter.send(urn)
        rss_peak = max(rss_peak, servers.rss_mib())
        await asyncio.sleep(max(0.0, start + INTERVAL_S - time.perf_counter()))
    await delivered(subs, sent)
    cpu, client_cpu = servers.cpu_s() - cpu0, time.process_time() - client0
    latencies = [s.received[u] - t for s in subs for u, t in sent.items() if u in s.received]
    duplicates = sum(s.duplicates for s in subs)
    problems = [p for s in subs for p in s.problems]
    return Result(
        setup,
        emitter.name,
        len(subs),
        0.0,
        latencies,
        len(subs) * len(sent),
        duplicates,
        rss_connected,
        rss_peak,
        cpu,
        client_cpu,
        problems,
    )


async def run_setup(
    setup: str, urls: list[str], servers: Servers, token: str, emitters: list[Emitter]
) -> list[Result]:
    """Connect SUBSCRIBERS clients spread over ``urls``, then measure each path in turn."""
    source = f"bench-subs-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(CONNECTING)
    t0 = time.perf_counter()
    subs = await asyncio.gather(
        *(subscribe(urls[i % len(urls)], token, source, gate) for i in range(SUBSCRIBERS))
    )
    connect_s = time.perf_counter() - t0
    print(f"{setup}: {len(subs)} subscribers connected in {connect_s:.1f} s", flush=True)
    results = []
    try:
        for emitter in emitters:
            result = await measure(setup, emitter, subs, source, servers)
            result.connect_s = connect_s
            p50 = pct(result.latencies, 50)
            print(f"  {emitter.name}: p50 {p50:.1f} ms, p99 {result.p99:.1f} ms", flush=True)
            results.append(result)
    finally:
        await asyncio.gather(*(s.ws.close() for s in subs), return_exceptions=True)
        await asyncio.gather(*(s.task for s in subs), return_exceptions=True)
    return results


def start_peer(settings: Settings) -> tuple[subprocess.Popen, str]:
    node = npm_ci(PEER_DIR)
    port = free_port()
    env = os.environ | {"PORT": str(port), "REDIS_URL": settings.redis_url}
    proc = subprocess.Popen([node, "server.mjs"], cwd=PEER_DIR, env=env, stdout=subprocess.DEVNULL)
    wait_http(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}/graphql"


async def partitions(settings: Settings, topic: str) -> frozenset[int | None]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return frozenset(p["partition"] for p in described["partitions"])


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1)


async def bench(settings: Settings, token: str) -> list[Result]:
    results: list[Result] = []
    async with AsyncExitStack() as stack:
        redis = Redis.from_url(settings.redis_url)
        stack.push_async_callback(redis.aclose)
        producer = await stack.enter_async_context(EventProducer(settings.kafka, CHANGES))

        async def via_redis(urn: str) -> None:
            await publish_catalog_change(
                redis, catalog_change(ChangeType.CHANGED, urn, ["description"])
            )

        async def via_kafka(urn: str) -> int:
            source = source_urn(Urn.parse(urn).source)
            data = AssetChanged(change="changed", fields=["description"])
            return (await producer.publish(make_event(ASSET_CHANGED, source, urn, data))).partition

        redis_path = Emitter("Redis publish", via_redis, frozenset({None}))
        kafka_path = Emitter("Kafka announce", via_kafka, await partitions(settings, CHANGES))
        for replicas in REPLICAS:
            procs: list[subprocess.Popen] = []
            try:
                urls = []
                for _ in range(replicas):
                    proc, url = start_datawave(relay=True)
                    procs.append(proc)
                    urls.append(ws_url(url))
                setup = f"DataWave, {replicas} replica{'s' if replicas > 1 else ''}"
                emitters = [redis_path, kafka_path]
                results += await run_setup(setup, urls, Servers(procs), token, emitters)
            finally:
                stop(procs)
        if PEER:
            proc, url = start_peer(settings)
            try:
                results += await run_setup(
                    "graphql-ws peer", [ws_url(url)], Servers([proc]), token, [redis_path]
                )
            finally:
                stop([proc])
    return results


def report(results: list[Result]) -> None:
    print(
        f"\n{SUBSCRIBERS} subscribers, {EVENTS} events {INTERVAL_S:g} s apart per path; "
        "latency = receive - send, ms; RSS after connecting/peak; CPU while sending\n"
    )
    head = (
        f"{'set-up':22s} {'path':15s} {'connect s':>9s} {'delivered':>13s} {'p50':>6s} "
        f"{'p95':>6s} {'p99':>6s} {'max':>6s} {'server RSS MiB':>14s} "
        f"{'server CPU us/delivery':>22s} {'client CPU s':>12s}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        lat = r.latencies
        delivered = f"{len(lat)}/{r.expected}"
        per_delivery = 1e6 * r.server_cpu_s / len(lat) if lat else float("nan")
        rss = f"{r.rss_connected_mib:.0f}/{r.rss_peak_mib:.0f}"
        print(
            f"{r.setup:22s} {r.path:15s} {r.connect_s:9.1f} {delivered:>13s} "
            f"{pct(lat, 50):6.1f} {pct(lat, 95):6.1f} {r.p99:6.1f} "
            f"{max(lat, default=float('nan')) * 1000:6.1f} {rss:>14s} "
            f"{per_delivery:22.0f} {r.client_cpu_s:12.1f}"
        )
        if r.duplicates or r.problems:
            print(f"  duplicates {r.duplicates}; problems {len(r.problems)}: {r.problems[:3]}")
    peer = next((r for r in results if r.setup == "graphql-ws peer"), None)
    if peer:
        print()
        for r in results:
            if r is not peer and r.path == peer.path:
                print(f"p99 {r.setup} / peer ({r.path}): {r.p99 / peer.p99:.2f}x")
    print(f"\ntarget: p99 <= {TARGET_P99_MS:g} ms with {TARGET_SUBSCRIBERS} subscribers, none lost")
    for r in results:
        if r is peer:
            continue
        if r.subscribers < TARGET_SUBSCRIBERS:
            verdict = f"not measured ({r.subscribers} subscribers)"
        else:
            verdict = "met" if r.met else "NOT met"
        print(f"  {r.setup}, {r.path}: {verdict} (p99 {r.p99:.1f} ms)")


def raise_open_files(needed: int) -> None:
    """Each subscriber is a socket of this process (and of a server, which inherits this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        raise SystemExit(f"open-file limit below {needed}: raise ulimit -n")


def main() -> None:
    raise_open_files(SUBSCRIBERS + 1024)
    settings = Settings(_env_file=None)
    token = mint_token(settings.auth, "bench", ["admin"], ttl_s=3600)
    report(uvloop.run(bench(settings, token)))


if __name__ == "__main__":
    main()
