"""Data-mesh reads: domains, products (within the caller's domain scope), a version's
compatibility with the one before it, and the versions whose contracts drifted."""

from __future__ import annotations

import strawberry

from graph import domains as domain_graph
from graph import products as product_graph
from mesh import errors, products
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.mesh.types import (
    MAX_LIST,
    DataProduct,
    Domain,
    ProductVersion,
    products_of,
)
from resolvers.permissions import needs
from security.rbac import permission

PRODUCT_READ = permission("product:read")


@strawberry.type(description="How a version stands against the last released one before it.")
class Compatibility:
    version: strawberry.ID
    baseline: str | None = strawberry.field(description="null: nothing released before it")
    breaking_changes: list[str]
    compatible: bool


@strawberry.type
class MeshQuery:
    @strawberry.field(description="Every domain, by name.", extensions=needs("product:read"))
    async def domains(self, info: Info, include_archived: bool = False) -> list[Domain]:
        found = await domain_graph.list_domains(*info.context.graph, include_archived)
        return [Domain.from_props(d) for d in found]

    @strawberry.field(
        description="Data products of one domain or all (up to 500), optionally those whose "
        "name, description, tags or contract (tables, columns, SLA) mention `text`.",
        extensions=needs("product:read"),
    )
    async def data_products(
        self, info: Info, domain: strawberry.ID | None = None, text: str | None = None
    ) -> list[DataProduct]:
        most = info.context.state.settings.limits.max_search_chars
        if text is not None and not 0 < len(text) <= most:
            raise ClientError(f"text must have 1 to {most} characters")
        urns = await product_graph.product_urns(*info.context.graph, domain, MAX_LIST, text)
        return await products_of(info, urns)

    @strawberry.field(
        description="What a version breaks of the last published version before it.",
        extensions=needs("product:read"),
    )
    async def compatibility(self, info: Info, version: strawberry.ID) -> Compatibility | None:
        if await info.context.loaders.find(version) is None:
            return None
        try:
            baseline, breaking = await products.compatibility(info.context.state, version)
        except errors.NotFound:
            return None
        return Compatibility(
            version=version, baseline=baseline, breaking_changes=breaking, compatible=not breaking
        )

    @strawberry.field(
        description="Versions whose contract no longer matches their output ports.",
        extensions=needs("product:read"),
    )
    async def drifted_versions(self, info: Info) -> list[ProductVersion]:
        found = await product_graph.drifted(*info.context.graph, MAX_LIST)
        return [ProductVersion.from_props(v) for v in found]
