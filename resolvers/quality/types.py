"""Types of what scans measure: anomalies (live/changes.py's model, shared with the
subscription) and the profile history of tables and columns."""

from __future__ import annotations

from datetime import datetime

import strawberry

from live import changes
from resolvers.catalog.types import node_from_record
from resolvers.common import BigInt, Node
from resolvers.context import Info

strawberry.enum(changes.AnomalyKind, description="What changed beyond its threshold.")
strawberry.enum(changes.Severity, name="AnomalySeverity", description="How urgent an anomaly is.")


@strawberry.experimental.pydantic.type(
    model=changes.Anomaly,
    all_fields=True,
    description="A scan found something changed beyond a threshold since the previous scan: "
    "a row-count drop, a null-ratio jump, a new column holding sensitive data.",
)
class Anomaly:
    id: strawberry.ID
    subject: strawberry.ID = strawberry.field(description="The table or column (URN).")
    table: strawberry.ID

    @strawberry.field(description="The table or column as it is now, if you may see it.")
    async def asset(self, info: Info) -> Node | None:
        # Fresh loaders: on a subscription the context lives long.
        record = await info.context.loaders.fresh().node(str(self.subject))
        return node_from_record(record) if record else None


@strawberry.input(description="Which anomalies; omitted fields match all.")
class AnomalyFilter:
    table: strawberry.ID | None = None
    source: str | None = None
    severity: changes.Severity | None = None
    kinds: list[changes.AnomalyKind] | None = None

    def matches(self, anomaly: changes.Anomaly) -> bool:
        return (
            (self.table is None or anomaly.table == self.table)
            and (self.source is None or anomaly.source == self.source)
            and (self.severity is None or anomaly.severity == self.severity)
            and (self.kinds is None or anomaly.kind in self.kinds)
        )


@strawberry.type(
    description="A profile a scan measured: a table's row count, or one column's null ratio."
)
class Profile:
    at: datetime
    row_count: BigInt | None = strawberry.field(description="The table's rows (estimated).")
    null_ratio: float | None = strawberry.field(
        description="The column's share of nulls, 0 to 1 (null for a table's profile)."
    )
