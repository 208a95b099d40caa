"""Compiled reads: what a GraphQL selection asks for about an asset, read in one statement.

Resolved field by field, an asset's detail (the asset, its columns, their labels) cost three
queries and a transaction each; here a nested ``COLLECT`` subquery reads it in one, in the
order and with the relationship properties the per-relation reads (graph/catalog.py ``COLUMNS``,
``LABELS``) return, so the loaders can be primed with it and every resolver still sees what it
would have loaded (resolvers/loaders.py ``Loaders.detail``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

from neo4j import AsyncDriver

from graph.domains import domains_below, domains_of, nearest_above
from graph.driver import read_values
from graph.records import (
    ASSET_TIMES,
    LABEL_EDGE,
    NodeRecord,
    Record,
    Related,
    node_fields,
    related_fields,
    text_times,
)

# A column's label ``l`` over its edge ``r``, as ``Relation.LABELS`` reads it.
_LABEL: LiteralString = "{labels: labels(l), props: properties(l), rel: " + LABEL_EDGE + "}"

# Per asset: itself with its domains (RBAC), each column (ordinal, then name) with its domains
# and the ``HAS_COLUMN`` properties, and each column's labels (by name) with the ``LABELED``
# properties and the column they are on; with ``$inherited``, also the labels each column
# inherits along lineage where it holds none of its own (graph/catalog.py
# ``COLUMN_INHERITED_LABELS``).
DETAIL: LiteralString = (
    """
MATCH (n:Asset) WHERE n.urn IN $urns
WITH n, """
    + nearest_above("n")
    + """ AS above
RETURN n.urn AS key, labels(n) AS labels, """
    + text_times("n", ASSET_TIMES)
    + """ AS props, """
    + domains_of("n")
    + """ AS domains,
  COLLECT {
    MATCH (n)-[h:HAS_COLUMN]->(c:Column)
    WITH h, c ORDER BY c.ordinal, c.name
    RETURN {labels: labels(c), props: """
    + text_times("c", ASSET_TIMES)
    + """, rel: properties(h), domains: """
    + domains_below("c", "above")
    + """,
            tags: COLLECT {
              MATCH (c)-[r:LABELED]->(l:Label)
              WITH r, l ORDER BY l.name
              RETURN """
    + _LABEL
    + """
            },
            inherited: CASE WHEN $inherited THEN COLLECT {
              MATCH (c)-[r:INHERITS]->(l:Label) WHERE NOT EXISTS { (c)-[:LABELED]->(l) }
              WITH r, l ORDER BY l.name
              RETURN """
    + _LABEL
    + """
            } END}
  } AS columns
"""
)


class ColumnDetail(Record):
    """A column as ``Relation.COLUMNS`` returns it, with what ``Relation.LABELS`` returns for
    it and, when asked for, what it inherits."""

    column: Related
    labels: list[Related]
    inherited: list[Related] | None = None


class AssetDetail(Record):
    node: NodeRecord
    columns: list[ColumnDetail]

    @property
    def inherited(self) -> list[Related] | None:
        """What ``Relation.COLUMN_INHERITED_LABELS`` returns for the asset, if it was read."""
        if any(c.inherited is None for c in self.columns):
            return None
        return [r for c in self.columns for r in c.inherited or []]


async def asset_details(
    driver: AsyncDriver, database: str, urns: Sequence[str], inherited: bool = False
) -> dict[str, AssetDetail]:
    """The assets found among ``urns``, each with its columns and their labels, and what the
    columns inherit if ``inherited``."""
    rows = await read_values(driver, database, DETAIL, urns=list(urns), inherited=inherited)
    return {
        row["key"]: AssetDetail.model_validate(
            {
                "node": node_fields(row),
                "columns": [
                    {
                        "column": related_fields(c),
                        "labels": [related_fields(t) for t in c["tags"]],
                        "inherited": None
                        if c["inherited"] is None
                        else [related_fields(t) for t in c["inherited"]],
                    }
                    for c in row["columns"]
                ],
            }
        )
        for row in rows
    }
