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
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from core.events import TABLE_DISCOVERED, Event, InvalidEvent, TableDiscovered, parse_event
from core.outages import wait_out
from core.sample_cipher import SampleCipher, UnreadableSamples
from core.settings import KafkaSettings, ResilienceSettings
from core.urns import Urn, column_urn, source_urn
from graph import anomalies as graph_anomalies
from graph.labels import ColumnLabels
from graph.scans import voided_scans
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
        events = await self._without_voided(events)
        if await self.service.use_active_model():  # one read per batch: fit ran elsewhere
            log.info("classifying with model %s from now on", self.service.model_id)
        per_event = [columns_of(e) for e in events]
        labeled = await self.service.classify_columns([c for cs in per_event for c in cs])
        found = await self._anomalies(events, per_event, labeled)
        if found:
            await producer.publish_many(found)
        self.stats.batches += 1
        self.stats.tables += len(events)
        self.stats.columns += len(labeled)
        self.stats.labels += sum(len(c.labels) for c in labeled)
        self.stats.anomalies += len(found)
        log.info("batch of %d tables in %.2fs", len(events), time.perf_counter() - started)

    async def _without_voided(self, events: list[Event]) -> list[Event]:
        """``events`` but those of scans their source's unregistration voided, dropped as the
        ingest worker drops them (graph/scans.py): classified, they labelled the removed columns
        and created those no worker wrote, live again under a source that no longer exists."""
        ids = {i for e in events if (i := e.data.scan_id)}
        if not ids:
            return events
        voided = await voided_scans(self.service.driver, self.service.database, ids)
        kept = [e for e in events if e.data.scan_id not in voided]
        if dropped := len(events) - len(kept):
            log.info("dropped %d tables of scans voided by unregistrations", dropped)
            self.stats.voided += dropped
        return kept

    async def _anomalies(
        self, events: list[Event], per_event: list[list[ColumnInput]], labeled: list[ColumnLabels]
    ) -> list[Event]:
        """Compare each table with its baseline, record anomalies and move the baseline."""
        if not events:
            return []
        db = self.service.database
        baselines = {
            s["urn"]: s
            for s in await graph_anomalies.snapshots(
                self.service.driver, db, [e.subject for e in events]
            )
        }
        rows, published = [], []
        offset = 0
        for event, columns in zip(events, per_event, strict=True):
            mine = labeled[offset : offset + len(columns)]
            offset += len(columns)
            base = baselines.get(event.subject)
            if base and base["at"].to_native() > event.time:
                continue  # an old event replayed: the baseline has moved past it
            current = profile_of(event, mine, self.sensitive)
            previous = TableProfile.from_snapshot(base) if base else None
            found = detect(
                previous,
                current,
                null_ratio_jump=self.cfg.null_ratio_jump,
                row_count_drop=self.cfg.row_count_drop,
            )
            rows.append(
                {
                    "snapshot": snapshot(current, event),
                    "anomalies": [anomaly_row(a, event) for a in found],
                }
            )
            published += [anomaly_event(a, event) for a in found]
        await graph_anomalies.record(self.service.driver, db, rows)
        return published


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
