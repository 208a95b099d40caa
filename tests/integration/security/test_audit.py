"""The audit trail: durable in Neo4j, published on Kafka, and fail-closed when unavailable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from neo4j import AsyncDriver

from core.settings import Neo4jSettings, Settings
from core.topics import AUDIT
from graph.audit import list_audit_events
from graph.driver import open_driver, write
from security.audit import AuditEvent, AuditSink, AuditUnavailable


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all")
    await p.start()
    yield p
    await p.stop()


def event(actor: str, action: str = "describeAsset", outcome: str = "succeeded") -> AuditEvent:
    return AuditEvent(
        actor=actor,
        action=action,
        resource="urn:dw:table:s/d/s/t",
        outcome=outcome,  # type: ignore[arg-type]
        request_id="r1",
        client_address="127.0.0.1",
    )


async def test_events_are_stored_and_published(
    neo4j: AsyncDriver, producer: AIOKafkaProducer, settings: Settings, unique: str
) -> None:
    db = settings.neo4j.database
    sink = AuditSink(neo4j, db, producer)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(AUDIT, p) for p in await producer.partitions_for(AUDIT)])
        await consumer.seek_to_end()
        await sink.record(event(unique), event(unique, "token", "denied"))
        stored = await list_audit_events(neo4j, db, actor=unique)
        assert sorted(e["action"] for e in stored) == ["describeAsset", "token"]
        assert {e["outcome"] for e in stored} == {"succeeded", "denied"}
        seen: list[dict[str, str]] = []
        async with asyncio.timeout(10):
            while len(seen) < 2:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    seen += [json.loads(r.value) for r in records]
                seen = [s for s in seen if s["actor"] == unique]
        assert {s["action"] for s in seen} == {"describeAsset", "token"}
    finally:
        await consumer.stop()
        await write(neo4j, db, "MATCH (e:AuditEvent {actor: $a}) DELETE e", a=unique)


async def test_unavailable_sink_fails_the_action(producer: AIOKafkaProducer) -> None:
    down = Neo4jSettings(uri="bolt://127.0.0.1:1")
    async with open_driver(down, connection_timeout=1) as driver:
        sink = AuditSink(driver, "neo4j", producer, timeout_s=3)
        with pytest.raises(AuditUnavailable):
            await sink.record(event("nobody"))
