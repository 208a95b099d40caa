"""The audit trail in Neo4j: append-only ``:AuditEvent`` nodes (CREATE, never updated)."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from graph.driver import Record, read, write

APPEND = """
UNWIND $rows AS row
CREATE (e:AuditEvent)
SET e = row, e.name = row.action + ' ' + row.outcome
"""

MATCH = """
MATCH (e:AuditEvent)
WHERE ($actor IS NULL OR e.actor = $actor)
  AND ($action IS NULL OR e.action = $action)
  AND ($outcome IS NULL OR e.outcome = $outcome)
  AND ($resource IS NULL OR e.resource = $resource)
  AND ($since IS NULL OR e.at >= $since)
  AND ($before IS NULL OR e.at < $before)
"""
# Newest first; a page starts after the (at, id) of the previous page's last event.
LIST = (
    MATCH
    + """  AND ($afterAt IS NULL OR e.at < $afterAt OR (e.at = $afterAt AND e.id < $afterId))
RETURN e {.*} AS event
ORDER BY e.at DESC, e.id DESC
LIMIT $limit
"""
)
COUNT = MATCH + "RETURN count(e) AS n"


async def append_audit_events(driver: AsyncDriver, database: str, rows: list[dict[str, Any]]):
    """Write events durably (the transaction commits before we return)."""
    await write(driver, database, APPEND, rows=rows)


async def list_audit_events(
    driver: AsyncDriver,
    database: str,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    resource: str | None = None,
    since: str | None = None,
    before: str | None = None,
    limit: int = 100,
    after: tuple[str, ...] | None = None,
) -> list[Record]:
    """Events matching the filter, newest first, after the position ``(at, id)``."""
    at, event_id = after or (None, None)
    rows = await read(
        driver,
        database,
        LIST,
        actor=actor,
        action=action,
        outcome=outcome,
        resource=resource,
        since=since,
        before=before,
        limit=limit,
        afterAt=at,
        afterId=event_id,
    )
    return [r["event"] for r in rows]


async def count_audit_events(driver: AsyncDriver, database: str, **filters: str | None) -> int:
    return (await read(driver, database, COUNT, **filters))[0]["n"]
