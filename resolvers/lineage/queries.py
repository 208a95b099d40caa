"""Lineage queries: subgraphs, impact, paths and schema diffs, read through the Redis cache.

The cache holds whole results; each caller sees the part in its scope, and an asset out of
scope as a starting point reads as missing (null).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, TypeVar

import strawberry

from graph import lineage_queries as lq
from graph import runs
from resolvers.catalog.compiled import read_whole
from resolvers.catalog.types import Run
from resolvers.common import Connection, Edge, PageInfo
from resolvers.context import Info
from resolvers.errors import ClientError, coded, not_found
from resolvers.lineage.types import (
    Impact,
    InheritedLabel,
    LineageChange,
    LineageGraph,
    SchemaDiff,
)
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
    offset_after,
    offset_page,
)
from resolvers.permissions import needs

DEFAULT_DEPTH = 3
T = TypeVar("T")
INCLUDE_REMOVED = strawberry.argument(
    description="Also walk through and return assets removed from their source."
)
AS_OF = strawberry.argument(
    description="Answer as of this moment: only lineage valid then (FEEDS since..until), "
    "into assets not removed by then. Default: now."
)


def _page(items: list[T], first: int, after: str | None, of: str) -> Connection[T]:
    """A page of a short list read whole (a column's inherited labels, an asset's changes)."""
    start = offset_after(after, of)

    async def count() -> int:
        return len(items)

    ranked = list(enumerate(items))[start : start + first + 1]
    return offset_page(ranked, start, first, len(ranked), count)


def _at(as_of: datetime | None) -> tuple[str, ...]:
    """The cache key's part for ``as_of`` (none for now, so current reads keep their keys)."""
    return (as_of.isoformat(),) if as_of else ()


@strawberry.type
class LineageQuery:
    @strawberry.field(
        description="The lineage graph around an asset, up to 10 hops each way.",
        extensions=needs("lineage:read"),
    )
    async def lineage(
        self,
        info: Info,
        urn: strawberry.ID,
        direction: lq.Direction = lq.Direction.BOTH,
        depth: int = DEFAULT_DEPTH,
        level: lq.Level = lq.Level.TABLE,
        include_removed: Annotated[bool, INCLUDE_REMOVED] = False,
        as_of: Annotated[datetime | None, AS_OF] = None,
    ) -> LineageGraph | None:
        if not 1 <= depth <= lq.MAX_DEPTH:
            raise ClientError(f"depth must be between 1 and {lq.MAX_DEPTH}, got {depth}")
        driver, database = info.context.graph
        shape = (direction.value, str(depth), level.value, str(include_removed))
        graph = await info.context.loaders.cache.across(
            ("lineage", urn, *shape, *_at(as_of)),
            lq.Subgraph,
            lambda: lq.lineage(
                driver, database, urn, direction, depth, level, include_removed, as_of
            ),
        )
        # The walk returns its start as the lookup would: checking the caller may see it
        # costs no second read (docs/benchmarks.md, issue 17).
        for node in graph.nodes if graph else ():
            if node.urn == urn:
                info.context.loaders.prime(node)
        if await info.context.loaders.find(urn) is None:
            raise not_found(urn, "asset")
        if graph is None:
            return None
        return read_whole(info, LineageGraph.from_subgraph(graph, info.context.guard.reaches))

    @strawberry.field(
        description="Everything downstream of an asset, with owners and labels.",
        extensions=needs("lineage:read"),
    )
    async def impact(
        self,
        info: Info,
        urn: strawberry.ID,
        include_removed: Annotated[bool, INCLUDE_REMOVED] = False,
        as_of: Annotated[datetime | None, AS_OF] = None,
    ) -> Impact | None:
        if await info.context.loaders.find(urn) is None:
            raise not_found(urn, "asset")
        driver, database = info.context.graph
        result = await info.context.loaders.cache.across(
            ("impact", urn, str(include_removed), *_at(as_of)),
            lq.Impact,
            lambda: lq.impact(driver, database, urn, include_removed, as_of),
        )
        return Impact.from_result(urn, result, info.context.guard.reaches) if result else None

    @strawberry.field(
        description="The shortest downstream path from one asset to another.",
        extensions=needs("lineage:read"),
    )
    async def lineage_path(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        as_of: Annotated[datetime | None, AS_OF] = None,
    ) -> LineageGraph | None:
        loaders = info.context.loaders
        for end in (from_, to):
            if await loaders.find(end) is None:
                raise not_found(end, "asset")
        driver, database = info.context.graph
        graph = await loaders.cache.across(
            ("path", from_, to, *_at(as_of)),
            lq.Subgraph,
            lambda: lq.shortest_path(driver, database, from_, to, as_of),
        )
        return LineageGraph.from_subgraph(graph, info.context.guard.reaches) if graph else None

    @strawberry.field(
        description="How an asset's lineage changed between two moments: the edges into or out "
        "of it (a table: and its columns) that began or ended after `since` up to `until` "
        "(default: now), oldest first, each with the job or view behind it.",
        extensions=needs("lineage:read"),
    )
    async def lineage_changes(
        self,
        info: Info,
        urn: strawberry.ID,
        since: datetime,
        until: datetime | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[LineageChange] | None:
        check_page_size(first)
        loaders = info.context.loaders
        if await loaders.find(urn) is None:
            return None
        end = until or datetime.now(UTC)
        found = await lq.lineage_changes(*info.context.graph, urn, since, end)
        ends = {u for c in found for u in (c.edge.from_urn, c.edge.to_urn)}
        visible = {u for u in ends if await loaders.find(u) is not None}
        changes = [
            LineageChange.from_result(c)
            for c in found
            if c.edge.from_urn in visible and c.edge.to_urn in visible
        ]
        return _page(changes, first, after, "lineageChanges")

    @strawberry.field(
        description="Labels that follow the data: those a column inherits from upstream columns "
        "through views and jobs, unless a step masks the values (columnLineage masking), only "
        "shapes the rows (INDIRECT), or a steward rejected the label on the way. Null if no "
        "such column; sources out of your scope are left out.",
        extensions=[*needs("lineage:read"), *needs("label:read")],
    )
    async def inherited_labels(
        self,
        info: Info,
        column: strawberry.ID,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[InheritedLabel] | None:
        check_page_size(first)
        loaders = info.context.loaders
        if await loaders.find(column) is None:
            return None
        hits = await lq.inherited_labels(*info.context.graph, column)
        shown = []
        for hit in hits:
            if all([await loaders.find(urn) for urn in hit.path]):
                shown.append(InheritedLabel.from_result(hit))
        return _page(shown, first, after, "inheritedLabels")

    @strawberry.field(
        description="The runs of a job (OpenLineage), newest first; null if no such job.",
        extensions=needs("lineage:read"),
    )
    async def runs(
        self,
        info: Info,
        job: strawberry.ID,
        state: runs.RunState | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Run] | None:
        check_page_size(first)
        if await info.context.loaders.find(job) is None:
            return None
        position = keyset_position(after, 2, "runs") if after else None
        driver, database = info.context.graph
        found = await runs.runs_of(driver, database, job, state, first + 1, position)
        page = found[:first]

        async def count() -> int:
            return await runs.count_runs(driver, database, job, state)

        def cursor(props: dict[str, object], at: str) -> str:
            return keyset_cursor([at, str(props["urn"])])

        return Connection(
            edges=[
                Edge(node=Run.from_props(p, job), position=lambda p=p, at=at: cursor(p, at))
                for p, at in page
            ],
            page_info=PageInfo(
                has_next_page=len(found) > first,
                end_cursor=cursor(*page[-1]) if page else None,
            ),
            count=count,
        )

    @strawberry.field(
        description="How a table's columns changed between two of its versions.",
        extensions=needs("asset:read"),
    )
    async def schema_diff(
        self, info: Info, urn: strawberry.ID, from_version: int, to_version: int
    ) -> SchemaDiff | None:
        if await info.context.loaders.find(urn) is None:
            raise not_found(urn, "table")
        driver, database = info.context.graph
        diff = await lq.schema_diff(driver, database, urn, from_version, to_version)
        if diff is None:
            raise coded(
                "NOT_FOUND",
                f"{urn!r} has no version {from_version} or {to_version}: see Table.versions",
                urn=urn,
            )
        return SchemaDiff.from_result(urn, from_version, to_version, diff)
