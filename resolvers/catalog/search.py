"""``search``: full-text over names, columns, descriptions, tags, labels and owners (OpenSearch).

The caller's scope is part of the OpenSearch query, so the top hits are the best of what the
caller may see: ranks and page sizes say nothing of other tables. Every hit is still loaded
through the request's DataLoaders, so masking (and a scope changed since the table was last
indexed) apply exactly as for ``asset``.
"""

from __future__ import annotations

import asyncio

import strawberry

from live.search import search
from resolvers.catalog.types import Table, asset_from_record
from resolvers.context import Info
from resolvers.errors import coded
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
        state = info.context.state
        limit = state.settings.limits.max_search_chars
        if len(text) > limit:
            raise coded("BAD_USER_INPUT", f"search text is longer than {limit} characters")
        domains, sources = info.context.guard.scope()
        hits = await search(
            state.opensearch, text, source=source, kind=kind,
            include_removed=include_removed, domains=domains, sources=sources,
            size=max(1, min(first, MAX_PAGE_SIZE)),
        )  # fmt: skip
        records = await asyncio.gather(*(info.context.loaders.node(h.urn) for h in hits))
        return [
            SearchHit(score=h.score, highlights=h.highlights, asset=asset)
            for h, record in zip(hits, records, strict=True)
            if record and isinstance(asset := asset_from_record(record), Table)
        ]
