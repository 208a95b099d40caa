"""The change relay: catalog changes from Kafka to the cache, live subscribers and search.

Writers (the ingest worker, the classifier) publish ``datawave.asset.changed.v1`` events to
``datawave.changes.v1`` after their graph transaction commits. One consumer group shared by all
API replicas relays each change once: it invalidates the Redis cache and broadcasts to every
replica's ``catalogChanges`` subscribers (``publish_catalog_change``) as soon as it is read,
as it does with the classifier's anomalies for ``anomalies`` subscribers,
and refreshes the changed tables in OpenSearch from the graph behind the broadcasts, in a task
of its own: a search refresh (up to OpenSearch's 1 s refresh interval) never holds up the next
broadcast. A batch's offsets are committed, in order, once it is both broadcast and indexed.
A Redis or OpenSearch outage is waited out with backoff (core/outages.py) where it struck, so
the relay keeps its place; any other failure restarts it from the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from core.events import ASSET_CHANGED, AssetChanged, InvalidEvent, parse_event
from core.outages import wait_out
from core.topics import CHANGES
from core.urns import Urn
from ingest.offsets import commit_offsets, commit_owned
from live.changes import (
    Anomaly,
    CatalogChange,
    ChangeType,
    catalog_change,
    publish_anomalies,
    publish_catalog_change,
)
from live.search import ensure_index, reindex
from live.state import AppState
from ml.anomalies import ANOMALY_EVENT

log = logging.getLogger("datawave.relay")
GROUP = "datawave-api-relay"
# Batches broadcast but not yet indexed; beyond this, reading waits for the indexer.
INDEX_BACKLOG = 8

Offsets = dict[TopicPartition, int]


@dataclass
class RelayStats:
    changes: int = 0
    skipped: int = 0
    batches: int = 0


def changes_of(records: list[ConsumerRecord]) -> tuple[list[CatalogChange], int]:
    """Catalog changes in these records, and how many records were not asset changes."""
    changes, skipped = [], 0
    for record in records:
        try:
            event = parse_event(record.value)
        except InvalidEvent:
            skipped += 1  # other event types share the topic (e.g. anomalies)
            continue
        if event.type != ASSET_CHANGED or not isinstance(event.data, AssetChanged):
            skipped += 1
            continue
        change = ChangeType(event.data.change)
        changes.append(catalog_change(change, event.subject, event.data.fields))
    return changes, skipped


def anomalies_of(records: list[ConsumerRecord]) -> list[Anomaly]:
    """The classifier's anomaly events in these records (they share the topic), with the
    source named by each event; one of another shape is skipped."""
    found = []
    for record in records:
        try:
            event = json.loads(record.value or b"")
            if not isinstance(event, dict) or event.get("type") != ANOMALY_EVENT:
                continue
            source = Urn.parse(event["source"]).source
            found.append(Anomaly.model_validate(event["data"] | {"source": source}))
        except (ValueError, TypeError, KeyError, ValidationError) as err:
            log.warning("skipped an anomaly event: %s", err)
    return found


class ChangeRelay:
    def __init__(self, state: AppState, *, topic: str = CHANGES, group_id: str = GROUP) -> None:
        self.state = state
        self.stats = RelayStats()
        self._consumer = AIOKafkaConsumer(
            topic,
            **state.settings.kafka.client_options(),
            client_id=f"{state.settings.kafka.client_id}-relay",
            group_id=group_id,
            enable_auto_commit=False,
            # A new group starts from the oldest retained change: re-indexing and invalidating
            # are idempotent, and assets written before the first API start get indexed.
            auto_offset_reset="earliest",
        )

    def ready(self) -> bool:
        """Partitions are assigned: changes published from now on will be relayed."""
        return bool(self._consumer.assignment())

    async def run(self) -> RelayStats:
        state = self.state
        await ensure_index(state.opensearch, state.neo4j, state.settings.neo4j.database)
        await self._consumer.start()
        try:
            backlog: asyncio.Queue[tuple[set[str], Offsets]] = asyncio.Queue(INDEX_BACKLOG)
            async with asyncio.TaskGroup() as tasks:  # one failing stops both
                tasks.create_task(self._broadcast(backlog))
                tasks.create_task(self._index(backlog))
        finally:
            await self._consumer.stop()
        return self.stats

    async def _broadcast(self, backlog: asyncio.Queue[tuple[set[str], Offsets]]) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            changes, skipped = changes_of(records)
            publish = partial(self._publish, changes, anomalies_of(records))
            await wait_out(publish, self.state.settings.resilience, "relay")
            self.stats.changes += len(changes)
            self.stats.skipped += skipped
            self.stats.batches += 1
            tables = {c.urn for c in changes if c.kind == "table"}
            await backlog.put((tables, commit_offsets(records)))

    async def _publish(self, changes: list[CatalogChange], anomalies: list[Anomaly]) -> None:
        await publish_catalog_change(self.state.redis, *changes)
        await publish_anomalies(self.state.redis, *anomalies)

    async def _index(self, backlog: asyncio.Queue[tuple[set[str], Offsets]]) -> None:
        state = self.state
        while True:
            tables, offsets = await backlog.get()
            while not backlog.empty():  # broadcast while the last refresh ran: one refresh
                more_tables, more_offsets = backlog.get_nowait()
                tables |= more_tables
                offsets |= more_offsets  # later batches have the later offsets
            if tables:
                db = state.settings.neo4j.database
                await wait_out(
                    partial(reindex, state.opensearch, state.neo4j, db, sorted(tables)),
                    state.settings.resilience,
                    "relay",
                )
            await commit_owned(self._consumer, offsets)


async def run_relay(state: AppState) -> None:
    """Keep relaying until cancelled; a failure is logged and retried, never fatal to the API."""
    while True:
        try:
            await ChangeRelay(state).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("change relay failed; restarting in 2 s")
            await asyncio.sleep(2)
