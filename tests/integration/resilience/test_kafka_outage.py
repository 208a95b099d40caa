"""The ingest worker across a Kafka outage, on a private broker of this test's own (killed
with SIGKILL and started again; the shared Kafka is never touched): the worker waits, resumes
from its committed offsets, and every event published before the outage and after it is in
the graph, written once, nothing dead-lettered.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from neo4j import AsyncDriver

from core.outages import wait_out
from core.settings import IngestSettings, KafkaSettings, ResilienceSettings, Settings
from graph.driver import read
from ingest.producer import EventProducer
from ingest.worker import Worker
from tests.factories import Source, columns, eventually, running
from tests.integration.resilience.private_kafka import PrivateKafka

OUTAGE_S = 10
TABLES = "MATCH (t:Table) WHERE t.source = $source RETURN count(t) AS n"
FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=2)


@pytest.mark.timeout(300)
async def test_worker_resumes_after_a_kafka_outage(
    settings: Settings,
    neo4j: AsyncDriver,
    broker: PrivateKafka,
    private_kafka: KafkaSettings,
    private_ingest: IngestSettings,
    source: Source,
) -> None:
    db = settings.neo4j.database
    kafka, cfg = private_kafka, private_ingest
    before = [source.checked(), *source.containers()]
    before += [source.table(f"a{i}", columns("id:int")) for i in range(100)]
    after = [source.table(f"b{i}", columns("id:int")) for i in range(100)]
    worker = Worker(cfg, kafka, neo4j, db, FAST)
    async with running(worker):
        async with EventProducer(kafka, cfg.topics[0]) as producer:
            await producer.publish_many(before)
        await eventually(lambda: _ok(worker, len(before)), 120)

        broker.kill()
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(broker.start)
        restarted = time.monotonic()
        async with EventProducer(kafka, cfg.topics[0]) as producer:
            await wait_out(lambda: producer.publish_many(after), FAST, "test", give_up_after_s=60)
        await eventually(lambda: _ok(worker, len(before) + len(after)), 120)
        recovered_s = time.monotonic() - restarted
    print(f"kafka killed {OUTAGE_S}s: the worker drained {recovered_s:.1f}s after it restarted")

    assert worker.stats.dlq == 0
    # Delivery is at least once: a SIGKILLed broker may lose a commit or take a retried send
    # twice, so some events can arrive again. None may be applied twice: every table has
    # exactly one schema version (a redelivered snapshot is stale and changes nothing).
    assert worker.stats.versions == 200
    assert (await read(neo4j, db, TABLES, source=source.name))[0]["n"] == 200


async def _ok(worker: Worker, n: int) -> bool:
    return worker.stats.events_ok >= n
