"""Shared fixtures. Nothing here starts a service: `make test` brought the stack up.

Tests share one Neo4j database and one Kafka cluster, so each test works inside names it
owns (``unique`` gives one) and never wipes data it did not create.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from core.settings import IngestSettings, Settings
from graph.driver import open_driver


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(_env_file=None)


# Every name ``unique`` handed out in this session: tests/integration/conftest.py checks that
# no source under one is left in the graph when the session ends.
HANDED_OUT: set[str] = set()


@pytest.fixture
def unique() -> str:
    """A short name no other test uses (sources, topics, consumer groups)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    HANDED_OUT.add(name)
    return name


@pytest.fixture(scope="session")
async def neo4j(settings: Settings) -> AsyncIterator[AsyncDriver]:
    async with open_driver(settings.neo4j) as driver:
        yield driver


@pytest.fixture
async def admin(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def ingest_cfg(
    admin: AIOKafkaAdminClient, settings: Settings, unique: str
) -> AsyncIterator[IngestSettings]:
    """A worker configuration on this test's own topics and consumer group."""
    cfg = IngestSettings(
        topics=[f"{unique}.discovery"],
        dlq_topic=f"{unique}.dlq",
        changes_topic=f"{unique}.changes",
        group_id=f"{unique}.ingest",
        batch_timeout_ms=100,
        session_timeout_ms=6000,
    )
    names = [*cfg.topics, cfg.dlq_topic, cfg.changes_topic]
    partitions = settings.kafka.topic_partitions
    await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    yield cfg
    await admin.delete_topics(names)
