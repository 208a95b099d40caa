"""What the search index holds for an asset, read from the graph (the system of record)."""

from __future__ import annotations

from collections.abc import Sequence

from neo4j import AsyncDriver

from graph.driver import Record, read

DOCUMENTS = """
MATCH (t:Table) WHERE t.urn IN $urns
OPTIONAL MATCH (t)-[:HAS_COLUMN]->(c:Column) WHERE c.removedAt IS NULL
OPTIONAL MATCH (c)-[l:LABELED]->(label:Label) WHERE l.status <> 'rejected'
WITH t, collect(DISTINCT c.name) AS columns, collect(DISTINCT label.name) AS labels
OPTIONAL MATCH (team:Team)-[:OWNS]->(t)
RETURN t.urn AS urn, t.name AS name, t.kind AS kind, t.source AS source,
       coalesce(t.curatedDescription, t.description) AS description, t.tags AS tags,
       columns, labels, collect(DISTINCT team.name) AS owners, t.removedAt IS NOT NULL AS removed
"""


async def search_documents(driver: AsyncDriver, database: str, urns: Sequence[str]) -> list[Record]:
    """One document per table, view or collection; URNs that are not tables are skipped."""
    return await read(driver, database, DOCUMENTS, urns=list(urns))
