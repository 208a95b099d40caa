"""Catalog queries: any node by URN, assets page by page, data sources.

A node out of the caller's scope reads exactly like a missing one (null, left out of lists).
"""

from __future__ import annotations

import strawberry

from graph import sources
from graph.catalog import AssetSort
from resolvers.catalog.types import (
    Asset,
    AssetFilterInput,
    AssetSortInput,
    DataSource,
    asset_from_record,
    asset_page,
    node_from_record,
)
from resolvers.common import Connection, Node
from resolvers.context import Info
from resolvers.pagination import DEFAULT_PAGE_SIZE
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
        description="A database, schema, table or column by URN.", extensions=needs("asset:read")
    )
    async def asset(self, info: Info, urn: strawberry.ID) -> Asset | None:
        record = await info.context.loaders.find(urn)
        return asset_from_record(record) if record else None

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
        return await asset_page(info, where, order, first, after)

    @strawberry.field(
        description="Every registered data source you may see, by name.",
        extensions=needs("source:read"),
    )
    async def data_sources(self, info: Info) -> list[DataSource]:
        found = await sources.list_sources(*info.context.graph)
        guard = info.context.guard
        return [DataSource.from_props(s) for s in found if guard.can(SOURCE_READ, source=s["name"])]
