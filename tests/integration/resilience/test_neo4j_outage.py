"""The ingest worker across a Neo4j outage, through a fault proxy in front of the shared Neo4j
(never stopped: other test runs use it).

The worker's driver goes through the proxy; events wait on Kafka while the proxy is cut for
about ten seconds, then the worker drains them: every table in the graph, each event written
once, nothing dead-lettered, every offset committed. Its heartbeat says ``waiting`` for
``neo4j`` during the outage and ``running`` with no lag after.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import IngestSettings, ResilienceSettings, Settings
from graph.driver import open_driver, read
from ingest.heartbeat import beat
from ingest.producer import EventProducer
from ingest.worker import Worker
from live.workers import WorkerStatus, workers
from tests.factories import Source, columns, eventually, running
from tests.integration.resilience.proxy import FaultProxy

OUTAGE_S = 10
TABLES = "MATCH (t:Table) WHERE t.source = $source RETURN count(t) AS n"


async def lag(settings: Settings, cfg: IngestSettings) -> int:
    """Records on the worker's topic not yet committed by its group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, group_id=cfg.group_id
    )
    await consumer.start()
    try:
        parts = [TopicPartition(cfg.topics[0], p) for p in range(settings.kafka.topic_partitions)]
        ends = await consumer.end_offsets(parts)
        committed = [await consumer.committed(tp) or 0 for tp in parts]
        return sum(ends.values()) - sum(committed)
    finally:
        await consumer.stop()


async def test_worker_waits_out_a_neo4j_outage_and_drains(
    settings: Settings,
    neo4j: AsyncDriver,
    ingest_cfg: IngestSettings,
    neo4j_proxy: FaultProxy,
    source: Source,
) -> None:
    db = settings.neo4j.database
    cfg = ingest_cfg.model_copy(update={"batch_size": 20})
    backoff = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=2, heartbeat_s=0.5)
    before = [source.checked(), *source.containers()]
    before += [source.table(f"a{i}", columns("id:int", "v:text")) for i in range(100)]
    after = [source.table(f"b{i}", columns("id:int", "v:text")) for i in range(200)]
    neo4j_cfg = settings.neo4j.model_copy(update={"uri": neo4j_proxy.url(settings.neo4j.uri)})
    async with (
        open_driver(neo4j_cfg, max_transaction_retry_time=1) as through_proxy,
        EventProducer(settings.kafka, cfg.topics[0]) as producer,
        Redis.from_url(settings.redis_url) as redis,
    ):
        worker = Worker(cfg, settings.kafka, through_proxy, db, backoff)
        consumer, committed = lambda: worker.consumer, lambda: worker.last_commit_at
        heartbeat = asyncio.create_task(beat(redis, "ingest", consumer, committed, backoff))
        async with running(worker):
            await producer.publish_many(before)
            await eventually(lambda: _ok(worker, len(before)))

            neo4j_proxy.cut()
            await producer.publish_many(after)
            await asyncio.sleep(OUTAGE_S)
            assert worker.stats.events_ok < len(before) + len(after)  # it waited
            assert (await read(neo4j, db, TABLES, source=source.name))[0]["n"] < 300
            during = await mine(redis, backoff)
            assert (during.state, during.waiting_for) == ("waiting", "neo4j")
            neo4j_proxy.restore()
            restored = time.monotonic()

            await eventually(lambda: _ok(worker, len(before) + len(after)))
            recovered_s = time.monotonic() - restored
            await eventually(lambda: _no_lag(settings, cfg))
            await asyncio.sleep(1)  # a heartbeat after the last commit
            after_ = await mine(redis, backoff)
        heartbeat.cancel()
        print(f"neo4j outage {OUTAGE_S}s: drained {recovered_s:.1f}s after it came back")

    assert worker.stats.events_ok == len(before) + len(after)  # each event written once
    assert worker.stats.dlq == 0
    assert (await read(neo4j, db, TABLES, source=source.name))[0]["n"] == 300
    assert recovered_s < backoff.backoff_max_s + 10
    assert (after_.state, after_.waiting_for, after_.lag) == ("running", None, 0)


async def mine(redis: Redis, cfg: ResilienceSettings) -> WorkerStatus:
    """This process's ingest worker as its heartbeat tells it."""
    instance = f"{socket.gethostname()}:{os.getpid()}"
    found = await workers(redis, cfg)
    return next(w for w in found if w.component == "ingest" and w.instance == instance)


async def _ok(worker: Worker, n: int) -> bool:
    return worker.stats.events_ok >= n


async def _no_lag(settings: Settings, cfg: IngestSettings) -> bool:
    return await lag(settings, cfg) == 0
