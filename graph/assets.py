"""Containment: databases, schemas, tables and columns, foreign keys, and soft deletes.

Every node is merged on its URN under ``:Asset`` (the unique constraint) and labelled by the
URN's kind, so a placeholder made for an edge that arrived first is completed, not duplicated,
by its discovery. Placeholders are labelled and named only when created: any SET on an existing
node takes its write lock, and on a shared parent (a schema) that would serialise the workers.
Timestamps come from events; stale snapshots are filtered out before they get here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from neo4j import AsyncManagedTransaction

from graph.driver import write_rows
from graph.timestamps import event_time
from ingest.events import ContainerDiscovered, ContainerScanned, Event, TableDiscovered
from ingest.urns import Urn, column_urn

UPSERT_DATABASES = """
UNWIND $rows AS row
MERGE (p:DataSource {urn: row.parent})
ON CREATE SET p.name = row.parentName
MERGE (d:Asset {urn: row.urn})
SET d:Database, d.name = row.name, d.source = row.source
MERGE (p)-[:CONTAINS]->(d)
"""
UPSERT_SCHEMAS = """
UNWIND $rows AS row
MERGE (p:Asset {urn: row.parent})
ON CREATE SET p:Database, p.name = row.parentName, p.source = row.source
MERGE (s:Asset {urn: row.urn})
SET s:Schema, s.name = row.name, s.source = row.source
MERGE (p)-[:CONTAINS]->(s)
"""
# A table removed by a later scan stays removed when an older snapshot is applied.
UPSERT_TABLES = """
UNWIND $rows AS row
MERGE (s:Asset {urn: row.schema})
ON CREATE SET s:Schema, s.name = row.schemaName, s.source = row.source
MERGE (t:Asset {urn: row.urn})
SET t:Table, t.name = row.name, t.source = row.source, t.kind = row.kind,
    t.rowCount = row.rowCount, t.rowCountExact = row.rowCountExact, t.sizeBytes = row.sizeBytes,
    t.description = row.description, t.viewSql = row.viewSql, t.primaryKey = row.primaryKey,
    t.indexes = row.indexes, t.firstSeenAt = coalesce(t.firstSeenAt, row.time),
    t.lastSeenAt = row.time, t.lastEventId = row.eventId,
    t.removedAt = CASE WHEN t.removedAt > row.time THEN t.removedAt END
MERGE (s)-[:CONTAINS]->(t)
"""
UPSERT_COLUMNS = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.table})
MERGE (c:Asset {urn: row.urn})
SET c:Column, c.name = row.name, c.source = row.source, c.dataType = row.dataType,
    c.nullable = row.nullable, c.default = row.default, c.ordinal = row.ordinal,
    c.isPrimaryKey = row.isPrimaryKey, c.nullRatio = row.nullRatio,
    c.distinctCount = row.distinctCount, c.min = row.min, c.max = row.max,
    c.removedAt = t.removedAt
MERGE (t)-[:HAS_COLUMN]->(c)
"""
RETIRE_COLUMNS = """
UNWIND $rows AS row
MATCH (:Asset {urn: row.urn})-[:HAS_COLUMN]->(c)
WHERE c.removedAt IS NULL AND NOT c.urn IN row.columns
SET c.removedAt = row.time
"""
UPSERT_REFERENCES = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
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
ON CREATE SET t:Table, t.name = row.name, t.source = row.source
"""
ENSURE_COLUMNS = """
UNWIND $rows AS row
MERGE (c:Asset {urn: row.urn})
ON CREATE SET c:Column, c.name = row.name, c.source = row.source
"""
# Tables of the scanned schema it did not list, unless discovered after the scan, are removed
# with the columns that were live; the earliest removal time wins, so replays change nothing.
SOFT_DELETE = """
UNWIND $rows AS row
MATCH (:Asset {urn: row.urn})-[:CONTAINS]->(t:Table)
WHERE NOT t.urn IN row.children
  AND (t.lastSeenAt IS NULL OR t.lastSeenAt < row.time)
  AND (t.removedAt IS NULL OR t.removedAt > row.time)
WITH t, row, t.removedAt AS was
SET t.removedAt = row.time
WITH t, row, was
MATCH (t)-[:HAS_COLUMN]->(c)
WHERE c.removedAt IS NULL OR c.removedAt = was
SET c.removedAt = row.time
"""
# Listed tables come back, with exactly the columns that were removed together with them.
RESTORE = """
UNWIND $rows AS row
UNWIND row.children AS child
MATCH (t:Asset {urn: child})
WHERE t.removedAt <= row.time
WITH t, t.removedAt AS was
SET t.removedAt = null
WITH t, was
MATCH (t)-[:HAS_COLUMN]->(c)
WHERE c.removedAt = was
SET c.removedAt = null
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


async def upsert_containers(tx: AsyncManagedTransaction, events: Sequence[Event]) -> None:
    rows: dict[str, list[dict[str, Any]]] = {"database": [], "schema": []}
    for e in events:
        data: ContainerDiscovered = e.data
        rows[data.kind].append(
            {
                **_identity(e.subject),
                "name": data.name,
                "parent": data.parent_urn,
                "parentName": Urn.parse(data.parent_urn).name,
            }
        )
    await write_rows(tx, UPSERT_DATABASES, rows["database"])
    await write_rows(tx, UPSERT_SCHEMAS, rows["schema"])


def _table_row(e: Event) -> dict[str, Any]:
    data: TableDiscovered = e.data
    return {
        **_identity(e.subject),
        "name": data.name,
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
        "columns": [column_urn(e.subject, c.name) for c in data.columns],
        "time": event_time(e),
        "eventId": e.id,
    }


def _column_rows(e: Event) -> list[dict[str, Any]]:
    data: TableDiscovered = e.data
    source = Urn.parse(e.subject).source
    rows = []
    for c in data.columns:
        profile = c.profile
        rows.append(
            {
                "table": e.subject,
                "urn": column_urn(e.subject, c.name),
                "name": c.name,
                "source": source,
                "dataType": c.data_type,
                "nullable": c.nullable,
                "default": c.default,
                "ordinal": c.ordinal,
                "isPrimaryKey": c.name in data.primary_key,
                "nullRatio": profile and profile.null_ratio,
                "distinctCount": profile and profile.distinct_count,
                "min": profile and profile.min,
                "max": profile and profile.max,
            }
        )
    return rows


def _reference_rows(e: Event) -> list[dict[str, str]]:
    data: TableDiscovered = e.data
    return [
        {
            "from": column_urn(e.subject, col),
            "to": column_urn(fk.ref_table_urn, ref),
            "constraint": fk.name,
        }
        for fk in data.foreign_keys
        for col, ref in zip(fk.columns, fk.ref_columns, strict=True)
    ]


async def upsert_tables(tx: AsyncManagedTransaction, events: Sequence[Event]) -> int:
    """Write table snapshots (at most one per table); return the number of columns written."""
    tables = [_table_row(e) for e in events]
    columns = [row for e in events for row in _column_rows(e)]
    references = {e.subject: _reference_rows(e) for e in events}
    await write_rows(tx, UPSERT_TABLES, tables)
    await write_rows(tx, UPSERT_COLUMNS, columns)
    await write_rows(tx, RETIRE_COLUMNS, tables)
    edges = [r for rows in references.values() for r in rows]
    await ensure_assets(tx, [urn for r in edges for urn in (r["from"], r["to"])])
    await write_rows(tx, UPSERT_REFERENCES, edges)
    await write_rows(
        tx,
        PRUNE_REFERENCES,
        [
            {"urn": urn, "keys": [[r["from"], r["to"], r["constraint"]] for r in rows]}
            for urn, rows in references.items()
        ],
    )
    return len(columns)


async def apply_scans(tx: AsyncManagedTransaction, events: Sequence[Event]) -> None:
    """Soft-delete what a complete schema scan no longer lists; restore what it lists again."""
    rows = []
    for e in events:
        data: ContainerScanned = e.data
        rows.append({"urn": e.subject, "children": data.children, "time": event_time(e)})
    await write_rows(tx, SOFT_DELETE, rows)
    await write_rows(tx, RESTORE, rows)
