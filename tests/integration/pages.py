"""Reading a filter's assets the way a client pages through them."""

from __future__ import annotations

from neo4j import AsyncDriver

from graph.catalog import AssetFilter, AssetSort, page_assets
from graph.records import NodeRecord


async def every_page(
    neo4j: AsyncDriver, db: str, where: AssetFilter, descending: bool = False
) -> list[NodeRecord]:
    """A filter's assets by name, two a page, following the cursors."""
    nodes: list[NodeRecord] = []
    after = None
    while True:
        page = await page_assets(neo4j, db, where, AssetSort(descending=descending), 2, after)
        nodes += [item.node for item in page.items]
        if not page.has_next:
            return nodes
        after = (page.items[-1].key, page.items[-1].node.urn)
