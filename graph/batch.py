"""Write a batch of discovery events in one transaction: all of it lands, or none of it.

Events are applied in rounds in which each subject appears once, in its arrival order, so a
batch holding two scans of one table writes both versions just as two batches would. Within a
round, containers go before tables, tables before versions and lineage, and scans last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph import assets, lineage, sources, versions
from ingest.checks import check_event
from ingest.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    Event,
)


@dataclass
class BatchStats:
    """What one batch wrote; ``tables`` counts fresh snapshots (stale ones are skipped)."""

    events: int = 0
    tables: int = 0
    columns: int = 0
    versions: int = 0


def rounds(events: Sequence[Event]) -> list[list[Event]]:
    """Split events so each subject occurs at most once per round, keeping each one's order."""
    out: list[list[Event]] = []
    seen: dict[str, int] = defaultdict(int)
    for e in events:
        i = seen[e.subject]
        seen[e.subject] += 1
        if i == len(out):
            out.append([])
        out[i].append(e)
    # A stable order of writes makes two workers touching shared nodes less likely to deadlock.
    return [sorted(r, key=lambda e: e.subject) for r in out]


async def _apply_round(tx: AsyncManagedTransaction, events: list[Event], stats: BatchStats) -> None:
    by_type: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_type[e.type].append(e)
    await sources.upsert_checked(tx, by_type[SOURCE_CHECKED])
    await assets.upsert_containers(tx, by_type[CONTAINER_DISCOVERED])
    tables = by_type[TABLE_DISCOVERED]
    states = await versions.read_states(tx, [e.subject for e in tables])
    fresh, new_versions = versions.plan(tables, states)
    stats.columns += await assets.upsert_tables(tx, fresh)
    await versions.write_versions(tx, new_versions)
    await lineage.upsert_lineage(tx, fresh)
    await assets.apply_scans(tx, by_type[CONTAINER_SCANNED])
    await sources.mark_scanned(tx, by_type[CONTAINER_SCANNED])
    stats.tables += len(fresh)
    stats.versions += len(new_versions)


async def _apply(tx: AsyncManagedTransaction, events: Sequence[Event]) -> BatchStats:
    # Built inside the transaction function: the driver may run it again on a transient error.
    stats = BatchStats(events=len(events))
    for r in rounds(events):
        await _apply_round(tx, r, stats)
    return stats


async def apply_batch(driver: AsyncDriver, database: str, events: Sequence[Event]) -> BatchStats:
    """Upsert parsed events in one write transaction; raises ``InvalidEvent`` before writing if
    an event's URNs do not fit its type, and the driver's error if the transaction fails."""
    for e in events:
        check_event(e)
    if not events:
        return BatchStats()
    async with driver.session(database=database) as session:
        return await session.execute_write(_apply, events)
