"""``:Scan`` nodes: one per scan run, with its stage, counters and outcome.

``start_scan`` may run twice for one scan (the API writes the node before the scan task does):
the first call sets the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, LiteralString, TypeVar

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph.driver import Record, fetch, read, write

R = TypeVar("R")

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
UNFINISHED_WHERE: LiteralString = """
WHERE s.status IN ['running', 'interrupted', 'resumed'] AND s.finishedAt IS NULL
  AND s.voidedAt IS NULL
"""
UNFINISHED = (
    "MATCH (s:Scan {source: $source})"
    + UNFINISHED_WHERE
    + "RETURN s.id AS id ORDER BY s.startedAt DESC LIMIT $limit"
)
# A scan whose process stopped and that no scan took over within a lease ends ``failed``
# (ingest/scan.py ``end_stopped``): before, one that ``startScan`` started (which never takes
# over) read ``running`` for ever. ``datawave scan`` still resumes it while it is its source's
# latest scan (``RESUMABLE``), as it resumes one not yet ended.
STOPPED = (
    "the process running the scan stopped and no scan took it over: scan the source again"
    " (datawave scan resumes it)"
)
RESUMABLE = (
    "CALL () {\nMATCH (s:Scan {source: $source})"
    + UNFINISHED_WHERE
    + """RETURN s
UNION
MATCH (s:Scan {source: $source}) WHERE s.voidedAt IS NULL
WITH s ORDER BY s.startedAt DESC LIMIT 1
WITH s WHERE s.status = 'failed' AND s.error = $stopped
RETURN s
}
RETURN s.id AS id ORDER BY s.startedAt DESC LIMIT $limit
"""
)
# Every scan that never ended, voided or not: the sweep ends those whose process stopped.
ALL_UNFINISHED = """
MATCH (s:Scan) WHERE s.finishedAt IS NULL
RETURN s.id AS id, s.voidedAt IS NOT NULL AS voided
ORDER BY s.startedAt, s.id LIMIT $limit
"""
END_STOPPED = """
UNWIND $ids AS id
MATCH (s:Scan {id: id}) WHERE s.finishedAt IS NULL
SET s.status = 'failed', s.stage = 'failed', s.finishedAt = datetime(),
    s.error = CASE WHEN s.voidedAt IS NULL THEN $stopped ELSE $voided END
RETURN s.id AS id
"""
# Taken over: running again, whatever the sweep recorded.
REOPEN = "MATCH (s:Scan {id: $id}) REMOVE s.finishedAt"
# Unregistering a source voids its scans (``voidedAt``, graph/sources.py): events one of them
# sent that no worker had written yet (it gave up waiting for ingest) are dropped, or a worker
# started later would bring the unregistered source back (ingest/worker.py).
# What an unregistration records on a scan of the source that never ended and whose process
# had stopped (graph/sources.py UNREGISTER): voided, nothing takes it over, so it ends there, as
# a scan that finds its source unregistered ends itself (``failed``, saying why).
UNREGISTERED = "source unregistered: the process running the scan had stopped"
# A scan still running when its source was unregistered is voided and left to its process to
# end; if that process stops first, nothing would (a voided scan is never taken over): the
# worker's sweep (ingest/scan.py ``end_stopped``) ends those whose lease lapsed.
STOPPED_VOIDED = "source unregistered while the scan ran, then the process running it stopped"
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


async def voided_in(tx: AsyncManagedTransaction, ids: Collection[str], *, lock: bool) -> set[str]:
    """Those of the scans ``ids`` that are voided, read in a batch's transaction; with
    ``lock``, each scan is write-locked to the commit first (``LOCK_VOIDED``)."""
    if not ids:
        return set()
    rows = await fetch(tx, LOCK_VOIDED if lock else VOIDED, ids=sorted(ids))
    return {r["id"] for r in rows}


class _VoidedSince(Exception):
    """Scans voided between the first check of a transaction and its locking check."""


async def unvoided_step(
    tx: AsyncManagedTransaction, scans: Collection[str],
    work: Callable[[AsyncManagedTransaction, set[str]], Awaitable[R]],
    ran: asyncio.Event | None = None,
) -> tuple[R, set[str]]:  # fmt: skip
    """The statements of ``write_unvoided``'s transaction: ``work(tx, voided)`` between the
    check of ``scans`` and the lock of those not voided; ``_VoidedSince`` if one was voided
    in between. ``ran`` is set once every statement has run, only the commit left."""
    voided = await voided_in(tx, scans, lock=False)
    result = await work(tx, voided)
    if await voided_in(tx, set(scans) - voided, lock=True):
        raise _VoidedSince  # its unregistration committed: the next run's check sees it
    if ran:
        ran.set()
    return result, voided


async def write_unvoided(
    driver: AsyncDriver, database: str, scans: Collection[str],
    work: Callable[[AsyncManagedTransaction, set[str]], Awaitable[R]],
    ran: asyncio.Event | None = None,
) -> tuple[R, set[str]]:  # fmt: skip
    """``work(tx, voided)`` in one write transaction, told which of ``scans`` an unregistration
    voided (it leaves out what they sent), as a batch's (graph/batch.py): checked in that
    transaction, the others locked to its commit by its last statement (``LOCK_VOIDED``). One
    voided in between rolls it back and it runs again, seeing it voided. ``work``'s result and
    the voided scans."""
    async with driver.session(database=database) as session:
        while True:
            try:
                return await session.execute_write(unvoided_step, set(scans), work, ran)
            except _VoidedSince:
                continue


async def all_unfinished(driver: AsyncDriver, database: str, limit: int) -> dict[str, bool]:
    """Every scan that never ended (running, or its process stopped), the oldest first, each
    with whether its source's unregistration voided it."""
    rows = await read(driver, database, ALL_UNFINISHED, limit=limit)
    return {r["id"]: r["voided"] for r in rows}


async def resumable_scans(
    driver: AsyncDriver, database: str, source: str, limit: int = 5
) -> list[str]:
    """``unfinished_scans``, and the source's latest scan if the sweep ended it (``STOPPED``):
    those a scan started without an id may take over (ingest/scan.py), newest first."""
    rows = await read(driver, database, RESUMABLE, source=source, limit=limit, stopped=STOPPED)
    return [r["id"] for r in rows]


async def end_stopped_scans(driver: AsyncDriver, database: str, ids: Collection[str]) -> list[str]:
    """End ``failed`` the scans ``ids`` that are still unfinished, saying why: ``STOPPED``, or
    ``STOPPED_VOIDED`` for a voided one; the ids ended."""
    rows = await write(
        driver, database, END_STOPPED, ids=sorted(ids), stopped=STOPPED, voided=STOPPED_VOIDED
    )
    return [r["id"] for r in rows]


async def reopen_scan(driver: AsyncDriver, database: str, scan_id: str) -> None:
    """A scan taken over runs again: no ``finishedAt``, whatever ended it before."""
    await write(driver, database, REOPEN, id=scan_id)
