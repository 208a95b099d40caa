"""Data-mesh reads: domains, products (discoverable across domains), a version's compatibility
with the one before it, and the versions whose contracts drifted; lists are Relay connections
in URN order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from graph import domains as domain_graph
from graph import products as product_graph
from mesh import errors, products
from resolvers.common import Connection, Edge, PageInfo
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.mesh.types import (
    DataProduct,
    Domain,
    ProductVersion,
    products_of,
)
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
)
from resolvers.permissions import needs
from security.rbac import permission

PRODUCT_READ = permission("product:read")
T = TypeVar("T")


@strawberry.type(description="How a version stands against the last released one before it.")
class Compatibility:
    version: strawberry.ID
    baseline: str | None = strawberry.field(description="null: nothing released before it")
    breaking_changes: list[str]
    compatible: bool


def _after(after: str | None, of: str) -> str | None:
    return keyset_position(after, 1, of)[0] if after is not None else None


def _page(
    nodes: list[T], urns: list[str], first: int, count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    """A page in URN order: ``urns`` were read with ``first + 1`` asked for."""
    more = len(urns) > first
    pairs = list(zip(nodes, urns, strict=True))[:first]
    return Connection(
        edges=[Edge(node=n, position=lambda u=u: keyset_cursor([u])) for n, u in pairs],
        page_info=PageInfo(
            has_next_page=more, end_cursor=keyset_cursor([pairs[-1][1]]) if pairs else None
        ),
        count=count,
    )


@strawberry.type
class MeshQuery:
    @strawberry.field(description="Domains in URN order.", extensions=needs("product:read"))
    async def domains(
        self,
        info: Info,
        include_archived: bool = False,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Domain]:
        graph = info.context.graph
        found = await domain_graph.list_domains(
            *graph, include_archived, _after(after, "domains"), check_page_size(first) + 1
        )

        async def count() -> int:
            return await domain_graph.count_domains(*graph, include_archived)

        nodes = [Domain.from_props(d) for d in found]
        return _page(nodes, [d["urn"] for d in found], first, count)

    @strawberry.field(
        description="Data products of one domain or all, in URN order; with `text`, those "
        "whose name, description, tags or contract (tables, columns, SLA) mention it.",
        extensions=needs("product:read"),
    )
    async def data_products(
        self,
        info: Info,
        domain: strawberry.ID | None = None,
        text: str | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[DataProduct]:
        most = info.context.state.settings.limits.max_search_chars
        if text is not None and not 0 < len(text) <= most:
            raise ClientError(f"text must have 1 to {most} characters")
        graph = info.context.graph
        urns = await product_graph.product_urns(
            *graph, domain, check_page_size(first) + 1, text, _after(after, "dataProducts")
        )

        async def count() -> int:
            return await product_graph.count_products(*graph, domain, text)

        found = {p.id: p for p in await products_of(info, urns)}
        urns = [u for u in urns if u in found]
        return _page([found[u] for u in urns], urns, first, count)

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
    async def drifted_versions(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProductVersion]:
        graph = info.context.graph
        found = await product_graph.drifted(
            *graph, check_page_size(first) + 1, _after(after, "driftedVersions")
        )

        async def count() -> int:
            return await product_graph.count_drifted(*graph)

        nodes = [ProductVersion.from_props(v) for v in found]
        return _page(nodes, [v["urn"] for v in found], first, count)
