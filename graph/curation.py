"""Curation writes from the API: descriptions, tags and owners, and lineage asserted by hand.

A manual ``FEEDS`` edge has ``kind: 'manual'`` and no ``via``, so a rescan, which replaces only
the edges its job produced (graph/lineage.py), never removes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from neo4j import AsyncDriver

from graph.driver import write
from graph.inheritance import write_and_propagate
from graph.records import EdgeRecord, NodeRecord

# The curated description lives beside the discovered one, which every rescan rewrites.
# $description '' clears it; null leaves it. $owner replaces every owning team.
DESCRIBE = """
MATCH (a:Asset {urn: $urn})
SET a.curatedDescription = CASE WHEN $description IS NULL THEN a.curatedDescription
                                ELSE nullIf($description, '') END,
    a.tags = coalesce($tags, a.tags)
SET a.descriptionLower = toLower(coalesce(a.curatedDescription, a.description))
WITH a
CALL (a) {
  WITH a WHERE $owner IS NOT NULL
  OPTIONAL MATCH (:Team)-[old:OWNS]->(a)
  DELETE old
  WITH DISTINCT a
  MERGE (t:Team {name: $owner})
  MERGE (t)-[:OWNS]->(a)
}
RETURN labels(a) AS labels, properties(a) AS props
"""
ADD_LINEAGE = """
MATCH (u:Asset {urn: $upstream}), (d:Asset {urn: $downstream})
MERGE (u)-[r:FEEDS {kind: 'manual'}]->(d)
ON CREATE SET r.since = datetime()
RETURN u.urn AS from, d.urn AS to, properties(r) AS props
"""


async def describe_asset(
    driver: AsyncDriver,
    database: str,
    urn: str,
    *,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    owner: str | None = None,
) -> NodeRecord | None:
    """Set what is given (None leaves a field alone); None if there is no such asset."""
    rows = await write(
        driver,
        database,
        DESCRIBE,
        urn=urn,
        description=description,
        tags=list(tags) if tags is not None else None,
        owner=owner,
    )
    return NodeRecord.of(rows[0]) if rows else None


async def add_manual_lineage(
    driver: AsyncDriver, database: str, upstream: str, downstream: str
) -> EdgeRecord | None:
    """Assert that ``upstream`` feeds ``downstream`` (idempotent); None if either is missing.
    Labels follow the new edge in the same transaction (graph/inheritance.py)."""

    params = {"upstream": upstream, "downstream": downstream}
    # A missing end writes nothing, and nothing then inherits below it.
    rows = await write_and_propagate(driver, database, [downstream], (ADD_LINEAGE, params))
    return EdgeRecord.of(rows[0]) if rows else None
