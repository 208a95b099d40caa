"""A scan: discover one registered source through Kafka and follow it until it is in the graph.

The connector streams events to ``datawave.discovery.v1``; the ingest workers write them. The
scan knows the last offset it produced on each partition, so it is finished exactly when the
workers' consumer group has committed past those offsets, whichever worker wrote them.

A Kafka or Neo4j outage interrupts a scan without failing it: for
``DATAWAVE_RESILIENCE__SCAN_RETRY_S`` it waits with backoff (core/outages.py) and discovers
again (writes are idempotent, so events sent twice change nothing), follows the ingest, and
records its end once the graph is back. Past that deadline it fails with the outage in words.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata
from neo4j import AsyncDriver
from pydantic import ValidationError

from core.events import SOURCE_CHECKED, TABLE_DISCOVERED, SourceChecked, TableDiscovered
from core.outages import in_words, is_outage, wait_out
from core.settings import Settings
from core.sources import DataSourceConfig, problems
from core.urns import source_urn
from graph.scans import finish_scan, start_scan
from graph.sources import get_source
from ingest.breakers import SourceFailure, guarded
from ingest.connectors.base import connector_for
from ingest.producer import EventProducer
from ingest.source_access import SourceAccess

CHECK_EVERY = 500  # delivery futures awaited in chunks, bounding memory
PROGRESS_EVERY_S = 0.25


class ScanError(Exception):
    """The scan could not run or did not finish; the message says why."""


class SourceUnreachable(ScanError, SourceFailure):
    """The source did not answer: counted by its circuit breaker (ingest/breakers.py)."""


@dataclass(frozen=True)
class ScanProgress:
    scan_id: str
    source: str
    stage: str  # validate, discover, ingest, finished, failed
    target: str | None = None
    events: int = 0
    tables: int = 0
    columns: int = 0
    expected_tables: int = 0
    ingested: int = 0
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.stage in ("finished", "failed")

    @property
    def percent(self) -> float:
        """Discovery counts for the first half, ingestion for the second."""
        if self.stage == "finished":
            return 100.0
        discovered = min(1.0, self.tables / self.expected_tables) if self.expected_tables else 0
        ingested = min(1.0, self.ingested / self.events) if self.events else 0
        return round(50 * discovered + 50 * ingested, 1)


ProgressCallback = Callable[[ScanProgress], Awaitable[None]]
T = TypeVar("T")


class Retried(Protocol):
    """``call()`` with outages waited out for ``DATAWAVE_RESILIENCE__SCAN_RETRY_S``."""

    async def __call__(self, call: Callable[[], Awaitable[T]]) -> T: ...


async def _ignore(_: ScanProgress) -> None:
    return None


class _Offsets:
    """First and last offsets this scan produced, per partition."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def add(self, meta: RecordMetadata) -> None:
        self.first.setdefault(meta.partition, meta.offset)
        self.last[meta.partition] = meta.offset

    def ingested(self, committed: dict[int, int]) -> tuple[int, bool]:
        """Events of ours behind the group's committed offsets, and whether that is all."""
        done, complete = 0, True
        for p, last in self.last.items():
            upto = committed.get(p, -1)
            done += max(0, min(upto, last + 1) - self.first[p])
            complete &= upto > last
        return done, complete


async def _committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}


async def registered(settings: Settings, driver: AsyncDriver, source: str) -> DataSourceConfig:
    """The config a source was registered with; ScanError if there is none, or if it no longer
    validates (registered by an older version): the message says what to fix."""
    record = await get_source(driver, settings.neo4j.database, source)
    if record is None:
        raise ScanError(f"unknown source {source!r}: register it first (datawave source add)")
    try:
        return DataSourceConfig.from_properties(record)
    except ValidationError as err:
        wrong = "; ".join(f"{f}: {m}" for f, m in problems(err))
        raise ScanError(f"source {source!r} needs registering again: {wrong}") from None


async def run_scan(
    settings: Settings,
    driver: AsyncDriver,
    source: str,
    *,
    scan_id: str | None = None,
    on_progress: ProgressCallback = _ignore,
    ingest_timeout_s: float = 900.0,
) -> ScanProgress:
    """Run one scan to the end (finished or failed) and return its last progress."""
    give_up_s = settings.resilience.scan_retry_s

    async def retried(call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await wait_out(call, settings.resilience, "scan", give_up_after_s=give_up_s)
        except Exception as err:
            if is_outage(err):
                raise ScanError(
                    f"interrupted: {in_words(err)}, and not back within {give_up_s:.0f}s"
                ) from err
            raise

    return await _run(settings, driver, source, scan_id, on_progress, ingest_timeout_s, retried)


async def _run(
    settings: Settings, driver: AsyncDriver, source: str, scan_id: str | None,
    on_progress: ProgressCallback, ingest_timeout_s: float, retried: Retried,
) -> ScanProgress:  # fmt: skip
    db = settings.neo4j.database
    config = await retried(lambda: registered(settings, driver, source))
    progress = ScanProgress(scan_id or str(uuid.uuid4()), source, "validate")
    started = progress
    await retried(lambda: start_scan(driver, db, started.scan_id, source, source_urn(source)))
    await on_progress(progress)
    try:
        async with guarded(settings.redis_url, source, settings.resilience):
            progress, offsets, missing = await retried(
                lambda: _discover(settings, config, started, on_progress)
            )
        progress = await _await_ingest(
            settings, progress, offsets, on_progress, ingest_timeout_s, retried
        )
        if missing:  # written first: the graph has marked their tables removed
            one = len(missing) == 1
            raise ScanError(
                f"configured database{'' if one else 's'} {', '.join(missing)} not found on "
                f"{config.target} (dropped or renamed?): {'its' if one else 'their'} tables are "
                f"marked removed. Fix the source's databases if that is not what you meant."
            )
        progress = replace(progress, stage="finished", target=None)
    except Exception as err:
        message = str(err) if isinstance(err, ScanError) else in_words(err)
        progress = replace(progress, stage="failed", error=message)
    ended = progress
    await retried(
        lambda: finish_scan(
            driver, db, ended.scan_id, status=ended.stage, stage=ended.stage,
            events=ended.events, tables=ended.tables, columns=ended.columns, error=ended.error,
        )
    )  # fmt: skip
    await on_progress(progress)
    return progress


async def _discover(
    settings: Settings, config: DataSourceConfig, progress: ScanProgress,
    on_progress: ProgressCallback,
) -> tuple[ScanProgress, _Offsets, list[str]]:  # fmt: skip
    """Stream the connector's events to Kafka; also return the configured databases that the
    server's listing lacks."""
    offsets = _Offsets()
    pending: list[asyncio.Future[RecordMetadata]] = []
    last_report = 0.0

    async def settle() -> None:
        for meta in await asyncio.gather(*pending):
            offsets.add(meta)
        pending.clear()

    # The workers consume the first of their topics; that is where discovery goes.
    topic = settings.ingest.topics[0]
    access = SourceAccess.from_settings(settings)
    async with (
        connector_for(config, access) as connector,
        EventProducer(settings.kafka, topic) as producer,
    ):
        async for event in connector.discover(progress.scan_id):
            pending.append(await producer.send_event(event))
            data = event.data
            progress = replace(progress, stage="discover", events=progress.events + 1)
            if event.type == SOURCE_CHECKED and isinstance(data, SourceChecked):
                if data.status == "unreachable":
                    await settle()
                    raise SourceUnreachable(f"source {config.name} unreachable: {data.error}")
                expected = sum(data.counts.get(k, 0) for k in ("tables", "views", "collections"))
                progress = replace(progress, expected_tables=expected)
            elif event.type == TABLE_DISCOVERED and isinstance(data, TableDiscovered):
                progress = replace(
                    progress, tables=progress.tables + 1,
                    columns=progress.columns + len(data.columns), target=event.subject,
                )  # fmt: skip
            if len(pending) >= CHECK_EVERY:
                await settle()
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                await on_progress(progress)
        await producer.flush()
        await settle()
    return replace(progress, stage="ingest", target=None), offsets, connector.report.missing


async def _await_ingest(
    settings: Settings,
    progress: ScanProgress,
    offsets: _Offsets,
    on_progress: ProgressCallback,
    timeout_s: float,
    retried: Retried,
) -> ScanProgress:
    await on_progress(progress)
    admin = AIOKafkaAdminClient(**settings.kafka.client_options())
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        committed_offsets = partial(
            _committed, admin, settings.ingest.group_id, settings.ingest.topics[0]
        )
        while True:
            committed = await retried(committed_offsets)
            done, complete = offsets.ingested(committed)
            progress = replace(progress, ingested=done)
            if complete:
                return progress
            if time.monotonic() > deadline:
                raise ScanError(
                    f"ingest did not finish within {timeout_s:.0f}s ({done}/{progress.events} "
                    f"events written): is an ingest worker running (datawave ingest)?"
                )
            await on_progress(progress)
            await asyncio.sleep(PROGRESS_EVERY_S)
    finally:
        await admin.close()


async def check_source(settings: Settings, driver: AsyncDriver, source: str) -> SourceChecked:
    """``validate()`` a registered source without scanning it."""
    config = await registered(settings, driver, source)
    async with connector_for(config, SourceAccess.from_settings(settings)) as connector:
        return await connector.validate()
