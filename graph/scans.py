"""``:Scan`` nodes: one per scan run, with its stage, counters and outcome."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from graph.driver import Record, read, write

START = """
MERGE (s:Scan {id: $id})
SET s.name = 'scan ' + $source + ' ' + $id, s.source = $source, s.status = 'running',
    s.stage = 'validate', s.startedAt = datetime()
WITH s
MATCH (d:DataSource {urn: $sourceUrn})
MERGE (d)-[:SCANNED_BY]->(s)
"""
FINISH = """
MATCH (s:Scan {id: $id})
SET s += $props, s.finishedAt = datetime()
"""
GET = "MATCH (s:Scan {id: $id}) RETURN s {.*} AS scan"
RECENT = """
MATCH (s:Scan) WHERE $source IS NULL OR s.source = $source
RETURN s {.*} AS scan ORDER BY s.startedAt DESC LIMIT $limit
"""


async def start_scan(driver: AsyncDriver, database: str, scan_id: str, source: str,
                     source_urn: str) -> None:  # fmt: skip
    await write(driver, database, START, id=scan_id, source=source, sourceUrn=source_urn)


async def finish_scan(driver: AsyncDriver, database: str, scan_id: str, **props: Any) -> None:
    await write(driver, database, FINISH, id=scan_id, props=props)


async def get_scan(driver: AsyncDriver, database: str, scan_id: str) -> Record | None:
    rows = await read(driver, database, GET, id=scan_id)
    return rows[0]["scan"] if rows else None


async def recent_scans(driver: AsyncDriver, database: str, source: str | None = None,
                       limit: int = 20) -> list[Record]:  # fmt: skip
    return [r["scan"] for r in await read(driver, database, RECENT, source=source, limit=limit)]
