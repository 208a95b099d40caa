"""Catalog queries: any node by URN, assets page by page, data sources.

A node out of the caller's scope reads exactly like a missing one (null, left out of lists).
"""

from __future__ import annotations

import strawberry

from graph import sources
from graph.catalog import AssetSort
from resolvers.catalog import compiled
from resolvers.catalog.types import (
    Asset,
    AssetFilterInput,
    AssetSortInput,
    DataSource,
    asset_page,
    node_from_record,
)
from resolvers.common import Connection, Edge, Node, PageInfo
from resolvers.context import Info
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
)
from resolvers.permissions import needs
from security.rbac import permission

SOURCE_READ = permission("source:read")


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="Any node by its global ID (its URN); what you may not see is null.",
        extensions=needs("asset:read"),
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        record = await info.context.loaders.find(id)
        return node_from_record(record) if record else None

    @strawberry.field(
        description="A database, schema, table or column, or an OpenLineage dataset, by URN.",
        extensions=needs("asset:read"),
    )
    async def asset(self, info: Info, urn: strawberry.ID) -> Asset | None:
        return await compiled.asset(info, urn)  # type: ignore[return-value]

    @strawberry.field(
        description="Assets matching a filter, sorted, a page at a time.",
        extensions=needs("asset:read"),
    )
    async def assets(
        self,
        info: Info,
        filter: AssetFilterInput | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        sort: AssetSortInput | None = None,
    ) -> Connection[Asset]:
        where = (filter or AssetFilterInput()).to_filter()
        order = sort.to_sort() if sort else AssetSort()
        return compiled.read_whole(info, await asset_page(info, where, order, first, after))

    @strawberry.field(
        description="The registered data sources you may see, by name.",
        extensions=needs("source:read"),
    )
    async def data_sources(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[DataSource]:
        check_page_size(first)
        (start,) = keyset_position(after, 1, "dataSources") if after else ("",)
        guard = info.context.guard
        # Sources are few (one per database server): read them all, page here.
        visible = sorted(
            (s for s in await sources.list_sources(*info.context.graph)
             if guard.can(SOURCE_READ, source=s["name"])),
            key=lambda s: s["name"],
        )  # fmt: skip
        later = [s for s in visible if s["name"] > start]

        async def count() -> int:
            return len(visible)

        page = later[:first]
        return Connection(
            edges=[
                Edge(node=DataSource.from_props(s), position=lambda n=s["name"]: keyset_cursor([n]))
                for s in page
            ],
            page_info=PageInfo(
                has_next_page=len(later) > first,
                end_cursor=keyset_cursor([page[-1]["name"]]) if page else None,
            ),
            count=count,
        )
