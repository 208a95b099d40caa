"""Containment: databases, schemas, tables and columns, foreign keys, and soft deletes.

Every node is merged on its URN under ``:Asset`` (the unique constraint) and labelled by the
URN's kind, so a placeholder made for an edge that arrived first is completed, not duplicated,
by its discovery. Until then it is also ``:Unresolved``: a table or column something refers to
that no scan has found (not discovered yet, dropped, or in no registered source), kept out of
asset lists and counts and flagged on lineage. Placeholders are labelled and named only when
created: any SET on an existing node takes its write lock, and on a shared parent (a schema)
that would serialise the workers.
Timestamps come from events; stale snapshots are filtered out before they get here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, LiteralString

import orjson
from neo4j import AsyncManagedTransaction

from core.events import (
    ColumnInfo,
    ColumnProfile,
    ContainerDiscovered,
    ContainerScanned,
    Event,
    TableDiscovered,
)
from core.urns import Urn, column_urns, source_urn
from graph.driver import Record, fetch, write_rows
from graph.timestamps import event_stamp, event_time

NO_PROFILE = ColumnProfile()
# Tables per UPSERT_TABLES statement: each brings its columns, so fewer than CHUNK rows.
TABLE_CHUNK = 100

# A database or schema (``n``, under its parent ``p``): a discovery after its removal brings it
# back and leaves its event id (``restoredBy``), so applied again (a replayed batch) it returns
# the containers it brought back that are still live; both are announced as added.
_UPSERT_CONTAINER = """
MERGE (n:Asset {urn: row.urn})
WITH p, n, row, coalesce(n.removedAt <= row.time, false) AS back,
     coalesce(n.removedAt IS NULL AND n.restoredBy = row.eventId, false) AS again
SET n:{label}, n.name = row.name, n.nameLower = toLower(row.name), n.source = row.source,
    n.lastSeenAt = CASE WHEN n.lastSeenAt > row.time THEN n.lastSeenAt ELSE row.time END,
    n.removedAt = CASE WHEN n.removedAt > row.time THEN n.removedAt END,
    n.restoredBy = CASE WHEN back THEN row.eventId ELSE n.restoredBy END
MERGE (p)-[:CONTAINS]->(n)
WITH n WHERE back OR again
RETURN n.urn AS urn
"""
UPSERT_DATABASES = """
UNWIND $rows AS row
MERGE (p:DataSource {urn: row.parent})
ON CREATE SET p.name = row.parentName""" + _UPSERT_CONTAINER.replace("{label}", "Database")
UPSERT_SCHEMAS = """
UNWIND $rows AS row
MERGE (p:Asset {urn: row.parent})
ON CREATE SET p:Database, p.name = row.parentName, p.nameLower = toLower(row.parentName),
    p.source = row.source""" + _UPSERT_CONTAINER.replace("{label}", "Schema")
# Tables with their columns in one statement: one lookup per table, not one per column. A table
# removed by a later scan stays removed when an older snapshot is applied. A snapshot that adds
# the table (new to the graph, or back after removal) leaves its event id as ``addedBy`` (set
# first, from the state before), so that snapshot replayed announces it added again. The
# schema's CONTAINS edge is created, not merged: MERGE would lock the (dense) schema node until
# commit and make workers wait for each other, while the SET before the check holds the
# table's lock, so no other transaction can be adding the same edge. A column comes as a list,
# in the order of ``_column``: 10^5 maps would repeat their keys 10^5 times on the wire and in
# both parsers.
UPSERT_TABLES = """
UNWIND $rows AS row
MERGE (s:Asset {urn: row.schema})
ON CREATE SET s:Schema, s.name = row.schemaName, s.nameLower = toLower(row.schemaName),
    s.source = row.source
MERGE (t:Asset {urn: row.urn})
REMOVE t:Unresolved
SET t.addedBy = CASE WHEN t.lastSeenAt IS NULL OR t.removedAt IS NOT NULL THEN row.eventId
                     ELSE t.addedBy END,
    t:Table, t.name = row.name, t.nameLower = toLower(row.name), t.source = row.source,
    t.schemaUrn = row.schema, t.kind = row.kind, t.rowCount = row.rowCount,
    t.rowCountExact = row.rowCountExact, t.sizeBytes = row.sizeBytes,
    t.description = row.description,
    t.descriptionLower = toLower(coalesce(t.curatedDescription, row.description)),
    t.viewSql = row.viewSql, t.primaryKey = row.primaryKey, t.indexes = row.indexes,
    t.firstSeenAt = coalesce(t.firstSeenAt, datetime(row.time)),
    t.lastSeenAt = datetime(row.time), t.lastEventId = row.eventId, t.contentDigest = row.digest,
    t.removedAt = CASE WHEN t.removedAt > datetime(row.time) THEN t.removedAt END
WITH s, t, row
CALL (s, t) {
  WITH s, t WHERE NOT EXISTS { (t)<-[:CONTAINS]-(s) }
  CREATE (s)-[:CONTAINS]->(t)
}
WITH t, row
UNWIND row.columns AS col
MERGE (c:Asset {urn: col[0]})
REMOVE c:Unresolved
SET c:Column, c.name = col[1], c.nameLower = toLower(col[1]), c.source = row.source,
    c.dataType = col[2], c.nullable = col[3], c.default = col[4], c.ordinal = col[5],
    c.isPrimaryKey = col[6], c.nullRatio = col[7],
    c.distinctCount = col[8], c.min = col[9], c.max = col[10],
    c.removedAt = t.removedAt
MERGE (t)-[:HAS_COLUMN]->(c)
"""
# A live table whose snapshot says what the graph holds (the same digest) only moves its last
# sighting: a rescan that finds nothing new writes two properties per table, not every column.
TOUCH_UNCHANGED = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.urn})
WHERE t.contentDigest = row.digest AND t.removedAt IS NULL
SET t.lastSeenAt = datetime(row.time), t.lastEventId = row.eventId
RETURN t.urn AS urn
"""
# Only a table applied before can have columns its new snapshot lacks.
RETIRE_COLUMNS = """
UNWIND $rows AS row
MATCH (:Asset {urn: row.urn})-[:HAS_COLUMN]->(c)
WHERE c.removedAt IS NULL AND NOT c.urn IN [col IN row.columns | col[0]]
SET c.removedAt = datetime(row.time)
"""
# Either end may not be discovered yet (the referenced table comes later): a placeholder.
UPSERT_REFERENCES = """
UNWIND $rows AS row
MERGE (a:Asset {urn: row.from})
ON CREATE SET a:Column, a.name = row.fromName, a.nameLower = toLower(row.fromName),
    a.source = row.source
MERGE (b:Asset {urn: row.to})
ON CREATE SET b:Column:Unresolved, b.name = row.toName, b.nameLower = toLower(row.toName),
    b.source = row.toSource
MERGE (a)-[r:REFERENCES {constraint: row.constraint}]->(b)
"""
PRUNE_REFERENCES = """
UNWIND $rows AS row
MATCH (:Asset {urn: row.urn})-[:HAS_COLUMN]->(a)-[r:REFERENCES]->(b)
WHERE NOT [a.urn, b.urn, r.constraint] IN row.keys
DELETE r
"""
ENSURE_TABLES = """
UNWIND $rows AS row
MERGE (t:Asset {urn: row.urn})
ON CREATE SET t:Table:Unresolved, t.name = row.name, t.nameLower = toLower(row.name),
    t.source = row.source
"""
ENSURE_COLUMNS = """
UNWIND $rows AS row
MERGE (c:Asset {urn: row.urn})
ON CREATE SET c:Column:Unresolved, c.name = row.name, c.nameLower = toLower(row.name),
    c.source = row.source
"""


def _listed(node: LiteralString) -> LiteralString:
    """Whether ``node`` lies in the URN range the listing (or the part of it) covers."""
    return (
        "(row.after IS NULL OR " + node + ".urn > row.after)"
        " AND (row.until IS NULL OR " + node + ".urn <= row.until)"
    )


# What a complete listing did not list is gone: tables of a scanned schema, the tables of a
# scanned database's schemas, the tables of a scanned source's databases. Unless discovered after
# the scan, they are removed with the columns that were live; the earliest removal time wins, so
# replays change nothing. Returns the tables whose removal time was set (announced as removed),
# and, for the listing applied again (a replayed batch), the tables it removed that are still
# removed by it (``removedBy``: its event id), written nothing. A listing in parts
# (core/events.py ``listing_parts``) removes, per part, only within its range.
SOFT_DELETE = (
    """
UNWIND $rows AS row
CALL (row) {
  MATCH (:Asset {urn: row.urn})-[:CONTAINS]->(t:Table)
  WHERE NOT t.urn IN row.children AND {t_listed}
  RETURN t
  UNION
  MATCH (:Asset {urn: row.urn})-[:CONTAINS]->(s:Schema)-[:CONTAINS]->(t:Table)
  WHERE NOT s.urn IN row.children AND {s_listed}
  RETURN t
  UNION
  MATCH (:DataSource {urn: row.urn})-[:CONTAINS]->(d:Database)-[:CONTAINS]->(:Schema)
        -[:CONTAINS]->(t:Table)
  WHERE NOT d.urn IN row.children AND {d_listed}
  RETURN t
}
WITH t, row, t.removedAt AS was,
     coalesce(t.removedAt = row.time AND t.removedBy = row.eventId, false) AS again
WHERE (t.lastSeenAt IS NULL OR t.lastSeenAt < row.time)
  AND (was IS NULL OR was > row.time OR again)
CALL (t, row, was, again) {
  WITH * WHERE NOT again
  SET t.removedAt = row.time, t.removedBy = row.eventId
  WITH t, row, was
  MATCH (t)-[:HAS_COLUMN]->(c)
  WHERE c.removedAt IS NULL OR c.removedAt = was
  SET c.removedAt = row.time
}
RETURN DISTINCT t.urn AS urn
""".replace("{t_listed}", _listed("t"))
    .replace("{s_listed}", _listed("s"))
    .replace("{d_listed}", _listed("d"))
)
# The schemas and databases themselves, on the same terms; discovering them again restores them.
# Returns the containers whose removal time was set, and, for the listing applied again (a
# replayed batch), those it removed that are still removed by it (``removedBy``), written nothing:
# announced as removed, beside their tables (one per schema or database the graph holds).
RETIRE_CONTAINERS = """
UNWIND $rows AS row
CALL (row) {
  MATCH (:Asset {urn: row.urn})-[:CONTAINS]->(gone:Schema)
  WHERE NOT gone.urn IN row.children AND {gone_listed}
  RETURN gone
  UNION
  MATCH (:DataSource {urn: row.urn})-[:CONTAINS]->(d:Database)-[:CONTAINS]->{0,1}(gone:Asset)
  WHERE NOT d.urn IN row.children AND {d_listed} AND (gone:Database OR gone:Schema)
  RETURN gone
}
WITH gone, row,
     coalesce(gone.removedAt = row.time AND gone.removedBy = row.eventId, false) AS again
WHERE (gone.lastSeenAt IS NULL OR gone.lastSeenAt < row.time)
  AND (gone.removedAt IS NULL OR gone.removedAt > row.time OR again)
CALL (gone, row, again) {
  WITH * WHERE NOT again
  SET gone.removedAt = row.time, gone.removedBy = row.eventId
}
RETURN DISTINCT gone.urn AS urn
""".replace("{gone_listed}", _listed("gone")).replace("{d_listed}", _listed("d"))
# Listed tables come back, with exactly the columns that were removed together with them; the
# listing leaves its event id (``restoredBy``), so applied again (a replayed batch) it returns
# the tables it brought back that are still live, written nothing.
RESTORE = """
UNWIND $rows AS row
UNWIND row.children AS child
MATCH (t:Asset {urn: child})
WHERE t:Table
  AND (t.removedAt <= row.time OR t.removedAt IS NULL AND t.restoredBy = row.eventId)
WITH t, row, t.removedAt AS was
CALL (t, row, was) {
  WITH * WHERE was IS NOT NULL
  SET t.removedAt = null, t.restoredBy = row.eventId
  WITH t, was
  MATCH (t)-[:HAS_COLUMN]->(c)
  WHERE c.removedAt = was
  SET c.removedAt = null
}
RETURN DISTINCT t.urn AS urn
"""


def _identity(urn: str) -> dict[str, str]:
    parsed = Urn.parse(urn)
    return {"urn": urn, "name": parsed.name, "source": parsed.source}


async def ensure_assets(tx: AsyncManagedTransaction, urns: Iterable[str]) -> None:
    """Placeholders for tables and columns an edge names before their discovery arrives.

    They get no containment edges: only a discovery says what a table contains, so a column
    that a view names but its table lacks never shows up among the table's columns.
    """
    rows: dict[str, list[dict[str, str]]] = {"table": [], "column": []}
    for urn in sorted(set(urns)):
        rows[Urn.parse(urn).kind].append(_identity(urn))
    await write_rows(tx, ENSURE_TABLES, rows["table"])
    await write_rows(tx, ENSURE_COLUMNS, rows["column"])


def container_row(e: Event) -> Record:
    data: ContainerDiscovered = e.data
    return {
        **_identity(e.subject),
        "kind": data.kind,
        "name": data.name,
        "parent": data.parent_urn,
        "parentName": Urn.parse(data.parent_urn).name,
        "time": event_time(e),
        "eventId": e.id,
    }


async def upsert_containers(tx: AsyncManagedTransaction, rows: Sequence[Record]) -> list[str]:
    """Write discovered databases and schemas; return those brought back after their removal
    (``_UPSERT_CONTAINER``), for the announcements. Rows are a batch's: a few per event."""
    back: list[str] = []
    for query, kind in ((UPSERT_DATABASES, "database"), (UPSERT_SCHEMAS, "schema")):
        if kept := [r for r in rows if r["kind"] == kind]:
            back += [r["urn"] for r in await fetch(tx, query, rows=kept)]
    return back


@dataclass(frozen=True)
class TableRows:
    """A table snapshot as query rows: the table with its columns, and its foreign keys."""

    table: Record
    references: list[Record]


def _column(c: ColumnInfo, urn: str, primary: bool) -> list[Any]:
    """``col[0]`` ... ``col[10]`` of UPSERT_TABLES."""
    profile = c.profile or NO_PROFILE
    return [
        urn, c.name, c.data_type, c.nullable, c.default, c.ordinal, primary,
        profile.null_ratio, profile.distinct_count, profile.min, profile.max,
    ]  # fmt: skip


def _digest(table: Record, references: list[Record]) -> str:
    """Of everything a snapshot writes to containment but when and by which event."""
    content = {k: v for k, v in table.items() if k not in ("time", "eventId")}
    text = orjson.dumps([content, references], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def table_rows(e: Event) -> TableRows:
    """Everything a snapshot writes to containment, built without the graph."""
    data: TableDiscovered = e.data
    source = Urn.parse(e.subject).source
    primary = set(data.primary_key)
    urns = column_urns(e.subject, (c.name for c in data.columns))
    columns = [_column(c, u, c.name in primary) for c, u in zip(data.columns, urns, strict=True)]
    table = {
        "urn": e.subject,
        "name": data.name,
        "source": source,
        "schema": data.schema_urn,
        "schemaName": Urn.parse(data.schema_urn).name,
        "kind": data.kind,
        "rowCount": data.row_count,
        "rowCountExact": data.row_count_exact,
        "sizeBytes": data.size_bytes,
        "description": data.description,
        "viewSql": data.view_sql,
        "primaryKey": data.primary_key,
        "indexes": json.dumps([i.model_dump() for i in data.indexes]),
        "columns": columns,
        "time": event_stamp(e),  # ISO text, as every time a table's rows carry
        "eventId": e.id,
    }
    references = [
        {
            "from": a,
            "fromName": col,
            "source": source,
            "to": b,
            "toName": ref,
            "toSource": Urn.parse(fk.ref_table_urn).source,
            "constraint": fk.name,
        }
        for fk in data.foreign_keys
        for a, col, b, ref in zip(
            column_urns(e.subject, fk.columns),
            fk.columns,
            column_urns(fk.ref_table_urn, fk.ref_columns),
            fk.ref_columns,
            strict=True,
        )
    ]
    table["digest"] = _digest(table, references)
    return TableRows(table, references)


async def touch_unchanged(
    tx: AsyncManagedTransaction, snapshots: Sequence[TableRows], existing: Set[str]
) -> set[str]:
    """Move the last sighting of the live ``existing`` tables whose snapshot is what the graph
    holds (``TOUCH_UNCHANGED``); return them: they need nothing else written or read."""
    seen = [
        {k: s.table[k] for k in ("urn", "digest", "time", "eventId")}
        for s in snapshots
        if s.table["urn"] in existing
    ]
    return {r["urn"] for r in await fetch(tx, TOUCH_UNCHANGED, rows=seen)} if seen else set()


async def upsert_tables(
    tx: AsyncManagedTransaction, snapshots: Sequence[TableRows], existing: Set[str]
) -> int:
    """Write table snapshots (at most one per table); return the number of columns written.

    ``existing``: tables applied before this batch; the others have no columns to retire and no
    foreign keys to prune, so those queries skip them.
    """
    tables = [s.table for s in snapshots]
    replaced = [s for s in snapshots if s.table["urn"] in existing]
    await write_rows(tx, UPSERT_TABLES, tables, chunk=TABLE_CHUNK)
    await write_rows(tx, RETIRE_COLUMNS, [s.table for s in replaced], chunk=TABLE_CHUNK)
    await write_rows(tx, UPSERT_REFERENCES, [r for s in snapshots for r in s.references])
    await write_rows(
        tx,
        PRUNE_REFERENCES,
        [
            {
                "urn": s.table["urn"],
                "keys": [[r["from"], r["to"], r["constraint"]] for r in s.references],
            }
            for s in replaced
        ],
    )
    return sum(len(t["columns"]) for t in tables)


def scan_row(e: Event) -> Record:
    data: ContainerScanned = e.data
    return {
        "urn": e.subject,
        "children": data.children,
        "after": data.after,
        "until": data.until,
        "time": event_time(e),
        "eventId": e.id,
        "source": source_urn(Urn.parse(e.subject).source),
    }


@dataclass(frozen=True)
class ScanOutcome:
    """Tables a batch's container scans removed, tables they listed again (restored), and the
    schemas and databases they removed (``retired``)."""

    removed: list[str]
    restored: list[str]
    retired: list[str] = field(default_factory=list)


async def apply_scans(tx: AsyncManagedTransaction, rows: Sequence[Record]) -> ScanOutcome:
    """Soft-delete what a complete listing (of a schema, database or source) no longer lists;
    restore the tables a schema listing lists again. A listing applied again returns what it
    removed (tables, schemas, databases) and restored the first time, as far as it still
    stands, for the announcements."""
    if not rows:
        return ScanOutcome([], [])
    removed = await fetch(tx, SOFT_DELETE, rows=rows)
    retired = await fetch(tx, RETIRE_CONTAINERS, rows=rows)
    restored = await fetch(tx, RESTORE, rows=rows)
    return ScanOutcome(
        [r["urn"] for r in removed], [r["urn"] for r in restored], [r["urn"] for r in retired]
    )
