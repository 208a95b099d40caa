"""Lineage queries: subgraphs, impact, paths and schema diffs, read through the Redis cache."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph import lineage_queries as lq
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.types.lineage import Impact, LineageGraph, SchemaDiff

DEFAULT_DEPTH = 3


@strawberry.type
class LineageQuery:
    @strawberry.field(description="The lineage graph around an asset, up to 10 hops each way.")
    async def lineage(
        self,
        info: Info,
        urn: strawberry.ID,
        direction: lq.Direction = lq.Direction.BOTH,
        depth: int = DEFAULT_DEPTH,
        level: lq.Level = lq.Level.TABLE,
    ) -> LineageGraph | None:
        if not 1 <= depth <= lq.MAX_DEPTH:
            raise ClientError(f"depth must be between 1 and {lq.MAX_DEPTH}, got {depth}")
        driver, database = info.context.graph
        graph = await info.context.loaders.cache.lineage(
            ("lineage", urn, direction.value, str(depth), level.value),
            lq.Subgraph,
            lambda: lq.lineage(driver, database, urn, direction, depth, level),
        )
        return LineageGraph.from_subgraph(graph) if graph else None

    @strawberry.field(description="Everything downstream of an asset, with owners and labels.")
    async def impact(self, info: Info, urn: strawberry.ID) -> Impact | None:
        if await info.context.loaders.asset(urn) is None:
            return None
        driver, database = info.context.graph
        result = await info.context.loaders.cache.lineage(
            ("impact", urn), lq.Impact, lambda: lq.impact(driver, database, urn)
        )
        return Impact.from_result(urn, result) if result else None

    @strawberry.field(description="The shortest downstream path from one asset to another.")
    async def lineage_path(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
    ) -> LineageGraph | None:
        driver, database = info.context.graph
        graph = await info.context.loaders.cache.lineage(
            ("path", from_, to), lq.Subgraph, lambda: lq.shortest_path(driver, database, from_, to)
        )
        return LineageGraph.from_subgraph(graph) if graph else None

    @strawberry.field(description="How a table's columns changed between two of its versions.")
    async def schema_diff(
        self, info: Info, urn: strawberry.ID, from_version: int, to_version: int
    ) -> SchemaDiff | None:
        driver, database = info.context.graph
        diff = await lq.schema_diff(driver, database, urn, from_version, to_version)
        return SchemaDiff.from_result(urn, from_version, to_version, diff) if diff else None
