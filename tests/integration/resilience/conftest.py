"""Fixtures of the fault matrix: a private Kafka broker (killed and started again by a test,
never the shared one) and the settings of its clients, and fault proxies in front of the shared
Neo4j and Redis."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from neo4j import AsyncDriver

from core.settings import IngestSettings, KafkaSettings, Settings
from graph import labels
from ml.service import label_rows
from ml.taxonomy import BUILTIN
from tests.integration.cleanup import drop_classified
from tests.integration.resilience.private_kafka import PrivateKafka, create_topics
from tests.integration.resilience.proxy import FaultProxy

CHAOS = "DATAWAVE_CHAOS"  # set by `make chaos`: the slow cases run too


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: a slow fault case (long outages), run by `make chaos`, not in CI"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the slow fault cases unless ``make chaos`` runs the matrix: CI keeps one case per
    dependency (docs/operations.md)."""
    if os.environ.get(CHAOS):
        return
    skip = pytest.mark.skip(reason=f"a slow fault case: `make chaos` (or {CHAOS}=1) runs it")
    for item in items:
        if "chaos" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[PrivateKafka]:
    """A private broker, started and stopped off the event loop: the session API's consumers
    share the loop and must go on heartbeating meanwhile."""
    kafka = await asyncio.to_thread(PrivateKafka, tmp_path)
    await asyncio.to_thread(kafka.start)
    try:
        yield kafka
    finally:
        await asyncio.to_thread(kafka.stop)


@pytest.fixture
def private_kafka(settings: Settings, broker: PrivateKafka) -> KafkaSettings:
    """The Kafka settings of a client of the private broker."""
    return settings.kafka.model_copy(
        update={"bootstrap_servers": broker.bootstrap, "topic_partitions": 3}
    )


@pytest.fixture
async def private_ingest(private_kafka: KafkaSettings, unique: str) -> IngestSettings:
    """An ingest worker's configuration on topics of the private broker."""
    cfg = IngestSettings(
        topics=[f"{unique}.discovery"], dlq_topic=f"{unique}.dlq",
        changes_topic=f"{unique}.changes", group_id=f"{unique}.ingest",
        batch_size=20, batch_timeout_ms=100, session_timeout_ms=6000,
    )  # fmt: skip
    await create_topics(private_kafka, *cfg.topics, cfg.dlq_topic, cfg.changes_topic)
    return cfg


@pytest.fixture
async def neo4j_proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the shared Neo4j (never stopped: other test runs use it)."""
    bolt = urlsplit(settings.neo4j.uri)
    async with FaultProxy(bolt.hostname or "127.0.0.1", bolt.port or 7687) as p:
        yield p


@pytest.fixture
async def redis_proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the shared Redis (never stopped: other test runs use it)."""
    url = urlsplit(settings.redis_url)
    async with FaultProxy(url.hostname or "127.0.0.1", url.port or 6379) as p:
        yield p


@pytest.fixture
async def classified(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[None]:
    """The built-in labels in place for a classifier of registry ``unique``; what it wrote of
    source ``unique`` (assets, profiles, anomalies) and its model are deleted afterwards."""
    db = settings.neo4j.database
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    yield
    await drop_classified(settings, neo4j, unique)
