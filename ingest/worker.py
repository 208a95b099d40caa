"""The ingest worker: consume discovery events in batches, write each batch to Neo4j in one
transaction, then commit the offsets (offset + 1 per partition), never before.

Batches are pipelined so that Neo4j, the worker's Python and Kafka work side by side instead
of taking turns: while one batch is written, the next is polled, parsed and prepared
(``graph.batch.prepare``) in a thread, and the previous one is settled on Kafka (dead letters
confirmed, changes announced, offsets committed, in batch order). If a rebalance moves a
partition meanwhile, its prepared records are still written (writes are idempotent and stale
snapshots are skipped) but their offsets are left to the new owner.

Invalid records go to the dead-letter topic with their reason and original bytes, so they never
block a partition. A batch whose write fails is split in halves until the failing event is
alone, and that one is dead-lettered with the database's error. If Neo4j is unreachable no
event is to blame: the worker waits with capped, jittered backoff and writes the same batch again
(core/outages.py), committing nothing meanwhile. ``serve`` also waits out outages at start-up
and starts the worker again from its committed offsets if Kafka fails under it.
Any number of workers share the partitions of one consumer group.

The events of scans their source's unregistration voided are dropped in the batch's own
transaction (graph/batch.py); ``serve`` also ends the scans whose process stopped before
ending them and that no scan took over (ingest/scan.py ``sweep_stopped_scans``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import RecordMetadata
from neo4j import AsyncDriver
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired
from prometheus_client import Counter, Histogram, start_http_server
from redis.asyncio import Redis

from core.events import (
    ASSET_CHANGED,
    TABLE_DISCOVERED,
    InvalidEvent,
    make_event,
)
from core.outages import is_outage, wait_out
from core.settings import (
    IngestSettings,
    KafkaSettings,
    ResilienceSettings,
    Settings,
    load_settings,
)
from core.topics import ensure_topics
from core.urns import InvalidUrn, Urn, source_urn
from graph.batch import Change, Prepared, apply_prepared, prepare
from graph.driver import open_driver
from graph.migrations import apply_migrations
from ingest.announcements import merged
from ingest.heartbeat import beat
from ingest.offsets import commit_offsets, commit_owned
from ingest.openlineage.envelope import parse_record
from ingest.producer import MAX_REQUEST_BYTES, EventProducer
from ingest.scan import sweep_stopped_scans

log = logging.getLogger("datawave.ingest")

EVENTS = Counter("datawave_ingest_events_total", "Events consumed, by outcome", ["outcome"])
BATCHES = Counter("datawave_ingest_batches_total", "Batches written and committed")
BATCH_SECONDS = Histogram("datawave_ingest_batch_seconds", "Write and commit time per batch")

Item = tuple[ConsumerRecord, Prepared]
GC_THRESHOLD = 50_000  # allocations between young collections (Python's default: 700)


@dataclass
class WorkerStats:
    events_ok: int = 0
    dlq: int = 0
    voided: int = 0  # events of scans an unregistration voided, dropped
    batches: int = 0
    tables: int = 0
    columns: int = 0
    versions: int = 0


def dlq_headers(record: ConsumerRecord, reason: str, group_id: str) -> list[tuple[str, bytes]]:
    """Where the record came from and why it was rejected; the value itself stays unchanged."""
    return [
        ("dlq.reason", reason.encode()),
        ("dlq.topic", record.topic.encode()),
        ("dlq.partition", str(record.partition).encode()),
        ("dlq.offset", str(record.offset).encode()),
        ("dlq.group", group_id.encode()),
        *(record.headers or ()),
    ]


class DeadLetters:
    """Rejected records, queued on the dead-letter topic; ``confirm`` them before committing."""

    def __init__(self, producer: EventProducer, group_id: str) -> None:
        self._producer = producer
        self._group_id = group_id
        self._pending: list[asyncio.Future[RecordMetadata]] = []

    async def add(self, record: ConsumerRecord, reason: str) -> None:
        log.warning(
            "dead-letter %s-%d@%d: %s", record.topic, record.partition, record.offset, reason
        )
        headers = dlq_headers(record, reason, self._group_id)
        try:
            sent = await self._producer.send(record.value, record.key, headers=headers)
        except MessageSizeTooLargeError:
            # Too large even for the dead-letter topic: keep where to find it, drop the bytes.
            headers.append(("dlq.value-dropped", b"too large"))
            sent = await self._producer.send(None, record.key, headers=headers)
        self._pending.append(sent)
        EVENTS.labels("dlq").inc()

    async def confirm(self) -> int:
        """Wait until the broker has every queued record; return how many there were."""
        pending, self._pending = self._pending, []
        await asyncio.gather(*pending)
        return len(pending)


def decode(value: bytes | None) -> Prepared:
    """Parse, check and prepare one raw value (a CloudEvent, or a bare OpenLineage event as
    its Kafka transport sends it); ``InvalidEvent`` says why it cannot be written."""
    return prepare(parse_record(value))


@dataclass(frozen=True)
class Written:
    """What a write committed: the tables and datasets it added, changed or removed, in the
    order written (graph/batch.py ``BatchStats.changes``)."""

    changes: list[Change] = field(default_factory=list)

    def __add__(self, other: Written) -> Written:
        return Written(self.changes + other.changes)


@dataclass(frozen=True)
class Batch:
    """Polled records: the valid ones prepared, the others with the reason they are invalid."""

    records: list[ConsumerRecord]
    items: list[Item]
    invalid: list[tuple[ConsumerRecord, str]]


def prepare_batch(records: list[ConsumerRecord]) -> Batch:
    items, invalid = [], []
    for r in records:
        try:
            items.append((r, decode(r.value)))
        except InvalidEvent as err:
            invalid.append((r, str(err)))
    return Batch(records, items, invalid)


def independent(a: Batch, b: Batch) -> bool:
    """Whether ``b`` may be written while ``a`` commits: both hold table snapshots only, of
    different tables. Sources, containers and scans update shared nodes from what they read,
    which must include ``a``'s writes."""
    items = [*a.items, *b.items]
    if any(p.event.type != TABLE_DISCOVERED for _, p in items):
        return False
    return not {p.subject for _, p in a.items} & {p.subject for _, p in b.items}


@dataclass
class _Write:
    """A batch being written; ``ran`` once its statements ran and only its commit is left."""

    batch: Batch
    ran: asyncio.Event
    task: asyncio.Task[None] | None = None


class _FinishBatchFirst(ConsumerRebalanceListener):
    """Let the batches in flight be written and committed before their partitions move."""

    def __init__(self, lock: asyncio.Lock, finish: Callable[[], Awaitable[None]]) -> None:
        self._lock = lock
        self._finish = finish

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            await self._finish()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %s", sorted((tp.topic, tp.partition) for tp in assigned))


class Worker:
    """One consumer in the ingest group; ``run`` until ``stop`` (which finishes the batch)."""

    def __init__(
        self,
        cfg: IngestSettings,
        kafka: KafkaSettings,
        driver: AsyncDriver,
        database: str,
        resilience: ResilienceSettings | None = None,
    ) -> None:
        self.cfg = cfg
        self._resilience = resilience or ResilienceSettings()
        self.stats = WorkerStats()
        self._kafka = kafka
        self._driver = driver
        self._database = database
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()  # held while a write is started, or all are finished
        self._writes: deque[_Write] = deque()  # in flight, oldest first
        self._settling: asyncio.Task[None] | None = None  # the last written batch, on Kafka
        self.last_commit_at: float | None = None  # wall-clock time of the last offsets commit
        self._producer: EventProducer  # opened by run(): dead letters and change announcements
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            client_id=f"{kafka.client_id}-ingest",
            group_id=cfg.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=cfg.batch_size,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.session_timeout_ms // 4,
        )

    def stop(self) -> None:
        self._stopping.set()

    def assignment(self) -> set[TopicPartition]:
        return self._consumer.assignment()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    async def run(self) -> WorkerStats:
        listener = _FinishBatchFirst(self._lock, self._finish)
        self._consumer.subscribe(self.cfg.topics, listener=listener)
        async with EventProducer(self._kafka, self.cfg.dlq_topic) as producer:
            self._producer = producer
            dead = DeadLetters(producer, self.cfg.group_id)
            try:
                await self._consumer.start()  # closed below even if it fails half-way
                while not self._stopping.is_set():
                    records = await self._poll()
                    if records:
                        batch = await asyncio.to_thread(prepare_batch, records)
                        await self._start(dead, batch)
            finally:
                try:  # the batches in flight are finished and committed
                    await self._finish()
                finally:
                    await self._consumer.stop()
        log.info("stopped: %s", self.stats)
        return self.stats

    async def _poll(self) -> list[ConsumerRecord]:
        """Up to ``batch_size`` records, waiting at most ``batch_timeout_ms`` to fill the batch."""
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + self.cfg.batch_timeout_ms / 1000
        while len(records) < self.cfg.batch_size and not self._stopping.is_set():
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            fetched = await self._consumer.getmany(
                timeout_ms=remaining_ms, max_records=self.cfg.batch_size - len(records)
            )
            for partition_records in fetched.values():
                records.extend(partition_records)
        return records

    async def _start(self, dead: DeadLetters, batch: Batch) -> None:
        """Start writing ``batch`` as soon as it may: while the previous batch commits if the
        two are ``independent``, else after it. Two batches are in flight at most."""
        async with self._lock:
            if len(self._writes) == 2:
                await self._writes.popleft().task
            previous = self._writes[-1] if self._writes else None
            if previous and previous.task:
                if independent(previous.batch, batch):
                    ran = asyncio.create_task(previous.ran.wait())
                    await asyncio.wait([ran, previous.task], return_when=asyncio.FIRST_COMPLETED)
                    ran.cancel()
                else:
                    await previous.task
            write = _Write(batch, asyncio.Event())
            write.task = asyncio.create_task(
                self._handle(dead, write, previous.task if previous else None)
            )
            self._writes.append(write)

    async def _finish(self) -> None:
        """Wait until every batch in flight is written and settled."""
        while self._writes:
            write = self._writes.popleft()
            if write.task:
                await write.task
        await self._settled()

    async def _handle(
        self, dead: DeadLetters, write: _Write, previous: asyncio.Task[None] | None
    ) -> None:
        """Write a batch; once the previous one is settled (it had this write to finish), settle
        this one on Kafka in the background, so offsets are committed in order."""
        started = time.perf_counter()
        for record, reason in write.batch.invalid:
            await dead.add(record, reason)
        written = await self._write(dead, write.batch.items, write.ran)
        write.ran.set()
        if previous:
            await previous
        await self._settled()
        self._settling = asyncio.create_task(self._settle(dead, write.batch, written, started))

    async def _settle(
        self, dead: DeadLetters, batch: Batch, written: Written, started: float
    ) -> None:
        self.stats.dlq += await dead.confirm()
        await self._announce(written)
        await commit_owned(self._consumer, commit_offsets(batch.records))
        self.last_commit_at = time.time()
        self.stats.batches += 1
        BATCHES.inc()
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _settled(self) -> None:
        """Wait until the last written batch is settled; raise what went wrong there."""
        if self._settling:
            await self._settling

    async def _write(
        self, dead: DeadLetters, items: list[Item], ran: asyncio.Event | None = None
    ) -> Written:
        """Write ``items`` in one transaction, or bisect to dead-letter the event that fails."""
        if not items:
            return Written()
        prepared = [p for _, p in items]
        try:  # Neo4j unreachable: no event is to blame, wait and write the same batch again
            result = await wait_out(
                lambda: apply_prepared(self._driver, self._database, prepared, ran=ran),
                self._resilience,
                "ingest",
                self._stopping,
            )
        except (ServiceUnavailable, SessionExpired):
            raise
        except (Neo4jError, InvalidUrn) as err:
            # InvalidUrn: a name no URN can hold that the checks on the way in let through; it
            # is that event's fault as much as a constraint Neo4j refuses, not the batch's.
            if len(items) == 1:
                await dead.add(items[0][0], f"graph write failed: {err}")
                return Written()
            log.warning("batch of %d failed (%s); splitting", len(items), getattr(err, "code", err))
            middle = len(items) // 2
            return await self._write(dead, items[:middle]) + await self._write(dead, items[middle:])
        if result.voided:
            log.info("dropped %d events of scans voided by unregistrations", result.voided)
            EVENTS.labels("voided").inc(result.voided)
            self.stats.voided += result.voided
        self.stats.events_ok += len(items) - result.voided
        self.stats.tables += result.tables
        self.stats.columns += result.columns
        self.stats.versions += result.versions
        EVENTS.labels("ok").inc(len(items))
        return Written(result.changes)

    async def _announce(self, written: Written) -> None:
        """Tell the change relay which tables were added, changed or removed, and which
        datasets of their own a pipeline's run changed (their namespace stands for the source),
        after the graph commit and before the offsets commit (a crash in between replays the
        batch, which announces what it did again: graph/batch.py). Each asset is
        announced once, as the batch left it (ingest/announcements.py): a table a scan added
        and a run then wrote, as added; a dataset a scan adopted as a table, as removed and
        replaced by it."""
        changes = [
            make_event(ASSET_CHANGED, source_urn(Urn.parse(urn).source), urn, data)
            for urn, data in merged(written.changes).items()
        ]
        if changes:
            await self._producer.publish_many(changes, topic=self.cfg.changes_topic)


async def serve(settings: Settings) -> WorkerStats:
    """Run a worker until SIGTERM or SIGINT, with its own driver and topics in place. An outage
    of Neo4j or Kafka at start-up, or one that ends the worker, is waited out and the worker
    started again: it resumes from the group's committed offsets."""
    cfg = settings.ingest
    if cfg.metrics_port:
        start_http_server(cfg.metrics_port, addr=settings.host)
    stopping = asyncio.Event()
    current: list[Worker] = []

    def stop() -> None:
        stopping.set()
        for worker in current:
            worker.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    redis = Redis.from_url(settings.redis_url)
    heartbeat = asyncio.create_task(
        beat(
            redis,
            "ingest",
            lambda: current[0].consumer if current else None,
            lambda: current[0].last_commit_at if current else None,
            settings.resilience,
        )
    )

    async def run_once() -> WorkerStats:
        admin = AIOKafkaAdminClient(**settings.kafka.client_options())
        await admin.start()
        try:
            await ensure_topics(admin, settings.kafka.topic_partitions)
        finally:
            await admin.close()
        retry_s = cfg.neo4j_retry_s
        async with open_driver(settings.neo4j, max_transaction_retry_time=retry_s) as driver:
            await apply_migrations(driver, settings.neo4j.database)
            worker = Worker(
                cfg, settings.kafka, driver, settings.neo4j.database, settings.resilience
            )
            current[:] = [worker]
            if stopping.is_set():
                worker.stop()
            lapse_s = settings.resilience.heartbeat_s * 3  # a scan's lease
            sweep = asyncio.create_task(
                sweep_stopped_scans(driver, settings.neo4j.database, redis, lapse_s)
            )
            try:
                return await worker.run()
            finally:
                sweep.cancel()

    try:
        return await wait_out(run_once, settings.resilience, "ingest", stopping)
    except Exception as err:
        if not (stopping.is_set() and is_outage(err)):
            raise
        log.warning("stopped while waiting for %s; nothing was committed meanwhile", err)
        return current[0].stats if current else WorkerStats()
    finally:
        heartbeat.cancel()
        await redis.aclose()


def main(settings: Settings | None = None) -> WorkerStats:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # group chatter drowns our lines
    # A batch allocates hundreds of thousands of short-lived, acyclic objects (models, rows): at
    # the default threshold the cyclic collector would walk everything alive, batches included,
    # every few hundred of them. What start-up built is never garbage: keep it out of its way.
    gc.set_threshold(GC_THRESHOLD)
    gc.freeze()
    return asyncio.run(serve(settings or load_settings()))


if __name__ == "__main__":
    main()
