"""``search``: full-text over names, columns, descriptions, tags, labels and owners (OpenSearch).

The index only ranks; every hit is loaded through the request's DataLoaders, so scopes and
masking apply exactly as for ``asset`` and hits the caller may not see are left out.
"""

from __future__ import annotations

import asyncio

import strawberry

from live.search import search
from resolvers.catalog.types import Table, asset_from_record
from resolvers.context import Info
from resolvers.pagination import MAX_PAGE_SIZE
from resolvers.permissions import needs


@strawberry.type(description="A table, view or collection matching a search, best first.")
class SearchHit:
    score: float
    highlights: list[str]
    asset: Table


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Tables, views and collections matching free text (typos tolerated).",
        extensions=needs("asset:read"),
    )
    async def search(
        self,
        info: Info,
        text: str,
        source: str | None = None,
        kind: str | None = None,
        include_removed: bool = False,
        first: int = 20,
    ) -> list[SearchHit]:
        size = max(1, min(first, MAX_PAGE_SIZE))
        state = info.context.state
        hits = await search(
            state.opensearch, text, source=source, kind=kind,
            include_removed=include_removed, size=size,
        )  # fmt: skip
        records = await asyncio.gather(*(info.context.loaders.node(h.urn) for h in hits))
        return [
            SearchHit(score=h.score, highlights=h.highlights, asset=asset)
            for h, record in zip(hits, records, strict=True)
            if record and isinstance(asset := asset_from_record(record), Table)
        ]
