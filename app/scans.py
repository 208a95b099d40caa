"""Scans started from the API: a connector's discovery published to Kafka, progress to Redis.

The replica that accepts ``startScan`` runs the scan as a background task (at most
``MAX_RUNNING`` at once) and publishes each event to the discovery topic, where the ingest
workers take over; ``scanProgress`` subscribers on any replica follow it. Shutting the replica
down cancels its running scans (the events already published stay valid).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.changes import ScanProgress, publish_scan_progress
from app.settings import KafkaSettings
from ingest.connectors.base import DataSourceConfig, connector_for
from ingest.events import Event
from ingest.producer import EventProducer
from ingest.topics import DISCOVERY

log = logging.getLogger("datawave.scans")

MAX_RUNNING = 4
STAGE = "discover"


class TooManyScans(Exception):
    """This replica already runs its maximum of scans."""


class ScanRunner:
    def __init__(self, kafka: KafkaSettings, redis: Redis) -> None:
        self._kafka = kafka
        self._redis = redis
        self._running: set[asyncio.Task[None]] = set()

    def start(self, config: DataSourceConfig) -> str:
        """Start scanning ``config``'s source; return the scan id at once."""
        if len(self._running) >= MAX_RUNNING:
            raise TooManyScans(f"{MAX_RUNNING} scans are already running on this replica")
        scan_id = uuid.uuid4().hex
        task = asyncio.create_task(self._run(scan_id, config), name=f"scan-{scan_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return scan_id

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _progress(self, progress: ScanProgress) -> None:
        try:
            await publish_scan_progress(self._redis, progress)
        except RedisError as err:  # progress is best effort; the scan itself goes on
            log.warning("scan %s: progress not published: %s", progress.scan_id, err)

    async def _run(self, scan_id: str, config: DataSourceConfig) -> None:
        def progress(status: str, done: int, **extra: object) -> ScanProgress:
            return ScanProgress(
                scan_id=scan_id, source=config.name, stage=STAGE, status=status, done=done, **extra
            )

        published = 0

        async def reported(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
            nonlocal published
            async for event in events:
                yield event
                published += 1
                await self._progress(progress("running", published, target=event.subject))

        await self._progress(progress("running", 0))
        try:
            async with (
                connector_for(config) as connector,
                EventProducer(self._kafka, DISCOVERY) as producer,
            ):
                await producer.publish_many(reported(connector.discover(scan_id)))
            failures = connector.report.failures
        except Exception as err:  # the scan ends here; subscribers must hear why
            log.exception("scan %s of %s failed", scan_id, config.name)
            await self._progress(progress("failed", published, message=f"{type(err).__name__}"))
            return
        message = "; ".join(failures)[:1000] or None
        await self._progress(progress("succeeded", published, total=published, message=message))
