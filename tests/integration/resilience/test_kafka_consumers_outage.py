"""The classification consumer and the change relay across a Kafka outage, each on a private
broker of this test's own, SIGKILLed while a batch is in hand and started again 30 s later (the
shared Kafka is never touched): each says in its heartbeat that it waits for Kafka, resumes from
its committed offsets, and what was published before and after the outage is handled once:
every table classified once, every change broadcast to ``catalogChanges`` subscribers once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.events import (
    ASSET_CHANGED,
    TABLE_DISCOVERED,
    AssetChanged,
    Event,
    TableDiscovered,
    make_event,
)
from core.outages import wait_out
from core.settings import KafkaSettings, ResilienceSettings, Settings
from core.topics import CHANGES
from core.urns import column_urn, schema_urn, source_urn, table_urn
from graph import labels
from ingest.heartbeat import beat
from ingest.producer import EventProducer
from live.broadcast import Subscription
from live.changes import CATALOG_CHANNEL
from live.relay import run_relay
from live.state import open_state
from live.workers import WorkerState, workers
from ml.consumer import ClassificationConsumer
from ml.service import ClassificationService
from ml.settings import ClassifierSettings
from tests.factories import eventually
from tests.integration.ml.test_classification import EMAILS
from tests.integration.resilience.private_kafka import PrivateKafka, create_topics
from tests.ml_support import shared_classifier

OUTAGE_S = 30
N = 60  # tables (changes) published before the outage, and as many after
FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=2, heartbeat_s=1)


def discovered(source: str, name: str) -> Event:
    data = TableDiscovered.model_validate(
        {
            "name": name,
            "kind": "table",
            "schema_urn": schema_urn(source, "db", "public"),
            "row_count": 100,
            "columns": [{"name": "email", "data_type": "varchar", "ordinal": 1, "samples": EMAILS}],
        }
    )
    urn = table_urn(source, "db", "public", name)
    return make_event(TABLE_DISCOVERED, source_urn(source), urn, data)


async def publish_after_restart(kafka: KafkaSettings, topic: str, events: list[Event]) -> None:
    async with EventProducer(kafka, topic) as producer:
        await wait_out(lambda: producer.publish_many(events), FAST, "test", give_up_after_s=60)


async def outage(broker: PrivateKafka, during: Callable[[], Awaitable[None]]) -> float:
    """Kill the broker, run ``during`` while it is away, start it again after ``OUTAGE_S``;
    the monotonic time it answered again."""
    broker.kill()
    killed = time.monotonic()
    await during()
    await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
    await asyncio.to_thread(broker.start)
    return time.monotonic()


async def heartbeat_says(redis: Redis, component: str, state: WorkerState) -> dict[str, object]:
    """This process's heartbeat of ``component`` once it says ``state`` (as /readyz reads it)."""
    found: list[dict[str, object]] = []

    async def says() -> bool:
        mine = [
            w
            for w in await workers(redis, FAST)
            if w.component == component and w.instance.endswith(f":{os.getpid()}")
        ]
        found[:] = [w.as_json() for w in mine if w.state == state]
        return bool(found)

    await eventually(says, 20)
    return found[0]


@pytest.fixture
async def classify_cfg(
    private_kafka: KafkaSettings, classified: None, unique: str
) -> ClassifierSettings:
    cfg = ClassifierSettings(
        registry=unique, topic=f"{unique}.discovery", group_id=unique,
        changes_topic=f"{unique}.changes", batch_size=10, batch_timeout_ms=100,
    )  # fmt: skip
    await create_topics(private_kafka, cfg.topic, cfg.changes_topic)
    return cfg


@pytest.mark.chaos
@pytest.mark.timeout(400)
async def test_classification_resumes_after_a_kafka_outage_and_classifies_each_table_once(
    settings: Settings,
    neo4j: AsyncDriver,
    broker: PrivateKafka,
    private_kafka: KafkaSettings,
    classify_cfg: ClassifierSettings,
    unique: str,
) -> None:
    db = settings.neo4j.database
    before = [discovered(unique, f"a{i}") for i in range(N)]
    after = [discovered(unique, f"b{i}") for i in range(N)]
    service = ClassificationService(neo4j, db, classify_cfg, shared_classifier(), f"{unique}:1")
    consumer = ClassificationConsumer(service, private_kafka, FAST)
    async with Redis.from_url(settings.redis_url) as redis:
        committed = lambda: consumer.last_commit_at  # noqa: E731
        heartbeat = asyncio.create_task(
            beat(redis, "classify", lambda: consumer.consumer, committed, FAST)
        )
        running = asyncio.create_task(consumer.run())
        try:
            async with EventProducer(private_kafka, classify_cfg.topic) as producer:
                await producer.publish_many(before)

            async def in_hand() -> bool:  # killed in the middle of the backlog
                assert not running.done(), running
                return consumer.stats.tables >= N // 3

            await eventually(in_hand, 120)

            async def waits() -> None:
                said = await heartbeat_says(redis, "classify", WorkerState.WAITING)
                assert said["waitingFor"] == "kafka"

            restarted = await outage(broker, waits)
            await publish_after_restart(private_kafka, classify_cfg.topic, after)

            async def all_classified() -> bool:
                assert not running.done(), running
                return consumer.stats.tables >= 2 * N

            await eventually(all_classified, 180)
            recovered_s = time.monotonic() - restarted
            said = await heartbeat_says(redis, "classify", WorkerState.RUNNING)
            assert said["waitingFor"] is None
        finally:
            consumer.stop()
            await asyncio.gather(running, return_exceptions=True)
            heartbeat.cancel()
    print(f"kafka killed {OUTAGE_S}s under classification: all classified {recovered_s:.1f}s after")
    assert consumer.stats.tables == 2 * N, "each table classified once"
    for event in (before[0], before[-1], after[0], after[-1]):
        found = await labels.column_labels(neo4j, db, column_urn(event.subject, "email"))
        assert {row["label"] for row in found} == {"PII.Email"}


async def count(live: Subscription, source: str, received: Counter[str]) -> None:
    async for message in live:
        if message["source"] == source:
            received[message["urn"]] += 1


@pytest.mark.chaos
@pytest.mark.timeout(400)
async def test_the_relay_resumes_after_a_kafka_outage_and_broadcasts_each_change_once(
    settings: Settings, broker: PrivateKafka, private_kafka: KafkaSettings, unique: str
) -> None:
    """The API's relay (run_relay, as the app runs it) on the private broker's changes topic;
    the broker is killed as the first change reaches subscribers, its commit still to come."""

    def changed(name: str) -> Event:
        urn = table_urn(unique, "db", "public", name)
        return make_event(ASSET_CHANGED, source_urn(unique), urn, AssetChanged(change="changed"))

    before = [changed(f"a{i}") for i in range(N)]
    after = [changed(f"b{i}") for i in range(N)]
    await create_topics(private_kafka, CHANGES)
    cfg = settings.model_copy(update={"kafka": private_kafka, "resilience": FAST})
    received: Counter[str] = Counter()
    async with open_state(cfg) as state, state.broadcast.subscribe(CATALOG_CHANNEL) as live:
        listening = asyncio.create_task(count(live, unique, received))
        relaying = asyncio.create_task(run_relay(state))
        try:
            async with EventProducer(private_kafka, CHANGES) as producer:
                await producer.publish_many(before)

            async def broadcast(n: int) -> bool:
                return sum(received.values()) >= n

            await eventually(lambda: broadcast(1), 120)

            async def waits() -> None:
                said = await heartbeat_says(state.redis, "relay", WorkerState.WAITING)
                assert said["waitingFor"] == "kafka"

            restarted = await outage(broker, waits)
            await publish_after_restart(private_kafka, CHANGES, after)
            await eventually(lambda: broadcast(2 * N), 120)
            recovered_s = time.monotonic() - restarted
            await heartbeat_says(state.redis, "relay", WorkerState.RUNNING)
            await asyncio.sleep(5)  # anything broadcast twice would come now
        finally:
            relaying.cancel()
            listening.cancel()
            await asyncio.gather(relaying, listening, return_exceptions=True)
    print(f"kafka killed {OUTAGE_S}s under the relay: all broadcast {recovered_s:.1f}s after")
    assert set(received) == {e.subject for e in before + after}, "every change broadcast"
    assert set(received.values()) == {1}, "none broadcast twice"
