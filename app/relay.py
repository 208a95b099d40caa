"""The change relay: catalog changes from Kafka to the cache, live subscribers and search.

Writers (the ingest worker, the classifier) publish ``datawave.asset.changed.v1`` events to
``datawave.changes.v1`` after their graph transaction commits. One consumer group shared by all
API replicas relays each change once: it invalidates the Redis cache and broadcasts to every
replica's ``catalogChanges`` subscribers (``publish_catalog_change``), then refreshes the
changed tables in OpenSearch from the graph. Offsets are committed after both.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import TopicPartition

from app.changes import CatalogChange, ChangeType, catalog_change, publish_catalog_change
from app.search import ensure_index, reindex
from app.state import AppState
from ingest.events import ASSET_CHANGED, AssetChanged, InvalidEvent, parse_event
from ingest.topics import CHANGES

log = logging.getLogger("datawave.relay")
GROUP = "datawave-api-relay"


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


class ChangeRelay:
    def __init__(self, state: AppState, *, topic: str = CHANGES, group_id: str = GROUP) -> None:
        self.state = state
        self.stats = RelayStats()
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=state.settings.kafka.bootstrap_servers,
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
        await ensure_index(self.state.opensearch)
        await self._consumer.start()
        try:
            while True:
                batch = await self._consumer.getmany(timeout_ms=500, max_records=500)
                records = [r for rs in batch.values() for r in rs]
                if records:
                    await self._relay(records)
                    await self._consumer.commit(
                        {TopicPartition(tp.topic, tp.partition): rs[-1].offset + 1
                         for tp, rs in batch.items()}
                    )  # fmt: skip
        finally:
            await self._consumer.stop()

    async def _relay(self, records: list[ConsumerRecord]) -> None:
        changes, skipped = changes_of(records)
        state = self.state
        await publish_catalog_change(state.redis, *changes)
        tables = sorted({c.urn for c in changes if c.kind == "table"})
        if tables:
            await reindex(state.opensearch, state.neo4j, state.settings.neo4j.database, tables)
        self.stats.changes += len(changes)
        self.stats.skipped += skipped
        self.stats.batches += 1


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
