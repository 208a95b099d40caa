"""What scans measured, in the API: anomalies (the classifier records them in the graph, the
relay announces them live) and each table's and column's profile history.

Anomalies are scoped like their table: the caller's domains and sources filter the query
before paging, so pages stay full and show nothing out of scope. A table or column the caller
may not see has no history to show: NOT_FOUND, as for one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from core.urns import InvalidUrn, Urn, table_urn
from graph import anomalies as graph_anomalies
from graph.records import plain
from live import changes
from resolvers.common import Connection, Edge, PageInfo
from resolvers.context import Info
from resolvers.errors import not_found
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
)
from resolvers.permissions import needs
from resolvers.quality.types import Anomaly, AnomalyFilter, Profile


def _anomaly(record: dict) -> Anomaly:
    return Anomaly.from_pydantic(changes.Anomaly.model_validate(plain(record)))


def _profile(point: dict, column: str | None) -> Profile:
    p = plain(point)
    ratios = dict(zip(p.get("nullColumns") or [], p.get("nullRatios") or [], strict=False))
    return Profile(
        at=datetime.fromisoformat(p["at"]),
        row_count=p.get("rowCount") if column is None else None,
        null_ratio=ratios.get(column) if column is not None else None,
    )


def _table_of(urn: str) -> str | None:
    """The table whose profiles hold this table's or column's history."""
    try:
        parsed = Urn.parse(urn)
    except InvalidUrn:
        return None
    if parsed.kind == "table":
        return urn
    if parsed.kind == "column":
        return table_urn(*parsed.segments[:4])
    return None


@strawberry.type
class QualityQuery:
    @strawberry.field(
        description="Anomalies of the tables you may see, newest first.",
        extensions=needs("asset:read"),
    )
    async def anomalies(
        self,
        info: Info,
        filter: AnomalyFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Anomaly]:
        check_page_size(first)
        position = keyset_position(after, 2, "anomalies") if after else None
        where = filter or AnomalyFilter()
        driver, database = info.context.graph
        params = {
            "table": str(where.table) if where.table else None,
            "severity": where.severity.value if where.severity else None,
            "kinds": [k.value for k in where.kinds] if where.kinds is not None else None,
            "source": where.source,
            "scope": info.context.guard.scope(),
        }
        rows = await graph_anomalies.anomaly_page(
            driver, database, limit=first + 1, after=position, **params
        )

        async def count() -> int:
            return await graph_anomalies.count_anomalies(driver, database, **params)

        page = rows[:first]
        return Connection(
            edges=[
                Edge(node=_anomaly(row), position=lambda p=at: keyset_cursor(p)) for row, at in page
            ],
            page_info=PageInfo(
                has_next_page=len(rows) > first,
                end_cursor=keyset_cursor(page[-1][1]) if page else None,
            ),
            count=count,
        )

    @strawberry.field(
        description="The profiles scans measured for a table (row count) or a column (null "
        "ratio), newest first; kept from the first scan the classifier profiled.",
        extensions=needs("asset:read"),
    )
    async def profile_history(
        self,
        info: Info,
        urn: strawberry.ID,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Profile]:
        check_page_size(first)
        table = _table_of(str(urn))
        if table is None or await info.context.loaders.find(str(urn)) is None:
            raise not_found(str(urn), "table or column")
        (before,) = keyset_position(after, 1, "profileHistory") if after else (None,)
        column = None if table == urn else str(urn)
        driver, database = info.context.graph
        rows = await graph_anomalies.profile_history(driver, database, table, first + 1, before)

        async def count() -> int:
            return await graph_anomalies.count_profiles(driver, database, table)

        page = rows[:first]
        return Connection(
            edges=[
                Edge(node=_profile(point, column), position=lambda p=at: keyset_cursor([p]))
                for point, at in page
            ],
            page_info=PageInfo(
                has_next_page=len(rows) > first,
                end_cursor=keyset_cursor([page[-1][1]]) if page else None,
            ),
            count=count,
        )
