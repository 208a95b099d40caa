"""Scans whose process stopped, on a source still registered (ingest/scan.py ``end_stopped``).

A scan ``startScan`` started whose process died read ``running`` for ever: ``startScan`` never
takes a scan over, and only a ``datawave scan`` of that source would. The ingest workers end it
``failed``, saying why, once its lease stayed lapsed a lease period and no scan took it over;
``datawave scan`` still takes it over while it is its source's latest scan.
"""

from __future__ import annotations

import signal
import sys
import uuid

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import IngestSettings, Settings
from core.urns import source_urn
from graph.scans import STOPPED, finish_scan, get_scan, resumable_scans, start_scan
from graph.sources import register_source
from ingest.registration import source_config
from ingest.scan import end_stopped
from tests.factories import eventually
from tests.integration.cleanup import drop_sources
from tests.integration.ingest.test_ingest import spawn

HEARTBEAT_S = 1  # the spawned worker's: a lease lapses, and it sweeps, every 3 s


async def test_a_scan_whose_process_stopped_ends_failed_and_can_be_resumed(
    neo4j: AsyncDriver, settings: Settings, ingest_cfg: IngestSettings, unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """``startScan`` recorded the scan, then its process died (no lease): the scan read
    RUNNING for ever in `scans`. A running worker ends it FAILED once its lease stayed lapsed
    a lease period; a scan of another source whose process runs (its lease held) is left."""
    db = settings.neo4j.database
    dead, alive, other = str(uuid.uuid4()), str(uuid.uuid4()), f"{unique}-b"
    for name in (unique, other):
        await register_source(neo4j, db, source_config({"name": name, "kind": "postgresql"}))
    await start_scan(neo4j, db, dead, unique, source_urn(unique))
    await start_scan(neo4j, db, alive, other, source_urn(other))
    monkeypatch.setenv("DATAWAVE_RESILIENCE__HEARTBEAT_S", str(HEARTBEAT_S))
    worker = None
    try:
        async with Redis.from_url(settings.redis_url) as redis:
            lease = f"datawave:scan-lease:{alive}"
            await redis.set(lease, "1", px=60_000)  # its process runs (ingest/scan.py)
            worker = spawn(ingest_cfg, sys.executable, "-m", "ingest.worker")

            async def ended() -> bool:
                return ((await get_scan(neo4j, db, dead)) or {}).get("status") == "failed"

            await eventually(ended, 60)
            running = await get_scan(neo4j, db, alive) or {}
            assert running["status"] == "running", "ended under its live process"
            await redis.delete(lease)
        scan = await get_scan(neo4j, db, dead) or {}
        assert (scan["stage"], scan["error"]) == ("failed", STOPPED)
        assert scan["finishedAt"] is not None and "voidedAt" not in scan
        # `datawave scan` of the source still takes it over (its acknowledgements kept)...
        assert await resumable_scans(neo4j, db, unique) == [dead]
        newer = str(uuid.uuid4())  # ...until the source was scanned again
        await start_scan(neo4j, db, newer, unique, source_urn(unique))
        await finish_scan(neo4j, db, newer, status="finished", stage="finished")
        assert await resumable_scans(neo4j, db, unique) == []
    finally:
        if worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        await drop_sources(settings, neo4j, unique, other)


async def test_a_scan_not_yet_holding_its_lease_is_not_ended_at_the_first_sweep(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """``startScan`` writes the scan before its task takes the lease: a sweep in between
    must not end it. Only a scan without a lease at two sweeps, a lease apart, ends."""
    db, scan_id = settings.neo4j.database, str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": unique, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))
    try:
        async with Redis.from_url(settings.redis_url) as redis:
            ended, lapsed = await end_stopped(neo4j, db, redis)
            assert scan_id not in ended and scan_id in lapsed
            assert ((await get_scan(neo4j, db, scan_id)) or {})["status"] == "running"
            await redis.set(f"datawave:scan-lease:{scan_id}", "1", px=60_000)  # it took it
            ended, lapsed = await end_stopped(neo4j, db, redis, lapsed)
            assert scan_id not in ended and scan_id not in lapsed
            await redis.delete(f"datawave:scan-lease:{scan_id}")
        assert ((await get_scan(neo4j, db, scan_id)) or {})["status"] == "running"
    finally:
        await drop_sources(settings, neo4j, unique)
