"""Schema history: a ``:SchemaVersion`` per distinct column layout a table has had, in order.

Deciding what to write is pure (``plan``) so it is unit-tested; the graph only supplies each
table's last applied snapshot time and current version. A snapshot older than the last applied
one is stale (a replay or a late duplicate) and changes nothing, which makes replays idempotent.
Layouts and fingerprints are computed with a snapshot's other rows, before the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from neo4j import AsyncManagedTransaction

from core.urns import Urn, version_urn
from graph.driver import Record, fetch, write_rows
from graph.layouts import Signature, diff, dumps
from graph.snapshots import Snapshot

READ_STATES = """
UNWIND $urns AS urn
MATCH (t:Asset {urn: urn})
OPTIONAL MATCH (t)-[:CURRENT_VERSION]->(v:SchemaVersion)
RETURN urn, t.lastSeenAt AS lastSeenAt, t.lastEventId AS lastEventId, v.version AS version,
       v.fingerprint AS fingerprint, v.columns AS columns, t.adoptedBy AS adoptedBy,
       t.addedBy AS addedBy
"""
# Called with at most one version per table, so moving CURRENT_VERSION is unambiguous.
WRITE_VERSIONS = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.table})
MERGE (v:SchemaVersion {urn: row.urn})
SET v.name = row.name, v.source = row.source, v.version = row.version,
    v.fingerprint = row.fingerprint, v.capturedAt = datetime(row.capturedAt),
    v.columns = row.columns, v.diff = row.diff, t.fingerprint = row.fingerprint
MERGE (t)-[:HAS_VERSION]->(v)
WITH t, v
OPTIONAL MATCH (t)-[old:CURRENT_VERSION]->(previous)
WHERE previous <> v
DELETE old
WITH DISTINCT t, v
MERGE (t)-[:CURRENT_VERSION]->(v)
"""


@dataclass(frozen=True)
class TableState:
    """What the graph holds for one table before this batch."""

    last_seen: datetime | None = None
    last_event: str | None = None
    version: int = 0
    fingerprint: str | None = None
    columns: Signature = field(default_factory=list)
    adopted_by: str | None = None  # the snapshot that adopted datasets as it (graph/adoption.py)
    added_by: str | None = None  # the snapshot that added it (graph/assets.py UPSERT_TABLES)


def _stale(event_id: str, time: datetime, state: TableState) -> bool:
    """Older than the applied snapshot, or as old but another event: the first one applied wins
    a tie, so replaying both cannot flip the table between them."""
    if state.last_seen is None:
        return False
    return time < state.last_seen or (time == state.last_seen and event_id != state.last_event)


def plan(
    snapshots: Sequence[Snapshot], states: dict[str, TableState]
) -> tuple[list[Snapshot], list[Record]]:
    """Split table snapshots into the fresh ones to apply and the versions they create.

    ``snapshots`` hold at most one per table (the batch applies them in rounds).
    """
    fresh: list[Snapshot] = []
    versions: list[Record] = []
    for s in snapshots:
        state = states.get(s.urn, TableState())
        if _stale(s.event.id, s.time, state):
            continue
        fresh.append(s)
        if s.layout.fingerprint == state.fingerprint:
            continue
        n = state.version + 1
        versions.append(
            {
                "table": s.urn,
                "urn": version_urn(s.urn, n),
                "name": f"{s.event.data.name} v{n}",
                "source": Urn.parse(s.urn).source,
                "version": n,
                "fingerprint": s.layout.fingerprint,
                "capturedAt": s.time.isoformat(),
                "columns": s.layout.columns,
                "diff": dumps(diff(state.columns, s.layout.signature)),
            }
        )
    return fresh, versions


async def read_states(tx: AsyncManagedTransaction, urns: Sequence[str]) -> dict[str, TableState]:
    if not urns:
        return {}
    states = {}
    for r in await fetch(tx, READ_STATES, urns=list(urns)):
        last_seen = r["lastSeenAt"]
        states[r["urn"]] = TableState(
            last_seen=last_seen.to_native() if last_seen is not None else None,
            last_event=r["lastEventId"],
            version=r["version"] or 0,
            fingerprint=r["fingerprint"],
            columns=json.loads(r["columns"]) if r["columns"] else [],
            adopted_by=r["adoptedBy"],
            added_by=r["addedBy"],
        )
    return states


async def write_versions(tx: AsyncManagedTransaction, rows: Sequence[Record]) -> None:
    await write_rows(tx, WRITE_VERSIONS, rows)
