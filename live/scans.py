"""Scans started from the API: ``ingest.scan.run_scan`` in the background, progress to Redis.

The replica that accepts ``startScan`` runs the scan (at most ``MAX_RUNNING`` at once): the
connector's events go to Kafka, the ingest workers write them, and every progress report is
published so ``scanProgress`` subscribers on any replica can follow it. The scan's ``:Scan``
node and its first state exist before ``start`` returns, so ``scan(id)`` and a subscriber that
comes right after see it from its first stage. Shutting the replica down cancels its running
scans (what was published stays valid). Progress is published best effort, but a scan's last
state waits out a Redis outage (for ``SCAN_RETRY_S``): its subscribers complete on it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from functools import partial

from neo4j import AsyncDriver
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.outages import wait_out
from core.settings import Settings
from core.urns import source_urn
from graph.scans import start_scan
from ingest import scan
from live.changes import ScanProgress, publish_scan_progress

log = logging.getLogger("datawave.scans")

MAX_RUNNING = 4


class TooManyScans(Exception):
    """This replica already runs its maximum of scans."""


class ScanRunner:
    def __init__(self, settings: Settings, driver: AsyncDriver, redis: Redis) -> None:
        self._settings = settings
        self._driver = driver
        self._redis = redis
        self._running: set[asyncio.Task[scan.ScanProgress]] = set()
        self._starting = 0  # scans between the check of MAX_RUNNING and their task

    async def start(self, source: str) -> ScanProgress:
        """Start scanning the registered ``source``; return its first state at once."""
        if len(self._running) + self._starting >= MAX_RUNNING:
            raise TooManyScans(f"{MAX_RUNNING} scans are already running on this replica")
        self._starting += 1
        try:
            first = _live(scan.ScanProgress(str(uuid.uuid4()), source, "validate"))
            database = self._settings.neo4j.database
            await start_scan(self._driver, database, first.scan_id, source, source_urn(source))
            await self._send(first)
        finally:
            self._starting -= 1
        task = asyncio.create_task(
            scan.run_scan(
                self._settings,
                self._driver,
                source,
                scan_id=first.scan_id,
                on_progress=self._publish,
            ),
            name=f"scan-{first.scan_id}",
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return first

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _publish(self, progress: scan.ScanProgress) -> None:
        await self._send(_live(progress))

    async def _send(self, progress: ScanProgress) -> None:
        publish = partial(publish_scan_progress, self._redis, progress)
        try:
            if progress.final:  # what its subscribers wait for
                cfg = self._settings.resilience
                await wait_out(publish, cfg, "scan-progress", give_up_after_s=cfg.scan_retry_s)
            else:
                await publish()
        except RedisError as err:  # progress is best effort; the scan itself goes on
            log.warning("scan %s: progress not published: %s", progress.scan_id, err)


def _live(progress: scan.ScanProgress) -> ScanProgress:
    return ScanProgress(**dataclasses.asdict(progress), percent=progress.percent)
