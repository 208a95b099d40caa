"""The classification consumer across a Neo4j outage, through a fault proxy in front of the
shared Neo4j: the batch waits, then is labelled once the graph is back, handled once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from core.settings import ResilienceSettings, Settings
from core.urns import column_urn
from graph import labels
from graph.driver import open_driver
from ingest.producer import EventProducer
from ml.consumer import ClassificationConsumer
from ml.service import ClassificationService
from ml.settings import ClassifierSettings
from tests.integration.ml.test_classification import EMAILS, discovered, until
from tests.integration.resilience.proxy import FaultProxy
from tests.ml_support import shared_classifier

OUTAGE_S = 8
FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=2)


@pytest.fixture
async def cfg(
    settings: Settings, classified: None, unique: str
) -> AsyncIterator[ClassifierSettings]:
    cfg = ClassifierSettings(
        registry=unique, topic=unique, group_id=unique, changes_topic=f"{unique}-changes"
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 2, 1) for t in (cfg.topic, cfg.changes_topic)])
        yield cfg
        await admin.delete_topics([cfg.topic, cfg.changes_topic])
    finally:
        await admin.close()


async def test_classification_waits_out_a_neo4j_outage(
    settings: Settings,
    neo4j: AsyncDriver,
    neo4j_proxy: FaultProxy,
    cfg: ClassifierSettings,
    unique: str,
) -> None:
    db = settings.neo4j.database
    event = discovered(unique, 1000, 0.0, ("email", EMAILS))
    email = column_urn(event.subject, "email")
    neo4j_cfg = settings.neo4j.model_copy(update={"uri": neo4j_proxy.url(settings.neo4j.uri)})
    async with open_driver(neo4j_cfg, max_transaction_retry_time=1) as through_proxy:
        service = ClassificationService(through_proxy, db, cfg, shared_classifier(), f"{unique}:1")
        consumer = ClassificationConsumer(service, settings.kafka, FAST)
        running = asyncio.create_task(consumer.run())
        try:
            neo4j_proxy.cut()
            async with EventProducer(settings.kafka, cfg.topic) as producer:
                await producer.publish(event)
            await asyncio.sleep(OUTAGE_S)
            assert not await labels.column_labels(neo4j, db, email)
            neo4j_proxy.restore()
            restored = time.monotonic()
            await until(lambda: labels.column_labels(neo4j, db, email))
            recovered_s = time.monotonic() - restored
        finally:
            consumer.stop()
            await running
    print(f"neo4j outage {OUTAGE_S}s under classification: labelled {recovered_s:.1f}s after")
    assert consumer.stats.tables == 1 and consumer.stats.batches == 1  # handled once
