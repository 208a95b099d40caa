"""Write a batch of discovery events in one transaction: all of it lands, or none of it.

``prepare`` turns each event into the rows it writes without the graph, so the worker can
prepare the next batch while this one is written; ``apply_prepared`` writes them. Events are
applied in rounds in which each subject appears once, in its arrival order, so a batch holding
two scans of one table writes both versions just as two batches would. Within a round,
containers go before tables, tables before versions and lineage, and scans last.

A batch also says what it changed, for the announcements on ``datawave.changes.v1``: a table new
to the graph (or back after removal) is ``added``; one seen before is ``changed`` only if a
property, its column layout or its column profiles differ from what the graph held, with those
fields; a rescan that finds a table as it was changes nothing and announces nothing. A snapshot
applied again (a batch replayed after a crash, whose announcement may be lost) is ``changed``
without fields, or ``added`` again if that snapshot added the table (its ``addedBy``). A
container scan announces the tables it removed or brought back and the schemas and databases
it removed with their tables (``removed``), and a discovery a database or schema it brought
back (``added``), again when applied again, as far as that still stands (graph/assets.py
``apply_scans``, ``upsert_containers``). OpenLineage events change the ``lineage``
of the tables and datasets their runs read or wrote, and the facets of the datasets they
describe (graph/runs.py ``touched``); a dataset a scan adopts as a table is ``removed``,
replaced by it, and the assets its lineage led to ``changed`` their ``lineage``
(graph/adoption.py), again whenever that snapshot is applied again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from neo4j import AsyncDriver, AsyncManagedTransaction

from core.checks import check_event
from core.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    OPENLINEAGE,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    Event,
)
from graph import adoption, assets, lineage, runs, sources, versions
from graph.driver import fetch
from graph.scans import write_unvoided
from graph.snapshots import Snapshot, snapshot

ROWS: dict[str, Callable[[Event], Any]] = {
    SOURCE_CHECKED: sources.checked_row,
    CONTAINER_DISCOVERED: assets.container_row,
    TABLE_DISCOVERED: snapshot,
    CONTAINER_SCANNED: assets.scan_row,
    OPENLINEAGE: runs.rows,
}


# Table properties a snapshot writes that a reader sees change (GraphQL field names).
TABLE_FIELDS = (
    "kind", "rowCount", "rowCountExact", "sizeBytes", "description", "viewSql", "primaryKey",
    "indexes",
)  # fmt: skip
# What the graph held for the tables of a round before it is written: tables a snapshot was
# applied to, with their announced properties and the profiles of their live columns.
BEFORE = """
UNWIND $urns AS urn
MATCH (t:Asset {urn: urn})
WHERE t.lastSeenAt IS NOT NULL
RETURN urn, t.lastEventId AS lastEventId, t.addedBy AS addedBy,
       t.removedAt IS NOT NULL AS removed,
       t {.kind, .rowCount, .rowCountExact, .sizeBytes, .description, .viewSql, .primaryKey,
          .indexes} AS props,
       COLLECT { MATCH (t)-[:HAS_COLUMN]->(c) WHERE c.removedAt IS NULL
                 RETURN [c.urn, c.nullRatio, c.distinctCount, c.min, c.max] } AS profiles
"""


@dataclass(frozen=True)
class Change:
    """A table (or an OpenLineage dataset) a batch added, changed (``fields``: what differs)
    or removed, or a schema or database it removed or brought back, for announcements."""

    type: str  # added, changed, removed
    urn: str
    fields: tuple[str, ...] = ()
    replaced_by: str | None = None  # the table a scan adopted a removed dataset as


@dataclass
class BatchStats:
    """What one batch wrote; ``tables`` counts fresh snapshots (stale ones are skipped);
    ``removed`` and ``restored`` are the tables its container scans removed or brought back;
    ``changes`` every table and dataset it added, changed or removed (restored: added), and
    every schema and database it removed or brought back, in the order written."""

    events: int = 0
    tables: int = 0
    columns: int = 0
    versions: int = 0
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    voided: int = 0  # events of scans an unregistration voided, dropped


@dataclass(frozen=True)
class Prepared:
    """An event and its rows (a ``Snapshot`` for a table, else one query row)."""

    event: Event
    rows: Any

    @property
    def subject(self) -> str:
        return self.event.subject


def scan_of(prepared: Prepared) -> str | None:
    """The scan that sent a discovery event, if it says (OpenLineage events have none)."""
    return getattr(prepared.event.data, "scan_id", None)


class _Subject(Protocol):
    @property
    def subject(self) -> str: ...


S = TypeVar("S", bound=_Subject)


def prepare(event: Event) -> Prepared:
    """The rows of one event; ``InvalidEvent`` if its URNs do not fit its type."""
    check_event(event)
    return Prepared(event, ROWS[event.type](event))


def rounds(items: Sequence[S]) -> list[list[S]]:
    """Split items so each subject occurs at most once per round, keeping each one's order."""
    out: list[list[S]] = []
    seen: dict[str, int] = defaultdict(int)
    for item in items:
        i = seen[item.subject]
        seen[item.subject] += 1
        if i == len(out):
            out.append([])
        out[i].append(item)
    # A stable order of writes makes two workers touching shared nodes less likely to deadlock.
    return [sorted(r, key=lambda item: item.subject) for r in out]


def _profiles_differ(before: list[list[Any]], s: Snapshot) -> bool:
    """Whether a column both had changed its profile (null ratio, distinct count, min, max);
    columns added or removed are a change of ``columns``."""
    old = {p[0]: p[1:] for p in before}
    new = {col[0]: list(col[7:11]) for col in s.rows.table["columns"]}
    return any(old[urn] != new[urn] for urn in old.keys() & new.keys())


def reapplied(s: Snapshot, added_by: str | None) -> Change:
    """A snapshot applied again (a replayed batch): what it changed then is unknown, but the
    one that added the table (``added_by``) added it."""
    return Change("added" if added_by == s.event.id else "changed", s.urn)


def changes_of(
    fresh: Sequence[Snapshot], new_layout: set[str], before: dict[str, Any]
) -> list[Change]:
    """What applying ``fresh`` snapshots changes: ``before`` holds the ``BEFORE`` row of each
    table seen earlier; ``new_layout`` the tables that get a new schema version."""
    out = []
    for s in fresh:
        row = before.get(s.urn)
        if row is None or row["removed"]:
            out.append(Change("added", s.urn))
            continue
        if row["lastEventId"] == s.event.id:
            out.append(reapplied(s, row["addedBy"]))
            continue
        props, table = row["props"], s.rows.table
        fields = [f for f in TABLE_FIELDS if props.get(f) != table[f]]
        if s.urn in new_layout:
            fields.append("columns")
        if _profiles_differ(row["profiles"], s):
            fields.append("profiles")
        if fields:
            out.append(Change("changed", s.urn, tuple(fields)))
    return out


async def _apply_round(
    tx: AsyncManagedTransaction, items: list[Prepared], stats: BatchStats
) -> None:
    rows: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        rows[item.event.type].append(item.rows)
    await sources.upsert_checked(tx, rows[SOURCE_CHECKED])
    restored = await assets.upsert_containers(tx, rows[CONTAINER_DISCOVERED])
    stats.changes += [Change("added", urn) for urn in restored]
    snapshots: list[Snapshot] = rows[TABLE_DISCOVERED]
    states = await versions.read_states(tx, [s.urn for s in snapshots])
    fresh, new_versions = versions.plan(snapshots, states)
    existing = {urn for urn, state in states.items() if state.last_seen is not None}
    unchanged = await assets.touch_unchanged(tx, [s.rows for s in fresh], existing)
    changed = [s for s in fresh if s.urn not in unchanged]
    seen = [s.urn for s in changed if s.urn in existing]
    before = {r["urn"]: r for r in await fetch(tx, BEFORE, urns=seen)} if seen else {}
    stats.changes += changes_of(changed, {v["table"] for v in new_versions}, before)
    # An unchanged snapshot applied again (a replayed batch) is announced again all the same.
    stats.changes += [
        reapplied(s, states[s.urn].added_by)
        for s in fresh
        if s.urn in unchanged and states[s.urn].last_event == s.event.id
    ]
    # So is the one that added a table, even when a later one of it in its batch made it stale.
    applied = {s.urn for s in fresh}
    stats.changes += [
        Change("added", s.urn)
        for s in snapshots
        if s.urn not in applied and s.urn in states and states[s.urn].added_by == s.event.id
    ]
    stats.columns += await assets.upsert_tables(tx, [s.rows for s in changed], existing)
    new = {s.urn: s.event.id for s in fresh if s.urn not in existing}
    # The snapshot that adopted datasets applied again (a replay): announced again.
    again = [s.urn for s in snapshots if s.urn in states and states[s.urn].adopted_by == s.event.id]
    for adopted in (await adoption.adopt(tx, new), await adoption.replayed(tx, again)):
        stats.changes += [Change("removed", d, replaced_by=t) for d, t in adopted.replaced.items()]
        stats.changes += [Change("changed", urn, ("lineage",)) for urn in adopted.neighbours]
    await versions.write_versions(tx, new_versions)
    await lineage.upsert_lineage(tx, [s.lineage for s in fresh], existing)
    scans = await assets.apply_scans(tx, rows[CONTAINER_SCANNED])
    stats.removed += scans.removed
    stats.restored += scans.restored
    # In the order written, beside the snapshots' changes: what a batch announces follows it.
    stats.changes += [Change("removed", urn) for urn in scans.removed + scans.retired]
    stats.changes += [Change("added", urn) for urn in scans.restored]
    await sources.mark_scanned(tx, rows[CONTAINER_SCANNED])
    stats.tables += len(fresh)
    stats.versions += len(new_versions)


async def _apply(tx: AsyncManagedTransaction, items: Sequence[Prepared]) -> BatchStats:
    # Built inside the transaction function: the driver may run it again on a transient error.
    stats = BatchStats(events=len(items))
    for r in rounds([i for i in items if i.event.type != OPENLINEAGE]):
        await _apply_round(tx, r, stats)
    # OpenLineage events fold into one write however many there are of a job (graph/runs.py),
    # after the tables they may name; they change the lineage of the tables and datasets their
    # jobs read and write, and the facets of the datasets they describe.
    touched = await runs.apply_events(tx, [i.rows for i in items if i.event.type == OPENLINEAGE])
    stats.changes += [Change("changed", urn, fields) for urn, fields in touched.items()]
    return stats


async def apply_prepared(
    driver: AsyncDriver,
    database: str,
    items: Sequence[Prepared],
    *,
    ran: asyncio.Event | None = None,
) -> BatchStats:
    """Write prepared events in one write transaction; raises the driver's error if it fails.
    The events of scans an unregistration voided are dropped (``BatchStats.voided``), checked
    in the transaction itself (graph/scans.py ``write_unvoided``).

    ``ran`` is set once every statement has run, when only the commit is left to do.
    """
    if not items:
        return BatchStats()

    async def kept(tx: AsyncManagedTransaction, voided: set[str]) -> BatchStats:
        return await _apply(tx, [item for item in items if scan_of(item) not in voided])

    sent_by = {i for item in items if (i := scan_of(item))}
    stats, voided = await write_unvoided(driver, database, sent_by, kept, ran=ran)
    stats.voided = sum(1 for item in items if scan_of(item) in voided)
    return stats


async def apply_batch(driver: AsyncDriver, database: str, events: Sequence[Event]) -> BatchStats:
    """Upsert parsed events in one write transaction; raises ``InvalidEvent`` before writing if
    an event's URNs do not fit its type, and the driver's error if the transaction fails."""
    return await apply_prepared(driver, database, [prepare(e) for e in events])
