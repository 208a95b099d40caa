"""Types of live events, derived from the pydantic models publishers use (live/changes.py)."""

from __future__ import annotations

import strawberry

from core.urns import InvalidUrn, ancestors
from live import changes
from resolvers.catalog.types import node_from_record
from resolvers.common import Node
from resolvers.context import Info

strawberry.enum(changes.ChangeType, description="What happened to an asset.")
strawberry.enum(changes.UrnKind, description="A kind of thing named by URN (urn:dw:<kind>:...).")
strawberry.enum(
    changes.ScanStage,
    description="Where a scan is: VALIDATE (connecting), DISCOVER (reading the source), INGEST "
    "(waiting for the ingest workers), then FINISHED or FAILED. INTERRUPTED: an outage of Kafka, "
    "Neo4j or the source stopped it (`error` says which) and it waits; RESUMED: the outage is "
    "over and it goes on from what the broker had not acknowledged.",
)


@strawberry.experimental.pydantic.type(
    model=changes.CatalogChange,
    all_fields=True,
    description="An asset was added, changed or removed. A rescan announces only what it "
    "changed: ADDED for a table new to the graph (or back after removal), CHANGED with the "
    "`fields` that differ, REMOVED once gone; an unchanged table sends nothing. A pipeline's "
    "OpenLineage events announce CHANGED `lineage` for each table and dataset their jobs read "
    "or wrote, or stopped reading or writing, with `fields` and `dataSource` for a dataset "
    "whose facets they gave. A dataset a scan found as a table is REMOVED, `replacedBy` it.",
)
class CatalogChange:
    urn: strawberry.ID
    replaced_by: strawberry.ID | None = strawberry.field(
        description="What took the place of a removed asset: the table a scan found an "
        "OpenLineage dataset to be. Null otherwise."
    )

    @strawberry.field(description="The asset as it is now; null if you may no longer see it.")
    async def asset(self, info: Info) -> Node | None:
        # Fresh loaders: a subscription lives long, and the asset changes under it.
        record = await info.context.loaders.fresh().node(str(self.urn))
        return node_from_record(record) if record else None


@strawberry.experimental.pydantic.type(
    model=changes.ScanProgress, all_fields=True, description="How far a scan has got."
)
class ScanProgress:
    scan_id: strawberry.ID


@strawberry.experimental.pydantic.type(
    model=changes.ComplianceUpdate,
    all_fields=True,
    description="A compliance evaluation of a domain changed.",
)
class ComplianceUpdate:
    urn: strawberry.ID | None = strawberry.field(
        description="The finding's URN, on an update of a finding (null on a score's)."
    )


@strawberry.input(description="Which catalog changes to receive; omitted fields match all.")
class CatalogChangeFilter:
    source: str | None = None
    kinds: list[changes.UrnKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="URN kinds, e.g. TABLE, COLUMN."
    )
    types: list[changes.ChangeType] | None = None
    urns: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these assets."
    )
    within: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Only these assets and what they contain: a table and its columns (a "
        "label decided on a column is announced for the column), a schema and its tables.",
    )

    def matches(self, change: changes.CatalogChange) -> bool:
        return (
            (self.source is None or change.source == self.source)
            and (self.kinds is None or change.kind in self.kinds)
            and (self.types is None or change.type in self.types)
            and (self.urns is None or change.urn in self.urns)
            and (self.within is None or _inside(change.urn, self.within))
        )


def _inside(urn: str, within: list[strawberry.ID]) -> bool:
    """Whether ``urn`` is one of ``within`` or contained in one (core/urns.py ``ancestors``)."""
    try:
        return not set(within).isdisjoint(ancestors(urn))
    except InvalidUrn:
        return False
