"""Data-mesh reads: domains, products (discoverable across domains), a version's compatibility
with the one before it, and the versions whose contracts drifted; lists are Relay connections
in URN order."""

from __future__ import annotations

from enum import Enum

import strawberry

from graph import access as access_graph
from graph import domains as domain_graph
from graph import products as product_graph
from live.search import SearchUnavailable
from mesh import errors, lifecycle, products
from mesh import search as product_search
from mesh.lifecycle import Status
from resolvers.common import Connection, timestamp
from resolvers.context import Info
from resolvers.errors import ClientError, coded
from resolvers.mesh.requests import (
    AccessRequest,
    AccessRequestFilter,
    access_request_page,
    urn_arg,
)
from resolvers.mesh.types import (
    ConsumerBinding,
    DataProduct,
    Domain,
    ProductVersion,
    consumers_viewer,
    grant_state,
    product_page,
    products_of,
)
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    after_urn,
    check_page_size,
    keyset_page,
    offset_after,
    offset_page,
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


@strawberry.enum(description="How searchProducts ranks products.")
class ProductSearchMode(Enum):
    SEMANTIC = "semantic"  # by meaning: embeddings re-rank every product
    FULL_TEXT = "full_text"  # by the words only (typos tolerated): matching products


@strawberry.type(description="A data product matching a search, best first.")
class ProductHit:
    score: float = strawberry.field(
        description="SEMANTIC: cosine similarity plus a tenth of the normalised text score; "
        "FULL_TEXT: the text score."
    )
    product: DataProduct


def _check_text(info: Info, text: str | None) -> None:
    most = info.context.state.settings.limits.max_search_chars
    if text is not None and not 0 < len(text) <= most:
        raise ClientError(f"text must have 1 to {most} characters")


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
            *graph, include_archived, after_urn(after, "domains"), check_page_size(first) + 1
        )

        async def count() -> int:
            return await domain_graph.count_domains(*graph, include_archived)

        nodes = [Domain.from_props(d) for d in found]
        return keyset_page(nodes, [[d["urn"]] for d in found], first, count)

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
        _check_text(info, text)
        urn_arg(domain, "domain", "domain")
        return await product_page(info, domain, text, first, after, "dataProducts")

    @strawberry.field(
        description="What a version breaks of the last published version before it.",
        extensions=needs("product:read"),
    )
    async def compatibility(self, info: Info, version: strawberry.ID) -> Compatibility | None:
        urn_arg(version, "version", "contract")
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
            *graph, check_page_size(first) + 1, after_urn(after, "driftedVersions")
        )

        async def count() -> int:
            return await product_graph.count_drifted(*graph)

        nodes = [ProductVersion.from_props(v) for v in found]
        return keyset_page(nodes, [[v["urn"]] for v in found], first, count)

    @strawberry.field(
        description="The consumers of a product (of one `version`, or all) by live grant: the "
        "version each is bound to, whether it moved to the latest published one, and the last "
        "planned change it was told of. All of them for the product's owners, writers and "
        "approvers; your own teams' for anyone else. A `product` that is no data product URN, "
        "or a `version` no version URN, is a BAD_USER_INPUT error.",
        extensions=needs("product:read"),
    )
    async def product_consumers(
        self,
        info: Info,
        product: strawberry.ID,
        version: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[ConsumerBinding]:
        urn_arg(product, "product", "product")
        urn_arg(version, "version", "contract")
        graph, viewer = info.context.graph, consumers_viewer(info, product)
        found = await access_graph.bindings(
            *graph, product, version, check_page_size(first) + 1,
            after_urn(after, "productConsumers"), viewer=viewer,
        )  # fmt: skip
        detail = (await product_graph.details(*graph, [product], contracts=False)).get(product)
        released = [
            v["version"] for v in (detail or {}).get("versions", [])
            if v["status"] == Status.PUBLISHED
        ]  # fmt: skip
        latest = str(max(map(lifecycle.Version, released))) if released else None

        async def count() -> int:
            return await access_graph.count_bindings(*graph, product, version, viewer=viewer)

        nodes = [
            ConsumerBinding(
                request=strawberry.ID(b["request"]), team=strawberry.ID(b["team"]),
                name=b["name"], version=strawberry.ID(b["version"]), semver=b["semver"],
                latest=latest,
                migration=lifecycle.migration(b["semver"], bool(b["migratedFrom"]), released),
                migrated_from=b["migratedFrom"], migrated_at=timestamp(b, "migratedAt"),
                expires_at=timestamp(b, "expiresAt"), notice=b["notice"],
                notice_at=timestamp(b, "noticeAt"), grant=grant_state(b),
            )
            for b in found
        ]  # fmt: skip
        return keyset_page(nodes, [[b["position"]] for b in found], first, count)

    @strawberry.field(
        description="Access requests you are a party to (as their requester, a member of "
        "their team, or an approver of the product's domain), oldest first: with `status: "
        "PENDING`, an approver's queue; with `team`, a team's own requests.",
        extensions=needs("product:read"),
    )
    async def access_requests(
        self,
        info: Info,
        filter: AccessRequestFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[AccessRequest]:
        wanted = filter or AccessRequestFilter()
        return await access_request_page(info, wanted, first, after, "accessRequests")

    @strawberry.field(
        description="Data products ranked for `text` in OpenSearch (of one domain, or all): by "
        "meaning (SEMANTIC: name, description, tags and contract fields embedded with the "
        "classifier's sentence encoder) or by its words (FULL_TEXT).",
        extensions=needs("product:read"),
    )
    async def search_products(
        self,
        info: Info,
        text: str,
        domain: strawberry.ID | None = None,
        mode: ProductSearchMode = ProductSearchMode.SEMANTIC,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[ProductHit]:
        _check_text(info, text)
        check_page_size(first)
        start = offset_after(after, "searchProducts")
        name = parsed.name if (parsed := urn_arg(domain, "domain", "domain")) else None
        semantic = mode is ProductSearchMode.SEMANTIC
        try:
            ranked = await product_search.search(info.context.state, text, name, semantic)
        except SearchUnavailable as err:
            raise coded("SEARCH_UNAVAILABLE", f"search is unavailable: {err}") from err
        window = ranked[start : start + first + 1]
        found = {p.id: p for p in await products_of(info, [h.urn for h in window])}
        items = [
            (start + n, ProductHit(score=h.score, product=found[h.urn]))
            for n, h in enumerate(window)
            if h.urn in found
        ]

        async def count() -> int:
            return len(ranked)

        return offset_page(items, start, first, len(window), count)
