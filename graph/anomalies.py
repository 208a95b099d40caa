"""Anomalies as graph facts, and the per-table profiles they are measured against.

``(:Asset)-[:HAS_ANOMALY]->(:Anomaly {id, kind, detail, severity, at, eventId})``; ids derive
from the scan event, so a replayed event MERGEs onto the same node. ``(:ProfileSnapshot {urn})``
is a table's latest profile, the baseline of the next scan; each profile it has been is kept
under it as ``-[:HAD]->(:ProfilePoint {eventId, at, rowCount, nullColumns, nullRatios})``, the
table's (and its columns') profile history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph.domains import in_scope
from graph.driver import Record, fetch, read

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
MERGE (s)-[:HAD]->(p:ProfilePoint {eventId: row.snapshot.eventId})
SET p.at = row.snapshot.at, p.rowCount = row.snapshot.rowCount,
    p.nullColumns = row.snapshot.nullColumns, p.nullRatios = row.snapshot.nullRatios,
    p.name = 'profile at ' + toString(row.snapshot.at)
WITH row
UNWIND row.anomalies AS a
MERGE (n:Anomaly {id: a.id})
ON CREATE SET n += a, n.name = a.kind
WITH n, a
// The ingest worker may not have written the asset yet: MERGE it as the worker does.
MERGE (x:Asset {urn: a.subject})
ON CREATE SET x.name = a.subjectName, x.nameLower = toLower(a.subjectName)
FOREACH (_ IN CASE WHEN a.subject = a.table THEN [1] ELSE [] END | SET x:Table)
FOREACH (_ IN CASE WHEN a.subject <> a.table THEN [1] ELSE [] END | SET x:Column)
MERGE (x)-[:HAS_ANOMALY]->(n)
"""
# Newest first; a page starts after the (at, id) of the previous page's last anomaly. The
# caller's scope is the table's, applied before paging.
_MATCH: LiteralString = """
MATCH (n:Anomaly)
WHERE ($table IS NULL OR n.table = $table) AND ($severity IS NULL OR n.severity = $severity)
  AND ($kinds IS NULL OR n.kind IN $kinds)
MATCH (t:Asset {urn: n.table})
WHERE ($source IS NULL OR t.source = $source) AND """ + in_scope("t")
PAGE: LiteralString = (
    _MATCH
    + """
  AND ($afterAt IS NULL OR n.at < datetime($afterAt)
       OR (n.at = datetime($afterAt) AND n.id < $afterId))
RETURN n {.*, source: t.source} AS anomaly, toString(n.at) AS at
ORDER BY n.at DESC, n.id DESC LIMIT $limit
"""
)
COUNT: LiteralString = _MATCH + "RETURN count(n) AS n"
HISTORY = """
MATCH (:ProfileSnapshot {urn: $table})-[:HAD]->(p:ProfilePoint)
WHERE $afterAt IS NULL OR p.at < datetime($afterAt)
RETURN p {.*} AS point, toString(p.at) AS at
ORDER BY p.at DESC LIMIT $limit
"""
HISTORY_COUNT = "MATCH (:ProfileSnapshot {urn: $table})-[:HAD]->(p) RETURN count(p) AS n"


async def snapshots(
    driver: AsyncDriver, database: str, urns: Sequence[str]
) -> list[dict[str, Any]]:
    rows = await read(driver, database, SNAPSHOTS, urns=list(urns))
    return [r["snapshot"] for r in rows]


async def record_in(tx: AsyncManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Rows of ``{snapshot: {...}, anomalies: [{id, kind, subject, table, ...}]}``, in the
    caller's transaction (the classifier's, ml/consumer.py, with its labels)."""
    await fetch(tx, RECORD, rows=rows)


def _filters(
    table: str | None, severity: str | None, kinds: Sequence[str] | None, source: str | None,
    scope: tuple[Sequence[str] | None, Sequence[str] | None],
) -> dict[str, Any]:  # fmt: skip
    domains, sources = scope
    return {
        "table": table,
        "severity": severity,
        "kinds": list(kinds) if kinds is not None else None,
        "source": source,
        "domains": list(domains) if domains is not None else None,
        "sources": list(sources) if sources is not None else None,
    }


async def anomaly_page(
    driver: AsyncDriver,
    database: str,
    *,
    limit: int,
    after: tuple[str, str] | None = None,
    table: str | None = None,
    severity: str | None = None,
    kinds: Sequence[str] | None = None,
    source: str | None = None,
    scope: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
) -> list[tuple[Record, tuple[str, str]]]:
    """Up to ``limit`` anomalies, newest first, after the position ``(at, id)`` of a previous
    one, of tables within ``scope`` (domains, sources; None: all); each with its position."""
    at, anomaly_id = after or (None, None)
    params = _filters(table, severity, kinds, source, scope)
    rows = await read(driver, database, PAGE, limit=limit, afterAt=at, afterId=anomaly_id, **params)
    return [(r["anomaly"], (r["at"], r["anomaly"]["id"])) for r in rows]


async def count_anomalies(
    driver: AsyncDriver,
    database: str,
    *,
    table: str | None = None,
    severity: str | None = None,
    kinds: Sequence[str] | None = None,
    source: str | None = None,
    scope: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
) -> int:
    params = _filters(table, severity, kinds, source, scope)
    return (await read(driver, database, COUNT, **params))[0]["n"]


async def profile_history(
    driver: AsyncDriver, database: str, table: str, limit: int, after: str | None = None
) -> list[tuple[Record, str]]:
    """Up to ``limit`` profiles of a table, newest first, older than ``after`` (an ``at``);
    each with its ``at`` as text (exact, unlike a converted time)."""
    rows = await read(driver, database, HISTORY, table=table, limit=limit, afterAt=after)
    return [(r["point"], r["at"]) for r in rows]


async def count_profiles(driver: AsyncDriver, database: str, table: str) -> int:
    return (await read(driver, database, HISTORY_COUNT, table=table))[0]["n"]
