"""A scan: discover one registered source through Kafka and follow it until it is in the graph.

The connector streams events to ``datawave.discovery.v1``; the ingest workers write them. The
scan knows the last offset it produced on each partition, so it is finished exactly when the
workers' consumer group has committed past those offsets, whichever worker wrote them.

An outage of Kafka, Neo4j or the source in the middle of a scan interrupts it without failing
it: the scan reports ``interrupted`` with the outage in words and waits with backoff
(core/outages.py). Once the dependency answers again it reports ``resumed`` and goes on from
the targets the broker has not acknowledged: each event is recorded as the broker acknowledges
it, and a resumed discovery neither describes nor sends again what was acknowledged (writes
are idempotent, so the few in flight at the cut and sent again change nothing). An outage that
lasts ``DATAWAVE_RESILIENCE__SCAN_RETRY_S`` from its first failure fails the scan, in words.
A source unreachable from the start fails the scan at once (its circuit breaker counts it).

The acknowledgements outlive the process: they are kept in Redis (``datawave:scan-acks:<id>``,
a day) while the scan holds a lease (``datawave:scan-lease:<id>``, renewed every
``HEARTBEAT_S``, gone three later). A scan started without an id (``datawave scan``) for a
source whose last scan never ended and whose lease lapsed (its process died) takes that scan
over: same id, ``resumed``, and only the targets not yet acknowledged are sent. The ingest
workers end ``failed`` a scan whose lease stayed lapsed a lease period and that no scan took
over (``end_stopped``); ``datawave scan`` still takes it over while it is its source's latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata
from neo4j import AsyncDriver
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.events import TABLE_DISCOVERED, SourceChecked, TableDiscovered
from core.outages import Outage, in_words, is_outage, wait_out
from core.settings import Settings
from core.sources import DataSourceConfig, problems
from core.urns import source_urn
from graph.scans import (
    all_unfinished,
    end_stopped_scans,
    finish_scan,
    reopen_scan,
    resumable_scans,
    start_scan,
    update_scan,
)
from graph.sources import get_source
from ingest.breakers import SourceFailure, guarded
from ingest.connectors.base import Connector, connector_for
from ingest.producer import EventProducer
from ingest.source_access import SourceAccess

log = logging.getLogger("datawave.scan")

CHECK_EVERY = 500  # delivery futures awaited in chunks, bounding memory
PROGRESS_EVERY_S = 0.25
RECORD_S = 2.0  # an interruption is recorded on the :Scan node if the graph answers this fast
ACKS_TTL_S = 86_400  # a dead scan's acknowledgements are kept this long for a takeover
TAKEN_OVER = "the process running the scan stopped"
SEP = "\x1f"  # between a target's event type and subject in the kept acknowledgements


# The warnings a :Scan keeps (``warningCount`` counts them all), each cut to so many characters.
MAX_WARNINGS = 100
MAX_WARNING_CHARS = 500


class ScanError(Exception):
    """The scan could not run or did not finish; the message says why."""


class SourceUnreachable(ScanError, SourceFailure):
    """The source did not answer: counted by its circuit breaker (ingest/breakers.py)."""


class SourceOutage(Outage):
    """The source stopped answering in the middle of a scan: waited out like a broker outage."""

    def __init__(self, source: str) -> None:
        super().__init__("source", f"the source {source} stopped answering")


@dataclass(frozen=True)
class ScanProgress:
    scan_id: str
    source: str
    stage: str  # validate, discover, interrupted, resumed, ingest, finished, failed
    target: str | None = None
    events: int = 0
    tables: int = 0
    columns: int = 0
    expected_tables: int = 0
    ingested: int = 0
    error: str | None = None
    # What the connector could not do fully, the scan going on (``ConnectorReport.failures``):
    # objects catalogued unprofiled, lineage that did not parse, databases that refused.
    warnings: tuple[str, ...] = ()

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
Sent = tuple[str, str, int, asyncio.Future[RecordMetadata]]  # type, subject, columns, delivery


async def _ignore(_: ScanProgress) -> None:
    return None


class _Offsets:
    """First and last offsets this scan produced, per partition."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def add(self, meta: RecordMetadata) -> None:
        p = meta.partition
        self.first[p] = min(self.first.get(p, meta.offset), meta.offset)
        self.last[p] = max(self.last.get(p, meta.offset), meta.offset)

    def ingested(self, committed: dict[int, int]) -> tuple[int, bool]:
        """Events of ours behind the group's committed offsets, and whether that is all."""
        done, complete = 0, True
        for p, last in self.last.items():
            upto = committed.get(p, -1)
            done += max(0, min(upto, last + 1) - self.first[p])
            complete &= upto > last
        return done, complete


class _Acks:
    """What the broker acknowledged of this scan, kept across its attempts (and, in Redis,
    across processes): each target (event type and subject), each table's column count, and
    the offsets to follow the ingest by."""

    def __init__(self) -> None:
        self.targets: set[tuple[str, str]] = set()
        self.tables: dict[str, int] = {}
        self.offsets = _Offsets()
        self._unsaved: dict[str, int] = {}

    def add(self, sent: Sent) -> None:
        kind, subject, columns, delivery = sent
        if (kind, subject) not in self.targets:
            self._unsaved[f"{kind}{SEP}{subject}"] = columns
        self.targets.add((kind, subject))
        if kind == TABLE_DISCOVERED:
            self.tables[subject] = columns
        self.offsets.add(delivery.result())

    def delivered(self, sent: Sent, delivery: asyncio.Future[RecordMetadata]) -> None:
        """A delivery's callback: acknowledged the moment the broker says so."""
        if not delivery.cancelled() and delivery.exception() is None:
            self.add(sent)

    async def save(self, redis: Redis, scan_id: str) -> None:
        """Keep what was acknowledged since the last save (best effort: without Redis the
        scan goes on, and a takeover would send those targets again)."""
        if not self._unsaved:
            return
        # Taken first: deliveries acknowledged while this saves go to the next save.
        saving, self._unsaved = self._unsaved, {}
        offsets = self.offsets
        fields: dict[str, int] = {
            **saving,
            **{f"first:{p}": o for p, o in offsets.first.items()},
            **{f"last:{p}": o for p, o in offsets.last.items()},
        }
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hset(_acks_key(scan_id), mapping=fields)
                pipe.expire(_acks_key(scan_id), ACKS_TTL_S)
                await pipe.execute()
        except RedisError as err:
            log.warning("scan %s: acknowledgements not kept: %s", scan_id, err)
            self._unsaved = saving | self._unsaved

    def counted(self, progress: ScanProgress) -> ScanProgress:
        """``progress`` with the counts of what was acknowledged."""
        columns = sum(self.tables.values())
        return replace(progress, events=len(self.targets), tables=len(self.tables), columns=columns)

    @classmethod
    async def load(cls, redis: Redis, scan_id: str) -> _Acks:
        acks = cls()
        for raw, value in (await redis.hgetall(_acks_key(scan_id))).items():
            field, number = raw.decode(), int(value)
            edge, _, partition = field.partition(":")
            if edge in ("first", "last") and partition.isdigit():
                getattr(acks.offsets, edge)[int(partition)] = number
                continue
            kind, _, subject = field.partition(SEP)
            acks.targets.add((kind, subject))
            if kind == TABLE_DISCOVERED:
                acks.tables[subject] = number
        return acks


def _acks_key(scan_id: str) -> str:
    return f"datawave:scan-acks:{scan_id}"


def _lease_key(scan_id: str) -> str:
    return f"datawave:scan-lease:{scan_id}"


# One scan of a source at a time, and none while it is unregistered: whoever works on a source
# holds ``datawave:scan-source:<name>`` (a running scan's id, renewed with its lease, so it lapses
# with it; or UNREGISTERING). Two scans of one source had run side by side, one steward filling
# every scan slot of a replica; a source unregistered mid-scan came back with its assets. A scan
# that gives up waiting for ingest lets go with its events still on Kafka: unregistering the
# source voids its scans, whose events workers then drop (graph/scans.py), rather than the hold
# lasting until some worker writes them (up to the topic's retention, refusing every rescan).
UNREGISTERING = "unregistering"
CLAIM_TTL_MS = 30_000  # what an unregistration may take
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _source_key(source: str) -> str:
    return f"datawave:scan-source:{source}"


class SourceBusy(Exception):
    """Another scan of the source runs, or it is being unregistered: ``holder`` says which."""

    def __init__(self, source: str, holder: str) -> None:
        self.source, self.holder = source, holder
        what = (
            f"source {source} is being unregistered"
            if holder == UNREGISTERING
            else f"a scan of {source} is running (scan {holder}): follow it or wait for its end"
        )
        super().__init__(what)


async def claim_source(redis: Redis, source: str, holder: str, ttl_ms: int) -> None:
    """Hold ``source`` for ``holder`` (a scan's id, UNREGISTERING) or raise SourceBusy. Without
    Redis nothing is held (logged), like the circuit breakers: scans go ahead unguarded."""
    try:
        if await redis.set(_source_key(source), holder, nx=True, px=ttl_ms):
            return
        found = await redis.get(_source_key(source))
    except RedisError as err:
        log.warning("source %s not claimed for %s, Redis is unavailable: %s", source, holder, err)
        return
    if found is not None:
        raise SourceBusy(source, found.decode())
    await claim_source(redis, source, holder, ttl_ms)  # released in between


async def source_holder(redis: Redis, source: str) -> str | None:
    """Who holds ``source`` now (a running scan's id, UNREGISTERING), if anyone Redis knows."""
    try:
        found = await redis.get(_source_key(source))
    except RedisError:
        return None
    return found.decode() if found is not None else None


async def release_source(redis: Redis, source: str, holder: str) -> None:
    """Let go of ``source`` if ``holder`` still holds it (best effort: the claim lapses)."""
    with contextlib.suppress(RedisError):
        await redis.eval(RELEASE, 1, _source_key(source), holder)


@contextlib.asynccontextmanager
async def source_claimed(redis: Redis, source: str, holder: str) -> AsyncIterator[None]:
    await claim_source(redis, source, holder, CLAIM_TTL_MS)
    try:
        yield
    finally:
        await release_source(redis, source, holder)


SWEPT = 100  # unfinished scans looked at per sweep, the oldest first


async def live_scans(redis: Redis, ids: Collection[str]) -> set[str]:
    """Those of the scans ``ids`` whose process holds their lease (it runs, and records its
    own end); all of them when Redis cannot tell, so that no running scan is ended under it."""
    ids = sorted(ids)
    if not ids:
        return set()
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for scan_id in ids:
                pipe.exists(_lease_key(scan_id))
            held = await pipe.execute()
    except RedisError as err:
        log.warning("scans %s taken for running, Redis is unavailable: %s", ids, err)
        return set(ids)
    return {scan_id for scan_id, lease in zip(ids, held, strict=True) if lease}


async def end_stopped(
    driver: AsyncDriver, database: str, redis: Redis, lapsed: Collection[str] = ()
) -> tuple[list[str], set[str]]:
    """End ``failed`` the scans whose process stopped before ending them (their lease
    lapsed): a voided one at once (never taken over); any other once it was without a lease
    at the previous sweep too (``lapsed``), a lease earlier, and no scan took it over since
    (``datawave scan`` may still: graph/scans.py ``RESUMABLE``). Before, a scan ``startScan``
    started read ``running`` for ever once its process died. The ids ended, and those without
    a lease now (the next sweep's ``lapsed``); none while Redis cannot tell (``live_scans``)."""
    unfinished = await all_unfinished(driver, database, SWEPT)
    stopped = set(unfinished) - await live_scans(redis, unfinished)
    due = {i for i in stopped if unfinished[i] or i in lapsed}
    ended = await end_stopped_scans(driver, database, due) if due else []
    return ended, stopped - set(ended)


async def sweep_stopped_scans(
    driver: AsyncDriver, database: str, redis: Redis, every_s: float
) -> None:
    """``end_stopped`` every ``every_s`` (a lease's lapse) until cancelled (the ingest worker
    runs it); a failure is logged and the next round tries again."""
    lapsed: set[str] = set()
    while True:
        try:
            ended, lapsed = await end_stopped(driver, database, redis, lapsed)
            if ended:
                log.warning("ended scans whose process stopped: %s", ", ".join(ended))
        except Exception as err:  # best effort, like the heartbeat: never the worker's end
            log.warning("stopped scans not swept: %s", in_words(err))
        await asyncio.sleep(every_s)


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
    """Run one scan to the end (finished or failed) and return its last progress. Without a
    ``scan_id``, a scan of ``source`` whose process died is taken over (resumed)."""
    async with Redis.from_url(settings.redis_url, socket_timeout=RECORD_S) as redis:
        first = ScanProgress(scan_id or str(uuid.uuid4()), source, "validate")
        scan = _Scan(settings, driver, first, on_progress, redis)
        return await scan.run(ingest_timeout_s, may_take_over=scan_id is None)


class _Scan:
    """One scan's state across its attempts: progress, acknowledgements, interruptions."""

    def __init__(
        self, settings: Settings, driver: AsyncDriver, first: ScanProgress,
        on_progress: ProgressCallback, redis: Redis,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.driver = driver
        self.progress = first
        self.on_progress = on_progress
        self.redis = redis
        self.acks = _Acks()
        self.interruptions = 0
        self._outage: str | None = None  # in words, while interrupted
        self._working = first.stage  # the stage the outage interrupted

    @property
    def _db(self) -> str:
        return self.settings.neo4j.database

    async def report(self, progress: ScanProgress) -> None:
        self.progress = progress
        await self.acks.save(self.redis, progress.scan_id)
        await self.on_progress(progress)

    @property
    def _lease_ms(self) -> int:
        return int(self.settings.resilience.heartbeat_s * 3000)

    async def _hold_lease(self) -> None:
        """Say this process runs the scan, and holds its source, until cancelled (a lapsed
        lease: it died)."""
        while True:
            scan_id, source = self.progress.scan_id, self.progress.source
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.set(_lease_key(scan_id), "1", px=self._lease_ms)
                    pipe.set(_source_key(source), scan_id, px=self._lease_ms)
                    await pipe.execute()
            except RedisError as err:
                log.debug("scan lease not renewed: %s", err)
            await asyncio.sleep(self.settings.resilience.heartbeat_s)

    async def run(self, ingest_timeout_s: float, may_take_over: bool) -> ScanProgress:
        source = self.progress.source
        try:  # before the source is read: an unregistration holds it until it is gone
            await claim_source(self.redis, source, self.progress.scan_id, self._lease_ms)
        except SourceBusy as busy:
            return await self._end(replace(self.progress, stage="failed", error=f"refused: {busy}"))
        if may_take_over and (orphan := await self.retried(partial(self._orphan, source))):
            scan_id, self.acks = orphan
            log.warning("scan %s of %s: taken over from a process that stopped", scan_id, source)
            await self.retried(lambda: reopen_scan(self.driver, self._db, scan_id))
            self.progress = replace(self.progress, scan_id=scan_id)
            await self._interrupted(Outage("scan", TAKEN_OVER))  # resumed at its next step
        lease = asyncio.create_task(self._hold_lease())
        try:
            return await self._run(ingest_timeout_s)
        finally:
            lease.cancel()
            with contextlib.suppress(RedisError):
                await self.redis.delete(_lease_key(self.progress.scan_id))
            await release_source(self.redis, source, self.progress.scan_id)

    async def _orphan(self, source: str) -> tuple[str, _Acks] | None:
        """The newest unfinished scan of ``source`` whose process died (no lease) and that
        had acknowledgements kept, with them; None if there is none or Redis cannot tell."""
        try:
            for scan_id in await resumable_scans(self.driver, self._db, source):
                if await self.redis.exists(_lease_key(scan_id)):
                    continue  # it runs elsewhere
                acks = await _Acks.load(self.redis, scan_id)
                if acks.targets:
                    return scan_id, acks
        except RedisError as err:
            log.warning("scan of %s: no takeover, Redis is unavailable: %s", source, err)
        return None

    async def _run(self, ingest_timeout_s: float) -> ScanProgress:
        scan_id, source = self.progress.scan_id, self.progress.source
        try:
            config = await self.retried(lambda: registered(self.settings, self.driver, source))
        except ScanError as err:  # unregistered since startScan recorded the scan: it fails
            await self._end(replace(self.progress, stage="failed", error=str(err)))
            raise
        await self.retried(
            lambda: start_scan(self.driver, self._db, scan_id, source, source_urn(source))
        )
        await self.report(self.progress)
        try:
            async with guarded(self.settings.redis_url, source, self.settings.resilience):
                missing = await self.retried(lambda: self._discover(config))
            await self._await_ingest(ingest_timeout_s)
            if missing:  # written first: the graph has marked their tables removed
                one = len(missing) == 1
                raise ScanError(
                    f"configured database{'' if one else 's'} {', '.join(missing)} not found "
                    f"on {config.target} (dropped or renamed?): {'its' if one else 'their'} "
                    f"tables are marked removed. Fix the source's databases if that is not "
                    f"what you meant."
                )
            ended = replace(self.progress, stage="finished", target=None)
        except Exception as err:
            message = str(err) if isinstance(err, ScanError) else in_words(err)
            ended = replace(self.progress, stage="failed", error=message)
        return await self._end(ended)

    async def _end(self, ended: ScanProgress) -> ScanProgress:
        """Record and report the scan's outcome (its :Scan node, when it has one)."""
        scan_id = ended.scan_id
        self.progress = ended
        await self.retried(
            lambda: finish_scan(
                self.driver, self._db, scan_id, status=ended.stage, stage=ended.stage,
                events=ended.events, tables=ended.tables, columns=ended.columns,
                error=ended.error, interruptions=self.interruptions,
                warnings=[w[:MAX_WARNING_CHARS] for w in ended.warnings[:MAX_WARNINGS]],
                warningCount=len(ended.warnings),
            )
        )  # fmt: skip
        await self.report(ended)
        return ended

    async def retried(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, an outage reported as an interruption and waited out for
        ``SCAN_RETRY_S``; past that a ScanError says which outage (SourceUnreachable when
        it is the source's, so its breaker counts it)."""

        async def attempt() -> T:
            try:
                result = await call()
            except Exception as err:
                if is_outage(err):
                    await self._interrupted(err)
                raise
            await self._resumed()
            return result

        give_up_s = self.settings.resilience.scan_retry_s
        try:
            return await wait_out(
                attempt, self.settings.resilience, "scan", give_up_after_s=give_up_s
            )
        except Exception as err:
            if not is_outage(err):
                raise
            failure = SourceUnreachable if isinstance(err, SourceOutage) else ScanError
            raise failure(
                f"interrupted: {in_words(err)}, and not back within {give_up_s:.0f}s"
            ) from err

    async def _interrupted(self, err: BaseException) -> None:
        words = in_words(err)
        if words == self._outage:
            return
        if self._outage is None:
            self.interruptions += 1
            self._working = self.progress.stage
        self._outage = words
        interrupted = replace(
            self.acks.counted(self.progress), stage="interrupted", target=None,
            error=f"{words}; the scan resumes when it is back",
        )  # fmt: skip
        await self.report(interrupted)
        await self._record(status="interrupted", stage="interrupted", error=interrupted.error)

    async def _resumed(self) -> None:
        if self._outage is None:
            return
        self._outage = None
        await self.report(replace(self.progress, stage="resumed", error=None))
        await self._record(status="resumed", stage="resumed", error=None)
        self.progress = replace(self.progress, stage=self._working)

    async def _record(self, **props: object) -> None:
        """Best effort: when the graph is what is down, the scan's end records the outcome."""
        try:
            await asyncio.wait_for(
                update_scan(
                    self.driver, self._db, self.progress.scan_id,
                    interruptions=self.interruptions, **props,
                ),
                RECORD_S,
            )  # fmt: skip
        except Exception as err:
            if not (is_outage(err) or isinstance(err, TimeoutError)):
                raise
            log.info("scan %s: %s not recorded (%s)", self.progress.scan_id, props, err)

    async def _discover(self, config: DataSourceConfig) -> list[str]:
        """One attempt at discovery, after what the broker acknowledged: stream the
        connector's events to Kafka; return the configured databases the server lacks."""
        acks = self.acks
        self.progress = replace(acks.counted(self.progress), stage="discover", error=None)
        pending: list[Sent] = []
        last_report = 0.0

        async def settle() -> None:
            await asyncio.gather(*(delivery for *_, delivery in pending))
            for sent in pending:
                acks.add(sent)
            pending.clear()

        # The workers consume the first of their topics; that is where discovery goes.
        topic = self.settings.ingest.topics[0]
        access = SourceAccess.from_settings(self.settings)
        try:
            async with (
                connector_for(config, access) as connector,
                EventProducer(self.settings.kafka, topic) as producer,
            ):
                listed = 0  # the source check's own failures; any after it are failed targets
                async for event in connector.discover(self.progress.scan_id, acks.tables.keys()):
                    data = event.data
                    check = data if isinstance(data, SourceChecked) else None
                    if check and check.status == "unreachable" and acks.targets:
                        raise SourceOutage(config.name)  # it answered earlier in this scan
                    if check and check.status == "reachable":
                        listed = len(connector.report.failures)
                        self.progress = replace(self.progress, expected_tables=_expected(check))
                        await self._resumed()
                    if (event.type, event.subject) in acks.targets:
                        continue
                    columns = len(data.columns) if isinstance(data, TableDiscovered) else 0
                    sent = (event.type, event.subject, columns, await producer.send_event(event))
                    sent[3].add_done_callback(partial(acks.delivered, sent))
                    pending.append(sent)
                    self._sent(event.type, event.subject, columns)
                    if check and check.status == "unreachable":
                        await settle()
                        raise SourceUnreachable(f"source {config.name} unreachable: {check.error}")
                    if len(pending) >= CHECK_EVERY:
                        await settle()
                    if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                        last_report = time.monotonic()
                        await self.report(self.progress)
                await producer.flush()
                await settle()
                self.progress = replace(self.progress, warnings=tuple(connector.report.failures))
                if connector.report.failures[listed:] and not await _answers(connector):
                    raise SourceOutage(config.name)
        finally:  # the producer has stopped, so every delivery is settled: what the broker
            # acknowledged before a failure, even while it stopped, is not sent again
            for sent in pending:
                if sent[3].done() and not sent[3].cancelled() and not sent[3].exception():
                    acks.add(sent)
        self.progress = replace(self.progress, stage="ingest", target=None)
        return connector.report.missing

    def _sent(self, kind: str, subject: str, columns: int) -> None:
        p = self.progress
        p = replace(p, events=p.events + 1)
        if kind == TABLE_DISCOVERED:
            p = replace(p, tables=p.tables + 1, columns=p.columns + columns, target=subject)
        self.progress = p

    async def _await_ingest(self, timeout_s: float) -> None:
        await self.report(self.progress)
        admin = AIOKafkaAdminClient(**self.settings.kafka.client_options())
        await admin.start()
        deadline = time.monotonic() + timeout_s
        ingest = self.settings.ingest
        try:
            committed_offsets = partial(_committed, admin, ingest.group_id, ingest.topics[0])
            while True:
                committed = await self.retried(committed_offsets)
                done, complete = self.acks.offsets.ingested(committed)
                self.progress = replace(self.progress, stage="ingest", ingested=done)
                if complete:
                    return
                if time.monotonic() > deadline:
                    raise ScanError(
                        f"ingest did not finish within {timeout_s:.0f}s ({done}/"
                        f"{self.progress.events} events written): is an ingest worker running "
                        f"(datawave ingest)?"
                    )
                await self.report(self.progress)
                await asyncio.sleep(PROGRESS_EVERY_S)
        finally:
            await admin.close()


async def _answers(connector: Connector[Any]) -> bool:
    """Whether the source answers now (after targets failed: a cut, or their own errors)."""
    return (await connector.validate()).status == "reachable"


def _expected(check: SourceChecked) -> int:
    return sum(check.counts.get(k, 0) for k in ("tables", "views", "collections"))


async def check_source(settings: Settings, driver: AsyncDriver, source: str) -> SourceChecked:
    """``validate()`` a registered source without scanning it."""
    config = await registered(settings, driver, source)
    async with connector_for(config, SourceAccess.from_settings(settings)) as connector:
        return await connector.validate()
