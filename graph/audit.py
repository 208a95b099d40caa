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

LIST = """
MATCH (e:AuditEvent)
WHERE ($actor IS NULL OR e.actor = $actor)
  AND ($action IS NULL OR e.action = $action)
  AND ($outcome IS NULL OR e.outcome = $outcome)
  AND ($resource IS NULL OR e.resource = $resource)
  AND ($since IS NULL OR e.at >= $since)
  AND ($before IS NULL OR e.at < $before)
RETURN e {.*} AS event
ORDER BY e.at DESC, e.id DESC
LIMIT $limit
"""


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
) -> list[Record]:
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
    )
    return [r["event"] for r in rows]
