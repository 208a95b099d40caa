"""Scans their source's unregistration voided, as the ingest worker handles them.

A batch of a scan and the unregistration of its source, at the same moment: the worker used to
read whether a batch's scans were voided, then write the batch in a transaction of its own, so a
source unregistered between the two came back, its tables live again under a source no longer
registered. The check is part of the write transaction now, and the unregistration waits for a
batch that got there first (graph/scans.py ``LOCK_VOIDED``).

A scan still running when its source was unregistered is left to its process to end; if that
process stopped first, the scan read ``running`` for ever (a voided scan is never taken over).
A worker ends it once its lease lapsed (ingest/scan.py ``end_stopped``).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.events import Event
from core.settings import IngestSettings, Settings
from core.urns import source_urn
from graph import batch
from graph.driver import read
from graph.scans import STOPPED_VOIDED, get_scan, start_scan, unvoided_step
from graph.sources import get_source, register_source, unregister_source
from ingest import worker as ingest_worker
from ingest.producer import EventProducer
from ingest.registration import source_config, unregister
from ingest.worker import Worker
from tests.factories import Source, columns, eventually, running
from tests.integration.cleanup import drop_sources
from tests.integration.ingest.test_ingest import spawn

LIVE = """
MATCH (t:Table {source: $source}) WHERE t.removedAt IS NULL
RETURN t.urn AS urn ORDER BY urn
"""


def sent_by(scan_id: str, events: Sequence[Event]) -> list[Event]:
    """``events`` as scan ``scan_id`` sent them."""
    return [
        e.model_copy(update={"data": e.data.model_copy(update={"scan_id": scan_id})})
        for e in events
    ]


@pytest.fixture
async def scanned(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> AsyncIterator[tuple[Source, list[Event]]]:
    """A registered source, a scan of it recorded, and what that scan sent: two tables."""
    src, db, scan_id = Source(unique), settings.neo4j.database, str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": unique, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))
    events = sent_by(scan_id, [
        *src.containers(),
        src.table("parcels", columns("id:int", "weight:numeric?")),
        src.table("routes", columns("id:int", "stops:int")),
    ])  # fmt: skip
    yield src, events
    await drop_sources(settings, neo4j, unique)


async def test_a_source_unregistered_between_the_check_and_the_write_stays_gone(
    scanned: tuple[Source, list[Event]], neo4j: AsyncDriver, settings: Settings,
    ingest_cfg: IngestSettings, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The worker found the scan not voided, then the admin unregistered the source, then the
    batch was written: `parcels` and `routes` live again, under a source no longer there."""
    src, events = scanned
    db = settings.neo4j.database
    write, unregistered = ingest_worker.apply_prepared, []

    async def unregistered_first(*args: object, **kwargs: object) -> batch.BatchStats:
        if not unregistered:  # the worker has read and is about to write
            unregistered.append(await unregister_source(neo4j, db, src.name))
        return await write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_worker, "apply_prepared", unregistered_first)
    async with EventProducer(settings.kafka, ingest_cfg.topics[0]) as producer:
        for event in events:
            await producer.publish(event)
    worker = Worker(ingest_cfg, settings.kafka, neo4j, db)
    async with running(worker):

        async def handled() -> bool:
            return worker.stats.voided + worker.stats.events_ok >= len(events)

        await eventually(handled, 60)
    assert unregistered == [[]], "the source had no assets when it was unregistered"
    assert await get_source(neo4j, db, src.name) is None
    assert await read(neo4j, db, LIVE, source=src.name) == []
    assert (worker.stats.voided, worker.stats.events_ok) == (len(events), 0)


async def test_an_unregistration_waits_for_the_batch_being_written_and_removes_it(
    scanned: tuple[Source, list[Event]], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A batch of the scan is in its transaction, every statement run, not yet committed, when
    the source is unregistered: the unregistration did not see its new tables and left them
    live once it committed. It waits for the batch now, then removes them with the rest."""
    src, events = scanned
    db = settings.neo4j.database
    prepared = [batch.prepare(e) for e in events]
    async with neo4j.session(database=db) as session:
        tx = await session.begin_transaction()
        try:
            sent_by = {i for p in prepared if (i := batch.scan_of(p))}
            # The batch's statements, its scans' check and lock included, uncommitted.
            await unvoided_step(tx, sent_by, lambda tx, _voided: batch._apply(tx, prepared))
            unregistering = asyncio.create_task(unregister_source(neo4j, db, src.name))
            await asyncio.sleep(1.5)
            assert not unregistering.done(), "the unregistration did not wait for the batch"
            await tx.commit()
        finally:
            await tx.close()
    removed = await asyncio.wait_for(unregistering, 30)
    tables = [src.table_urn("parcels"), src.table_urn("routes")]
    assert removed is not None and set(tables) <= set(removed)
    assert await read(neo4j, db, LIVE, source=src.name) == []


async def test_a_scan_running_at_the_unregistration_whose_process_then_stopped_ends_failed(
    neo4j: AsyncDriver, settings: Settings, ingest_cfg: IngestSettings, unique: str
) -> None:
    """The scan's lease was alive when its source was unregistered (the unregistration leaves
    it to its process), then its process was killed: the scan read RUNNING for ever, in its
    source's history and in `scan(id)`. Once its lease lapses, a running worker ends it."""
    db, scan_id = settings.neo4j.database, str(uuid.uuid4())
    lease = f"datawave:scan-lease:{scan_id}"
    await register_source(neo4j, db, source_config({"name": unique, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))
    producer = AIOKafkaProducer(**settings.kafka.client_options())
    await producer.start()
    worker = None
    try:
        async with Redis.from_url(settings.redis_url) as redis:
            await redis.set(lease, "1", px=60_000)  # its process runs (ingest/scan.py)
            await unregister(neo4j, db, producer, ingest_cfg.changes_topic, unique, redis)
            left = await get_scan(neo4j, db, scan_id)
            assert left and (left["status"], left.get("finishedAt")) == ("running", None)
            worker = spawn(ingest_cfg, sys.executable, "-m", "ingest.worker")
            await asyncio.sleep(3)  # the worker sweeps at its start: the lease is alive
            still = await get_scan(neo4j, db, scan_id)
            assert still and still["status"] == "running", "ended under its live process"
            await redis.delete(lease)  # its process was killed: the lease lapses

        async def ended() -> bool:
            return ((await get_scan(neo4j, db, scan_id)) or {}).get("status") == "failed"

        await eventually(ended, 60)
        scan = await get_scan(neo4j, db, scan_id) or {}
        assert (scan["stage"], scan["error"]) == ("failed", STOPPED_VOIDED)
        assert scan["finishedAt"] is not None and scan["voidedAt"] is not None
    finally:
        await producer.stop()
        if worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        await drop_sources(settings, neo4j, unique)
