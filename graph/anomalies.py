"""Anomalies as graph facts, and the per-table profile baselines they are measured against.

``(:Asset)-[:HAS_ANOMALY]->(:Anomaly {id, kind, detail, severity, at, eventId})``; ids derive
from the scan event, so a replayed event MERGEs onto the same node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neo4j import AsyncDriver

from graph.driver import read, write

SNAPSHOTS = """
UNWIND $urns AS urn
MATCH (s:ProfileSnapshot {urn: urn})
RETURN s {.*} AS snapshot
"""
# Only a newer scan moves the baseline, so a replayed old event compares with nothing new.
RECORD = """
UNWIND $rows AS row
MERGE (s:ProfileSnapshot {urn: row.snapshot.urn})
WITH s, row
WHERE s.at IS NULL OR s.at <= row.snapshot.at
SET s += row.snapshot, s.name = 'profile of ' + row.snapshot.urn
WITH row
UNWIND row.anomalies AS a
MERGE (n:Anomaly {id: a.id})
ON CREATE SET n += a, n.name = a.kind
WITH n, a
// The ingest worker may not have written the asset yet: MERGE it as the worker does.
MERGE (x:Asset {urn: a.subject})
ON CREATE SET x.name = a.subjectName
FOREACH (_ IN CASE WHEN a.subject = a.table THEN [1] ELSE [] END | SET x:Table)
FOREACH (_ IN CASE WHEN a.subject <> a.table THEN [1] ELSE [] END | SET x:Column)
MERGE (x)-[:HAS_ANOMALY]->(n)
"""
LIST = """
MATCH (n:Anomaly {table: $table})
RETURN n {.*} AS anomaly
ORDER BY n.at DESC, n.kind
"""


async def snapshots(
    driver: AsyncDriver, database: str, urns: Sequence[str]
) -> list[dict[str, Any]]:
    rows = await read(driver, database, SNAPSHOTS, urns=list(urns))
    return [r["snapshot"] for r in rows]


async def record(driver: AsyncDriver, database: str, rows: list[dict[str, Any]]) -> None:
    """Rows of ``{snapshot: {...}, anomalies: [{id, kind, subject, table, ...}]}``."""
    await write(driver, database, RECORD, rows=rows)


async def table_anomalies(driver: AsyncDriver, database: str, table: str) -> list[dict[str, Any]]:
    rows = await read(driver, database, LIST, table=table)
    return [r["anomaly"] for r in rows]
