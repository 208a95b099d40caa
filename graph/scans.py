"""``:Scan`` nodes: one per scan run, with its stage, counters and outcome.

``start_scan`` may run twice for one scan (the API writes the node before the scan task does):
the first call sets the start.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph.driver import Record, fetch, read, write

START = """
MERGE (s:Scan {id: $id})
ON CREATE SET s.name = 'scan ' + $source + ' ' + $id, s.source = $source, s.status = 'running',
    s.stage = 'validate', s.startedAt = datetime()
WITH s
MATCH (d:DataSource {urn: $sourceUrn})
MERGE (d)-[:SCANNED_BY]->(s)
"""
FINISH = """
MATCH (s:Scan {id: $id})
SET s += $props, s.finishedAt = datetime()
"""
UPDATE = "MATCH (s:Scan {id: $id}) SET s += $props"
GET = "MATCH (s:Scan {id: $id}) RETURN s {.*} AS scan"
# Newest first; a page starts after the (startedAt, id) of the previous page's last scan.
PAGE = """
MATCH (s:Scan {source: $source})
WHERE $afterAt IS NULL OR s.startedAt < datetime($afterAt)
   OR (s.startedAt = datetime($afterAt) AND s.id < $afterId)
RETURN s {.*} AS scan, toString(s.startedAt) AS startedAt
ORDER BY s.startedAt DESC, s.id DESC LIMIT $limit
"""
COUNT = "MATCH (s:Scan {source: $source}) RETURN count(s) AS n"
UNFINISHED = """
MATCH (s:Scan {source: $source})
WHERE s.status IN ['running', 'interrupted', 'resumed'] AND s.finishedAt IS NULL
  AND s.voidedAt IS NULL
RETURN s.id AS id ORDER BY s.startedAt DESC LIMIT $limit
"""
# Unregistering a source voids its scans (``voidedAt``, graph/sources.py): events one of them
# sent that no worker had written yet (it gave up waiting for ingest) are dropped, or a worker
# started later would bring the unregistered source back (ingest/worker.py).
# What an unregistration records on a scan of the source that never ended and whose process
# had stopped (graph/sources.py UNREGISTER): voided, nothing takes it over, so it ends there, as
# a scan that finds its source unregistered ends itself (``failed``, saying why).
UNREGISTERED = "source unregistered: the process running the scan had stopped"
# A scan still running when its source was unregistered is voided and left to its process to
# end; if that process stops first, nothing would (a voided scan is never taken over): the
# worker's sweep (ingest/scan.py ``end_stopped_voided``) ends those whose lease lapsed.
STOPPED_VOIDED = "source unregistered while the scan ran, then the process running it stopped"
VOIDED_UNFINISHED = """
MATCH (s:Scan) WHERE s.voidedAt IS NOT NULL AND s.finishedAt IS NULL
RETURN s.id AS id ORDER BY s.voidedAt, s.id LIMIT $limit
"""
END_VOIDED = """
UNWIND $ids AS id
MATCH (s:Scan {id: id}) WHERE s.voidedAt IS NOT NULL AND s.finishedAt IS NULL
SET s.status = 'failed', s.stage = 'failed', s.error = $error, s.finishedAt = datetime()
RETURN s.id AS id
"""
VOIDED = """
UNWIND $ids AS id
MATCH (s:Scan {id: id}) WHERE s.voidedAt IS NOT NULL
RETURN s.id AS id
"""
# The last statement of a batch's write transaction (graph/batch.py): the write lock on each
# of its scans (a SET, even of the value it has, takes it, held to the commit) orders the batch
# and an unregistration, which voids the scans before it removes the assets. Voided first, the
# batch sees it here and is rolled back; locked first, the unregistration waits for the commit
# and then removes what the batch wrote. A check before the transaction let a batch land.
LOCK_VOIDED = """
UNWIND $ids AS id
MATCH (s:Scan {id: id})
SET s.voidedAt = s.voidedAt
WITH s WHERE s.voidedAt IS NOT NULL
RETURN s.id AS id
"""


async def start_scan(driver: AsyncDriver, database: str, scan_id: str, source: str,
                     source_urn: str) -> None:  # fmt: skip
    await write(driver, database, START, id=scan_id, source=source, sourceUrn=source_urn)


async def finish_scan(driver: AsyncDriver, database: str, scan_id: str, **props: Any) -> None:
    await write(driver, database, FINISH, id=scan_id, props=props)


async def update_scan(driver: AsyncDriver, database: str, scan_id: str, **props: Any) -> None:
    """Record where a running scan is (interrupted by an outage, resumed)."""
    await write(driver, database, UPDATE, id=scan_id, props=props)


async def get_scan(driver: AsyncDriver, database: str, scan_id: str) -> Record | None:
    rows = await read(driver, database, GET, id=scan_id)
    return rows[0]["scan"] if rows else None


async def scan_page(
    driver: AsyncDriver,
    database: str,
    source: str,
    limit: int,
    after: tuple[str, ...] | None = None,
) -> list[tuple[Record, tuple[str, str]]]:
    """Up to ``limit`` scans of ``source``, newest first, after the position ``(startedAt,
    id)`` of a previous one; each with its own position (exact, unlike a converted time)."""
    at, scan_id = after or (None, None)
    rows = await read(
        driver, database, PAGE, source=source, limit=limit, afterAt=at, afterId=scan_id
    )
    return [(r["scan"], (r["startedAt"], r["scan"]["id"])) for r in rows]


async def count_scans(driver: AsyncDriver, database: str, source: str) -> int:
    return (await read(driver, database, COUNT, source=source))[0]["n"]


async def unfinished_scans(
    driver: AsyncDriver, database: str, source: str, limit: int = 5
) -> list[str]:
    """The ids of ``source``'s scans that never ended, newest first: running elsewhere, or
    whose process died (a scan resumes one of those, ingest/scan.py)."""
    rows = await read(driver, database, UNFINISHED, source=source, limit=limit)
    return [r["id"] for r in rows]


async def voided_scans(driver: AsyncDriver, database: str, ids: Collection[str]) -> set[str]:
    """Those of the scans ``ids`` that their source's unregistration voided."""
    rows = await read(driver, database, VOIDED, ids=sorted(ids))
    return {r["id"] for r in rows}


async def voided_in(tx: AsyncManagedTransaction, ids: Collection[str], *, lock: bool) -> set[str]:
    """Those of the scans ``ids`` that are voided, read in a batch's transaction; with
    ``lock``, each scan is write-locked to the commit first (``LOCK_VOIDED``)."""
    if not ids:
        return set()
    rows = await fetch(tx, LOCK_VOIDED if lock else VOIDED, ids=sorted(ids))
    return {r["id"] for r in rows}


async def voided_unfinished(driver: AsyncDriver, database: str, limit: int) -> list[str]:
    """Voided scans that never ended (their process was running when their source was
    unregistered), the longest voided first."""
    return [r["id"] for r in await read(driver, database, VOIDED_UNFINISHED, limit=limit)]


async def end_voided(driver: AsyncDriver, database: str, ids: Collection[str]) -> list[str]:
    """End the voided scans ``ids`` that are still unfinished ``failed``
    (``STOPPED_VOIDED``); the ids ended."""
    rows = await write(driver, database, END_VOIDED, ids=sorted(ids), error=STOPPED_VOIDED)
    return [r["id"] for r in rows]
