"""``search``: full-text over names, columns, descriptions, tags, labels and owners (OpenSearch).

The caller's scope is part of the OpenSearch query, so the top hits are the best of what the
caller may see: ranks and page sizes say nothing of other tables. Every hit is still loaded
through the request's DataLoaders, so masking (and a scope changed since the table was last
indexed) apply exactly as for ``asset``. While OpenSearch does not answer, search is a
``SEARCH_UNAVAILABLE`` error (docs/operations.md); the rest of the catalog answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import strawberry

from live.search import SearchUnavailable, count_matches, search
from resolvers.catalog.types import Table, TableKind, asset_from_record
from resolvers.common import Connection
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.pagination import check_page_size, offset_after, offset_page
from resolvers.permissions import needs

DEFAULT_HITS = 20
T = TypeVar("T")


async def _answered(call: Awaitable[T]) -> T:
    try:
        return await call
    except SearchUnavailable as err:
        raise coded(
            "SEARCH_UNAVAILABLE",
            f"search is unavailable: {err}; try again shortly (the rest of the catalog answers)",
        ) from err


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
        kind: TableKind | None = None,
        include_removed: bool = False,
        first: int = DEFAULT_HITS,
        after: str | None = None,
    ) -> Connection[SearchHit]:
        state = info.context.state
        limit = state.settings.limits.max_search_chars
        if len(text) > limit:
            raise coded("BAD_USER_INPUT", f"search text is longer than {limit} characters")
        check_page_size(first)
        start = offset_after(after, "search")
        domains, sources = info.context.guard.scope()
        where = {
            "source": source, "kind": kind.value if kind else None,
            "include_removed": include_removed, "domains": domains, "sources": sources,
            "granted": await info.context.loaders.granted(),
        }  # fmt: skip
        hits = await _answered(
            search(state.opensearch, text, size=first + 1, offset=start, **where)
        )
        records = await asyncio.gather(*(info.context.loaders.node(h.urn) for h in hits))
        found = [
            (start + n, SearchHit(score=h.score, highlights=h.highlights, asset=asset))
            for n, (h, record) in enumerate(zip(hits, records, strict=True))
            if record and isinstance(asset := asset_from_record(record), Table)
        ]

        async def count() -> int:
            return await _answered(count_matches(state.opensearch, text, **where))

        return offset_page(found, start, first, len(hits), count)
