"""Reading lists the way a client pages through them: a filter's assets in the graph, a
connection through the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


async def walk(read: Callable[[str | None], Awaitable[dict[str, Any]]]) -> tuple[list[Any], int]:
    """Every node of a connection, a page at a time (``read(after)``: a page after that
    cursor), and how many pages it took; every page counts the whole list."""
    seen: list[Any] = []
    counts: list[int] = []
    after = None
    while True:
        found = await read(after)
        seen += [e["node"] for e in found["edges"]]
        counts.append(found["totalCount"])
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert set(counts) == {len(seen)}
    return seen, len(counts)
