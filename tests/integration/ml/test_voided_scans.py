"""The classification consumer and the scans an unregistration voided (graph/scans.py).

A scan that gave up waiting for ingest leaves its events on Kafka; once its source is
unregistered the ingest workers drop them. The classifier did not: it labelled the removed
columns of those tables and created those the workers never wrote, live again under a source
that no longer exists, with their profile snapshots and anomalies.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from neo4j import AsyncDriver

from core.events import Event
from core.settings import Settings
from core.urns import column_urn, source_urn, table_urn
from graph import labels
from graph.anomalies import snapshots
from graph.driver import read, write
from graph.scans import start_scan
from graph.sources import register_source, unregister_source
from ingest.producer import EventProducer
from ingest.registration import source_config
from ml.consumer import ClassificationConsumer
from ml.service import ClassificationService
from tests.integration.ml.test_classification import (
    EMAILS,
    PHONES,
    discovered,
    one_partition,
    until,
)

REMOVED_COLUMN = """
MERGE (c:Asset:Column {urn: $urn})
SET c.name = 'email', c.source = $source, c.removedAt = datetime()
"""
NODE = "MATCH (a:Asset {urn: $urn}) RETURN count(a) AS n"


def of_scan(event: Event, scan_id: str | None, source: str, table: str) -> Event:
    """``event`` as scan ``scan_id`` sent it, for the table ``table`` of ``source``."""
    data = event.data.model_copy(update={"scan_id": scan_id, "name": table})
    subject = table_urn(source, "db", "public", table)
    return event.model_copy(update={"data": data, "subject": subject})


async def test_events_of_a_voided_scan_are_not_classified(
    classification: ClassificationService, settings: Settings, neo4j: AsyncDriver, unique: str
) -> None:
    db, scan_id = settings.neo4j.database, str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": unique, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))
    base = discovered(unique, 10, 0.0, ("email", EMAILS), ("mobile", PHONES))
    voided = of_scan(base, scan_id, unique, "people")
    kept = of_scan(base, None, unique, "buyers")
    email = column_urn(voided.subject, "email")
    await write(neo4j, db, REMOVED_COLUMN, urn=email, source=unique)  # written, then removed
    assert await unregister_source(neo4j, db, unique) == []

    await one_partition(settings, classification.cfg.topic)
    consumer = ClassificationConsumer(classification, settings.kafka)
    running = asyncio.create_task(consumer.run())
    try:
        async with EventProducer(settings.kafka, classification.cfg.topic) as producer:
            await producer.publish(voided)  # before the kept one, on the one partition
            await producer.publish(kept)
        kept_email = column_urn(kept.subject, "email")
        await until(lambda: labels.column_labels(neo4j, db, kept_email))
    finally:
        consumer.stop()
        await running
    assert await labels.column_labels(neo4j, db, email) == []
    mobile = column_urn(voided.subject, "mobile")
    assert (await read(neo4j, db, NODE, urn=mobile))[0]["n"] == 0, "brought back"
    assert await snapshots(neo4j, db, [voided.subject]) == []
    assert (consumer.stats.voided, consumer.stats.tables) == (1, 1)


async def test_a_source_unregistered_between_the_check_and_the_write_stays_gone(
    classification: ClassificationService, settings: Settings, neo4j: AsyncDriver, unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The consumer found the scan not voided, then the admin unregistered the source, then
    the batch was written: the table's columns came back live with their labels and profile,
    under a source no longer there. The check is in the write's transaction now, as the
    ingest worker's (graph/scans.py ``write_unvoided``)."""
    db, scan_id = settings.neo4j.database, str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": unique, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))
    event = of_scan(
        discovered(unique, 10, 0.0, ("email", EMAILS), ("mobile", PHONES)),
        scan_id,
        unique,
        "people",
    )
    model, unregistered = classification.use_active_model, []

    async def unregistered_first() -> bool:  # read between the consumer's first read and write
        if not unregistered:
            unregistered.append(await unregister_source(neo4j, db, unique))
        return await model()

    monkeypatch.setattr(classification, "use_active_model", unregistered_first)
    await one_partition(settings, classification.cfg.topic)
    consumer = ClassificationConsumer(classification, settings.kafka)
    running = asyncio.create_task(consumer.run())
    try:
        async with EventProducer(settings.kafka, classification.cfg.topic) as producer:
            await producer.publish(event)
        await until(lambda: asyncio.sleep(0, consumer.stats.batches))
    finally:
        consumer.stop()
        await running
    assert unregistered == [[]]
    for name in ("email", "mobile"):
        urn = column_urn(event.subject, name)
        assert (await read(neo4j, db, NODE, urn=urn))[0]["n"] == 0, f"{name} brought back"
    assert await snapshots(neo4j, db, [event.subject]) == []
    assert (consumer.stats.voided, consumer.stats.tables) == (1, 0)
