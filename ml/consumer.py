"""The classification consumer: discovery events in, labels and anomalies out.

It reads ``TableDiscovered`` events in batches as its own consumer group (independent of the
ingest worker), classifies every column of the batch at once, writes labels, compares each
table with its last profile, records and publishes anomalies, and only then commits offsets.
Invalid events are skipped here: the ingest worker already dead-letters them; so are those of
scans an unregistration voided, as the worker drops them (graph/scans.py). Column samples
arrive sealed and this is the one place that opens them (core/sample_cipher.py); a table whose
samples do not open is skipped and logged, its labels left as they are. A Neo4j or Kafka outage
is waited out (core/outages.py): the same batch is handled again once the dependency is back
(labels and anomalies are written by id, so nothing doubles), its offsets committed only then;
a commit that finds no broker is retried, so the batch is not delivered (classified) again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from neo4j import AsyncManagedTransaction

from core.events import TABLE_DISCOVERED, Event, InvalidEvent, TableDiscovered, parse_event
from core.outages import wait_out
from core.sample_cipher import SampleCipher, UnreadableSamples
from core.settings import KafkaSettings, ResilienceSettings
from core.urns import Urn, column_urn, source_urn
from graph import anomalies as graph_anomalies
from graph.labels import ColumnLabels, apply_labels_in
from graph.scans import write_unvoided
from ingest.offsets import commit_in_time, commit_offsets
from ingest.producer import MAX_REQUEST_BYTES, EventProducer
from ml.anomalies import ANOMALY_EVENT, Anomaly, TableProfile, detect
from ml.detectors import ColumnInput
from ml.service import ClassificationService
from ml.taxonomy import SENSITIVE

log = logging.getLogger("datawave.classify")


@dataclass
class ConsumerStats:
    batches: int = 0
    tables: int = 0
    columns: int = 0
    labels: int = 0
    anomalies: int = 0
    skipped: int = 0
    voided: int = 0  # tables of scans an unregistration voided, dropped


@dataclass
class Classified:
    """One table of a batch, classified and compared, ready to be written."""

    event: Event
    labels: list[ColumnLabels]
    profile: dict[str, object] | None = None  # its snapshot and anomalies (graph/anomalies.py)
    anomalies: list[Event] = field(default_factory=list)  # to publish once written


def columns_of(event: Event) -> list[ColumnInput]:
    table: TableDiscovered = event.data
    return [
        ColumnInput(
            column_urn(event.subject, c.name), c.name, c.data_type, table.name, "", tuple(c.samples)
        )
        for c in table.columns
    ]


def profile_of(
    event: Event, labeled: list[ColumnLabels], sensitive: frozenset[str]
) -> TableProfile:
    table: TableDiscovered = event.data
    urns = {c.name: column_urn(event.subject, c.name) for c in table.columns}
    return TableProfile(
        event.subject,
        table.row_count,
        {
            urns[c.name]: c.profile.null_ratio
            for c in table.columns
            if c.profile and c.profile.null_ratio is not None
        },
        frozenset(urns.values()),
        frozenset(
            c.urn
            for c in labeled
            if any(row.status == "suggested" and row.label in sensitive for row in c.labels)
        ),
    )


def snapshot(profile: TableProfile, event: Event) -> dict[str, object]:
    return {
        "urn": profile.urn,
        "rowCount": profile.row_count,
        "nullColumns": list(profile.null_ratios),
        "nullRatios": list(profile.null_ratios.values()),
        "columns": sorted(profile.columns),
        "sensitive": sorted(profile.sensitive),
        "at": event.time,
        "eventId": event.id,
    }


class ClassificationConsumer:
    def __init__(
        self,
        service: ClassificationService,
        kafka: KafkaSettings,
        resilience: ResilienceSettings | None = None,
    ) -> None:
        self.service = service
        self.resilience = resilience or ResilienceSettings()
        self.cfg = service.cfg
        self.kafka = kafka
        self.cipher = SampleCipher.from_settings(kafka)
        self.stats = ConsumerStats()
        self._stopping = asyncio.Event()
        self.last_commit_at: float | None = None  # wall-clock time of the last offsets commit
        self.sensitive = frozenset(
            name
            for name, label in service.classifier.taxonomy.items()
            if label.sensitivity in SENSITIVE
        )
        self._consumer = AIOKafkaConsumer(
            self.cfg.topic,
            **kafka.client_options(),
            client_id=f"{kafka.client_id}-classify",
            group_id=self.cfg.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.cfg.batch_size,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
        )

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> ConsumerStats:
        async with EventProducer(self.kafka, self.cfg.changes_topic) as producer:
            try:
                await self._consumer.start()  # closed below even if it fails half-way
                while not self._stopping.is_set():
                    batch = await self._consumer.getmany(
                        timeout_ms=self.cfg.batch_timeout_ms, max_records=self.cfg.batch_size
                    )
                    records = [r for rs in batch.values() for r in rs]
                    if records:
                        await self._wait_out(partial(self.handle, records, producer))
                        offsets = commit_offsets(records)
                        await self._wait_out(partial(commit_in_time, self._consumer, offsets))
                        self.last_commit_at = time.time()
            finally:
                await self._consumer.stop()
        log.info("stopped: %s", self.stats)
        return self.stats

    async def _wait_out(self, call: Callable[[], Awaitable[None]]) -> None:
        await wait_out(call, self.resilience, "classify", self._stopping)

    async def handle(self, records: list[ConsumerRecord], producer: EventProducer) -> None:
        started = time.perf_counter()
        events = []
        for r in records:
            try:
                event = self.cipher.open(parse_event(r.value))
            except InvalidEvent as err:
                if isinstance(err, UnreadableSamples):
                    log.warning("skipped %s: %s", r.key, err)
                self.stats.skipped += 1
                continue
            if event.type == TABLE_DISCOVERED:
                events.append(event)
        if await self.service.use_active_model():  # one read per batch: fit ran elsewhere
            log.info("classifying with model %s from now on", self.service.model_id)
        per_event = [columns_of(e) for e in events]
        labeled = await self.service.score_columns([c for cs in per_event for c in cs])
        written = await self._write(await self._classified(events, per_event, labeled))
        found = [a for c in written for a in c.anomalies]
        if found:
            await producer.publish_many(found)
        self.stats.batches += 1
        self.stats.tables += len(written)
        self.stats.columns += sum(len(c.labels) for c in written)
        self.stats.labels += sum(len(x.labels) for c in written for x in c.labels)
        self.stats.anomalies += len(found)
        log.info("batch of %d tables in %.2fs", len(written), time.perf_counter() - started)

    async def _write(self, classified: list[Classified]) -> list[Classified]:
        """Write the labels, profiles and anomalies of ``classified`` in one transaction, but
        those of scans their source's unregistration voided, dropped as the ingest worker drops
        them, checked in that transaction (graph/scans.py ``write_unvoided``): classified, they
        labelled the removed columns and created those no worker wrote, live again under a
        source that no longer exists. Checked before the transaction, an unregistration in
        between let them land. Returns those written."""
        ids = {i for c in classified if (i := c.event.data.scan_id)}
        at = datetime.now(UTC)

        async def write(tx: AsyncManagedTransaction, voided: set[str]) -> list[Classified]:
            kept = [c for c in classified if c.event.data.scan_id not in voided]
            await apply_labels_in(tx, [x for c in kept for x in c.labels], at)
            await graph_anomalies.record_in(tx, [c.profile for c in kept if c.profile])
            return kept

        db = self.service.database
        kept, _ = await write_unvoided(self.service.driver, db, ids, write)
        if dropped := len(classified) - len(kept):
            log.info("dropped %d tables of scans voided by unregistrations", dropped)
            self.stats.voided += dropped
        return kept

    async def _classified(
        self, events: list[Event], per_event: list[list[ColumnInput]], labeled: list[ColumnLabels]
    ) -> list[Classified]:
        """Each table with its labels, compared with its baseline: its new profile (none for an
        old event replayed: the baseline has moved past it) and the anomalies found."""
        if not events:
            return []
        db = self.service.database
        baselines = {
            s["urn"]: s
            for s in await graph_anomalies.snapshots(
                self.service.driver, db, [e.subject for e in events]
            )
        }
        classified = []
        offset = 0
        for event, columns in zip(events, per_event, strict=True):
            mine = labeled[offset : offset + len(columns)]
            offset += len(columns)
            base = baselines.get(event.subject)
            if base and base["at"].to_native() > event.time:
                classified.append(Classified(event, mine))
                continue
            current = profile_of(event, mine, self.sensitive)
            previous = TableProfile.from_snapshot(base) if base else None
            found = detect(
                previous,
                current,
                null_ratio_jump=self.cfg.null_ratio_jump,
                row_count_drop=self.cfg.row_count_drop,
            )
            profile = {
                "snapshot": snapshot(current, event),
                "anomalies": [anomaly_row(a, event) for a in found],
            }
            anomalies = [anomaly_event(a, event) for a in found]
            classified.append(Classified(event, mine, profile, anomalies))
        return classified


def anomaly_row(anomaly: Anomaly, event: Event) -> dict[str, object]:
    return {
        "id": anomaly.id(event.id),
        "kind": anomaly.kind,
        "subject": anomaly.subject,
        "subjectName": Urn.parse(anomaly.subject).name,
        "table": anomaly.table,
        "detail": anomaly.detail,
        "severity": anomaly.severity,
        "at": event.time,
        "eventId": event.id,
    }


def anomaly_event(anomaly: Anomaly, event: Event) -> Event:
    data = anomaly_row(anomaly, event) | {"at": event.time.isoformat()}
    return Event(
        source=source_urn(Urn.parse(event.subject).source),
        type=ANOMALY_EVENT,
        subject=anomaly.subject,
        data=data,
    )
