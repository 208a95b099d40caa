"""``:DataSource`` nodes: registered by an operator, refreshed by each connector check."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from neo4j import AsyncDriver, AsyncManagedTransaction

from core.events import Event, SourceChecked
from core.sources import DataSourceConfig
from core.urns import Urn, source_urn
from graph import scans
from graph.driver import Record, read, write, write_rows
from graph.timestamps import event_time

# An older check replayed after a newer one must not roll the status back.
UPSERT_CHECKED = """
UNWIND $rows AS row
MERGE (s:DataSource {urn: row.urn})
WITH s, row
WHERE s.lastCheckedAt IS NULL OR s.lastCheckedAt <= row.time
SET s.name = row.name, s.kind = row.kind, s.host = row.host, s.port = row.port,
    s.status = row.status, s.serverVersion = row.serverVersion, s.lastError = row.lastError,
    s.lastCheckedAt = row.time
"""
# Merged, not matched: a scan can be written before its source's check (another partition).
MARK_SCANNED = """
UNWIND $rows AS row
MERGE (s:DataSource {urn: row.urn})
ON CREATE SET s.name = row.name
SET s.lastScanAt = CASE WHEN s.lastScanAt >= row.time THEN s.lastScanAt ELSE row.time END
"""
# Every field of the config is set, absent ones to null, so an update leaves no stale field.
REGISTER = """
MERGE (s:DataSource {urn: $urn})
SET s += $config, s.status = coalesce(s.status, 'registered')
RETURN s {.*} AS source
"""
# Every live asset of the source is soft-deleted as a scan would (columns with their tables), the
# node itself goes: a later registration under the name starts afresh and a rescan restores.
# Its scans are voided (graph/scans.py): what they sent and no worker wrote yet is dropped.
# Voided first, in id order: a batch of theirs being written holds their locks to its commit
# (graph/scans.py LOCK_VOIDED), so the assets are read once it is in, and removed with it.
# Those that never ended, but the ``$live`` ones (their process runs and ends them), end failed:
# voided, nothing would take them over and they read ``running`` for ever.
UNREGISTER = """
MATCH (s:DataSource {urn: $urn})
CALL (s) {
  MATCH (x:Scan {source: s.name}) WHERE x.voidedAt IS NULL
  WITH x ORDER BY x.id
  SET x.voidedAt = datetime()
  WITH x WHERE x.finishedAt IS NULL AND NOT x.id IN $live
  SET x.status = 'failed', x.stage = 'failed', x.error = $ended, x.finishedAt = datetime()
}
CALL (s) {
  MATCH (a:Asset {source: s.name}) WHERE a.removedAt IS NULL
  SET a.removedAt = datetime()
  RETURN collect(CASE WHEN NOT a:Column THEN a.urn END) AS removed
}
DETACH DELETE s
RETURN removed
"""
LIST = "MATCH (s:DataSource) RETURN s {.*} AS source ORDER BY s.name"
# A source is known by its registration, or by columns of it (named by discovery events or the
# classifier without a registration, or kept, removed, after its unregistration): both seeks.
KNOWN = """
RETURN EXISTS { MATCH (:DataSource {urn: $urn}) }
    OR EXISTS { MATCH (:Column {source: $name}) } AS known
"""
GET = "MATCH (s:DataSource {urn: $urn}) RETURN s {.*} AS source"


async def register_source(driver: AsyncDriver, database: str, config: DataSourceConfig) -> Record:
    """Create or update a source; a status already learned from a check is kept."""
    rows = await write(
        driver, database, REGISTER, urn=source_urn(config.name), config=config.properties()
    )
    return rows[0]["source"]


async def unregister_source(
    driver: AsyncDriver, database: str, name: str, live: Collection[str] = ()
) -> list[str] | None:
    """Forget a source and soft-delete its assets in one transaction; the URNs of the removed
    assets but columns (announced as removed), or None when no such source is registered.
    Its unfinished scans end failed (``scans.UNREGISTERED``) but those whose process is
    ``live``: a scan that is about to end records its own outcome."""
    rows = await write(
        driver, database, UNREGISTER, urn=source_urn(name), live=sorted(live),
        ended=scans.UNREGISTERED,
    )  # fmt: skip
    return rows[0]["removed"] if rows else None


async def list_sources(driver: AsyncDriver, database: str) -> list[Record]:
    return [r["source"] for r in await read(driver, database, LIST)]


async def get_source(driver: AsyncDriver, database: str, name: str) -> Record | None:
    rows = await read(driver, database, GET, urn=source_urn(name))
    return rows[0]["source"] if rows else None


async def source_known(driver: AsyncDriver, database: str, name: str) -> bool:
    """Whether the graph knows a source ``name``: an unknown one is most likely a typo, which
    an operation scoped to it must say rather than do nothing and succeed."""
    rows = await read(driver, database, KNOWN, urn=source_urn(name), name=name)
    return bool(rows[0]["known"])


def checked_row(e: Event) -> Record:
    data: SourceChecked = e.data
    return {
        "urn": e.subject,
        "name": data.name,
        "kind": data.kind,
        "host": data.host,
        "port": data.port,
        "status": data.status,
        "serverVersion": data.server_version,
        "lastError": data.error,
        "time": event_time(e),
    }


async def upsert_checked(tx: AsyncManagedTransaction, rows: Sequence[Record]) -> None:
    await write_rows(tx, UPSERT_CHECKED, rows)


async def mark_scanned(tx: AsyncManagedTransaction, scans: Sequence[Record]) -> None:
    """Completed container scans (``assets.scan_row``) move their source's ``lastScanAt``
    forward (never back)."""
    rows = [
        {"urn": r["source"], "name": Urn.parse(r["source"]).name, "time": r["time"]} for r in scans
    ]
    await write_rows(tx, MARK_SCANNED, rows)
