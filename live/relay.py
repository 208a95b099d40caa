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
the relay keeps its place, and so is a Kafka outage under a commit (committed once the broker is
back, not broadcast again); any other failure restarts it from the group's committed offsets.
While OpenSearch is away, broadcasting goes on: the tables to reindex merge into one set,
reindexed from the graph once it is back (the index catches up; nothing is committed before).
An index deleted while the relay runs is created again with its mapping and filled from the
graph at the next refresh (OpenSearch would otherwise create it with a mapping it guesses).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from core.events import ASSET_CHANGED, AssetChanged, InvalidEvent, parse_event
from core.outages import wait_out
from core.topics import CHANGES
from core.urns import Urn
from ingest.heartbeat import beat
from ingest.offsets import commit_in_time, commit_offsets
from live.changes import (
    Anomaly,
    CatalogChange,
    ChangeType,
    catalog_change,
    publish_anomalies,
    publish_catalog_change,
)
from live.search import INDEX, ensure_index, reindex_kept
from live.state import AppState
from ml.anomalies import ANOMALY_EVENT

log = logging.getLogger("datawave.relay")
GROUP = "datawave-api-relay"

Offsets = dict[TopicPartition, int]


class _Pending:
    """Tables broadcast but not yet reindexed, and the offsets to commit once they are: merged
    while the indexer works or waits, so it is bounded by the tables and partitions there are."""

    def __init__(self) -> None:
        self._tables: set[str] = set()
        self._offsets: Offsets = {}
        self._ready = asyncio.Event()

    def add(self, tables: set[str], offsets: Offsets) -> None:
        self._tables |= tables
        self._offsets |= offsets  # later batches have the later offsets
        self._ready.set()

    async def take(self) -> tuple[set[str], Offsets]:
        await self._ready.wait()
        self._ready.clear()
        taken = self._tables, self._offsets
        self._tables, self._offsets = set(), {}
        return taken


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
        data = event.data
        changes.append(catalog_change(change, event.subject, data.fields, data.replaced_by))
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
    def __init__(
        self, state: AppState, *, topic: str = CHANGES, group_id: str = GROUP, index: str = INDEX
    ) -> None:
        self.state = state
        self.index = index  # the search index it keeps
        self.stats = RelayStats()
        self.last_commit_at: float | None = None  # wall-clock time of the last offsets commit
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

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    def ready(self) -> bool:
        """Partitions are assigned: changes published from now on will be relayed."""
        return bool(self._consumer.assignment())

    async def run(self) -> RelayStats:
        try:
            # Inside the try: an app stopped while the consumer starts must still close it, or
            # its coordinator lives on in the group without rejoining, stalling every
            # rebalance of the other replicas' relays for up to max_poll_interval_ms.
            await self._consumer.start()
            pending = _Pending()
            async with asyncio.TaskGroup() as tasks:  # one failing stops both
                tasks.create_task(self._broadcast(pending))
                tasks.create_task(self._index(pending))
        finally:
            await self._consumer.stop()
        return self.stats

    async def _broadcast(self, pending: _Pending) -> None:
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
            pending.add({c.urn for c in changes if c.kind == "table"}, commit_offsets(records))

    async def _publish(self, changes: list[CatalogChange], anomalies: list[Anomaly]) -> None:
        await publish_catalog_change(self.state.redis, *changes)
        await publish_anomalies(self.state.redis, *anomalies)

    async def _index(self, pending: _Pending) -> None:
        state = self.state
        db = state.settings.neo4j.database
        resilience = state.settings.resilience
        index = partial(ensure_index, state.opensearch, state.neo4j, db, self.index)
        await wait_out(index, resilience, "relay")
        while True:
            tables, offsets = await pending.take()  # all broadcast since the last refresh
            if tables:  # an index deleted meanwhile is created and filled again
                refresh = partial(
                    reindex_kept, state.opensearch, state.neo4j, db, sorted(tables), self.index
                )
                await wait_out(refresh, resilience, "relay")
            if offsets:  # a broker away is waited out: committed late, never broadcast twice
                commit = partial(commit_in_time, self._consumer, offsets)
                await wait_out(commit, resilience, "relay")
                self.last_commit_at = time.time()


async def run_relay(state: AppState) -> None:
    """Keep relaying until cancelled; a failure is logged and retried, never fatal to the API.
    Its heartbeat (component ``relay``) tells /readyz its lag and the dependency it waits for."""
    current: list[ChangeRelay] = []
    heartbeat = asyncio.create_task(
        beat(
            state.redis,
            "relay",
            lambda: current[0].consumer if current else None,
            lambda: current[0].last_commit_at if current else None,
            state.settings.resilience,
        )
    )
    try:
        while True:
            current[:] = [ChangeRelay(state)]
            try:
                await current[0].run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("change relay failed; restarting in 2 s")
                await asyncio.sleep(2)
    finally:
        heartbeat.cancel()
