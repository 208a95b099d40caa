"""A table's removed columns, which add up with rescans, page (``Table.removedColumns``).

A column is one node per name: each rescan that finds a column renamed or gone leaves one
more removed column behind (a collection whose documents name fields by data leaves dozens at
every rescan). ``columns(includeRemoved: true)`` answered them all in one list, growing without
bound; they page now, live columns staying a plain list.
"""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph.batch import apply_batch
from tests.factories import Source, columns
from tests.integration.graphql.conftest import Execute
from tests.integration.pages import walk

REMOVED = """
query ($urn: ID!, $after: String) {
  asset(urn: $urn) {
    ... on Table {
      columns { name }
      removedColumns(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name removedAt } }
      }
    }
  }
}
"""


async def test_a_tables_removed_columns_page(
    execute: Execute, source: Source, neo4j: AsyncDriver, settings: Settings
) -> None:
    """Rescanned five times, each time with its last column renamed: four removed columns,
    two a page in URN order, the live ones a list as before."""
    db = settings.neo4j.database
    for n in range(5):
        later = source.at(n)
        await apply_batch(neo4j, db, [later.table("events", columns("id:int", f"day_{n}:int"))])
    urn = source.table_urn("events")

    async def page(after: str | None) -> dict[str, Any]:
        return (await execute(REMOVED, urn=urn, after=after))["asset"]["removedColumns"]

    removed, pages = await walk(page)
    assert [c["name"] for c in removed] == ["day_0", "day_1", "day_2", "day_3"] and pages == 2
    assert all(c["removedAt"] for c in removed)
    table = (await execute(REMOVED, urn=urn, after=None))["asset"]
    assert [c["name"] for c in table["columns"]] == ["id", "day_4"]
