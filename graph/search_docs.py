"""What the search index holds for an asset, read from the graph (the system of record)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import LiteralString

from neo4j import AsyncDriver

from graph.domains import domains_of
from graph.driver import Record, read

# ``domains`` as RBAC reads them (security/rbac.py): a table in no domain is in [''], which no
# token names, so only callers unrestricted by domain find it.
DOCUMENTS: LiteralString = (
    """
MATCH (t:Table) WHERE t.urn IN $urns
OPTIONAL MATCH (t)-[:HAS_COLUMN]->(c:Column) WHERE c.removedAt IS NULL
OPTIONAL MATCH (c)-[l:LABELED]->(label:Label) WHERE l.status <> 'rejected'
WITH t, collect(DISTINCT c.name) AS columns, collect(DISTINCT label.name) AS labels
OPTIONAL MATCH (team:Team)-[:OWNS]->(t)
WITH t, columns, labels, collect(DISTINCT team.name) AS owners,
     coalesce(nullIf("""
    + domains_of("t")
    + """, []), ['']) AS domains
RETURN t.urn AS urn, t.name AS name, t.kind AS kind, t.source AS source,
       coalesce(t.curatedDescription, t.description) AS description, t.tags AS tags,
       columns, labels, owners, t.removedAt IS NOT NULL AS removed,
       domains, size(domains) AS domain_count
"""
)
TABLE_URNS = """
MATCH (t:Table) WHERE $after IS NULL OR t.urn > $after
RETURN t.urn AS urn ORDER BY t.urn LIMIT $limit
"""


async def search_documents(driver: AsyncDriver, database: str, urns: Sequence[str]) -> list[Record]:
    """One document per table, view or collection; URNs that are not tables are skipped."""
    return await read(driver, database, DOCUMENTS, urns=list(urns))


async def table_urns(
    driver: AsyncDriver, database: str, chunk: int = 500
) -> AsyncIterator[list[str]]:
    """Every table's URN, ``chunk`` at a time (a read transaction per chunk)."""
    after = None
    while rows := await read(driver, database, TABLE_URNS, after=after, limit=chunk):
        yield [r["urn"] for r in rows]
        after = rows[-1]["urn"]
