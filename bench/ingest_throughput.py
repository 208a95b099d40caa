"""Ingest throughput: table events through Kafka and N workers into Neo4j, on the local stack.

    .venv/bin/python -m bench.ingest_throughput --events 6000 --workers 1 2

Publishes the events to a temporary topic first, then times the workers alone (events/s and
columns/s), and removes its topic and nodes afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from app.settings import IngestSettings, Settings
from graph.driver import open_driver
from ingest.producer import EventProducer
from ingest.worker import Worker
from tests.factories import Source, columns

CLEANUP = """
MATCH (n) WHERE n.source = $source
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""


async def run_once(settings: Settings, driver: AsyncDriver, events: int, cols: int, n: int) -> None:
    name = f"bench{uuid.uuid4().hex[:8]}"
    source = Source(name)
    cfg = IngestSettings(topics=[f"{name}.discovery"], group_id=name, dlq_topic=f"{name}.dlq")
    layout = columns(*(f"c{i}:varchar?" for i in range(cols)))
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    topics = [*cfg.topics, cfg.dlq_topic]
    await admin.create_topics([NewTopic(t, settings.kafka.topic_partitions, 1) for t in topics])
    try:
        async with EventProducer(settings.kafka, cfg.topics[0]) as producer:
            await producer.publish_many(source.table(f"t{i}", layout) for i in range(events))
        workers = [Worker(cfg, settings.kafka, driver, settings.neo4j.database) for _ in range(n)]
        started = time.perf_counter()
        tasks = [asyncio.create_task(w.run()) for w in workers]
        while sum(w.stats.events_ok for w in workers) < events:  # noqa: ASYNC110 (polling stats)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)
        written = sum(w.stats.columns for w in workers)
        print(
            f"{n} worker(s), {events} events x {cols} columns: {elapsed:.1f} s, "
            f"{events / elapsed:.0f} events/s, {written / elapsed:.0f} columns/s"
        )
    finally:
        await admin.delete_topics(topics)
        await admin.close()
        async with driver.session(database=settings.neo4j.database) as session:
            await (await session.run(CLEANUP, source=name)).consume()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    settings = Settings()
    async with open_driver(settings.neo4j) as driver:
        for n in args.workers:
            await run_once(settings, driver, args.events, args.columns, n)


if __name__ == "__main__":
    asyncio.run(main())
