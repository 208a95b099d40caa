"""Lineage types: graphs ready for a graph view, impact reports, schema diffs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Self

import strawberry

from graph import lineage_queries as lq
from graph.records import EdgeRecord, NodeRecord
from resolvers.catalog.types import (
    Asset,
    Job,
    Label,
    LabelInheritance,
    LabelStatus,
    LineageKind,
    Team,
    VersionColumn,
    asset_from_record,
)
from resolvers.common import member, timestamp
from resolvers.context import Info

strawberry.enum(lq.Direction, name="LineageDirection")
strawberry.enum(lq.Level, name="LineageLevel")


@strawberry.type(description="Data flows from `from` to `to` (table to table or column to column).")
class LineageEdge:
    from_: strawberry.ID = strawberry.field(name="from")
    to: strawberry.ID
    kind: LineageKind | None
    since: datetime | None = strawberry.field(description="Since when this flow exists.")
    until: datetime | None = strawberry.field(
        description="When it ended: a later complete run of its job no longer declared it."
    )
    transformations: list[str] = strawberry.field(
        description="How a column is derived (OpenLineage columnLineage): DIRECT/IDENTITY, "
        "DIRECT/TRANSFORMATION, DIRECT/AGGREGATION, INDIRECT/FILTER, ..."
    )
    masking: bool = strawberry.field(
        description="The transformation masks the data (a hash, for one)."
    )
    unresolved: bool = strawberry.field(
        description="One end is a table or column no scan has found: dropped since, not "
        "discovered yet, or in no registered source."
    )
    via_urn: strawberry.Private[str | None]

    @strawberry.field(description="The job (view definition, pipeline) that produces this flow.")
    async def via(self, info: Info) -> Job | None:
        if not self.via_urn:
            return None
        record = await info.context.loaders.node(self.via_urn)
        return Job.from_record(record) if record else None

    @classmethod
    def from_record(cls, edge: EdgeRecord) -> Self:
        return cls(
            from_=edge.from_urn,
            to=edge.to_urn,
            kind=member(LineageKind, edge.props.get("kind")),
            since=timestamp(edge.props, "since"),
            until=timestamp(edge.props, "until"),
            transformations=list(edge.props.get("transformations") or []),
            masking=bool(edge.props.get("masking")),
            unresolved=edge.unresolved,
            via_urn=edge.props.get("via"),
        )


@strawberry.type(description="Nodes and edges of a lineage graph, ready to draw.")
class LineageGraph:
    nodes: list[Asset]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(
        description=f"More than {lq.MAX_NODES} assets were reached; only the first are here."
    )

    @classmethod
    def from_subgraph(cls, graph: lq.Subgraph, visible: Callable[[NodeRecord], bool]) -> Self:
        """The part of ``graph`` the caller may see: hidden nodes and their edges are left out."""
        shown = [n for n in graph.nodes if visible(n)]
        urns = {n.urn for n in shown}
        return cls(
            nodes=[a for n in shown if (a := asset_from_record(n)) is not None],
            edges=[
                LineageEdge.from_record(e)
                for e in graph.edges
                if e.from_urn in urns and e.to_urn in urns
            ],
            truncated=graph.truncated,
        )


@strawberry.enum(description="How an asset's lineage changed.")
class LineageChangeKind(Enum):
    ADDED = "added"
    REMOVED = "removed"


@strawberry.type(description="A lineage edge that began or ended between two moments.")
class LineageChange:
    change: LineageChangeKind
    at: datetime = strawberry.field(description="When: the edge's since (added) or until.")
    edge: LineageEdge

    @classmethod
    def from_result(cls, c: lq.LineageChange) -> Self:
        return cls(change=LineageChangeKind(c.kind), at=c.at, edge=LineageEdge.from_record(c.edge))


@strawberry.type(
    description="A label a column inherits from upstream through lineage (views, jobs): the "
    "data of a labelled column flows into it. Distinct from the labels found on the column; "
    "Column.labels lists it too, status INHERITED."
)
class InheritedLabel(LabelInheritance):
    label: Label

    @classmethod
    def from_result(cls, hit: lq.Inherited) -> Self:
        return cls(
            label=Label.from_props(hit.label),
            from_=hit.from_urn,
            status=LabelStatus(hit.status),
            path=list(hit.path),
            via=list(hit.via),
        )


@strawberry.type(description="An asset downstream of the one analysed.")
class ImpactedAsset:
    asset: Asset
    distance: int = strawberry.field(description="FEEDS hops from the analysed asset.")
    owners: list[Team]
    labels: list[Label]


@strawberry.type(description="Everything downstream of an asset: who owns it, what it holds.")
class Impact:
    urn: strawberry.ID
    assets: list[ImpactedAsset]
    truncated: bool

    @strawberry.field(description="Every team owning an impacted asset.")
    def owners(self) -> list[Team]:
        teams = {t.name: t for a in self.assets for t in a.owners}
        return [teams[name] for name in sorted(teams)]

    @classmethod
    def from_result(
        cls, urn: str, result: lq.Impact, visible: Callable[[NodeRecord], bool]
    ) -> Self:
        assets = []
        for hit in result.assets:
            asset = asset_from_record(hit.node) if visible(hit.node) else None
            if asset is not None:
                assets.append(
                    ImpactedAsset(
                        asset=asset,
                        distance=hit.distance,
                        owners=[Team.of_owner(t) for t in hit.owners],
                        labels=[Label.from_props(lab) for lab in hit.labels],
                    )
                )
        return cls(urn=urn, assets=assets, truncated=result.truncated)


@strawberry.type
class ColumnChange:
    name: str
    before: VersionColumn
    after: VersionColumn


@strawberry.type(description="How a table's columns changed from one version to another.")
class SchemaDiff:
    urn: strawberry.ID
    from_version: int
    to_version: int
    added: list[VersionColumn]
    removed: list[VersionColumn]
    changed: list[ColumnChange]

    @classmethod
    def from_result(cls, urn: str, from_version: int, to_version: int, d: lq.SchemaDiff) -> Self:
        return cls(
            urn=urn,
            from_version=from_version,
            to_version=to_version,
            added=[VersionColumn.from_json(c) for c in d.added],
            removed=[VersionColumn.from_json(c) for c in d.removed],
            changed=[
                ColumnChange(
                    name=c.name,
                    before=VersionColumn.from_json(c.before),
                    after=VersionColumn.from_json(c.after),
                )
                for c in d.changed
            ],
        )
