"""Catalog types: data sources, the containment tree, versions, jobs, owners and labels.

Scalar fields are copied from the graph record; every relationship is a resolver that goes
through the request's DataLoaders, so a page of N tables costs a fixed number of queries. The
loaders leave out what the caller may not see; relationship fields that need a permission of
their own (lineage, labels) are empty without it; values of sensitive columns are masked
(resolvers/masking.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Annotated, Any, Self, TypeVar

import strawberry

from core.kinds import KINDS
from core.sources import TlsMode
from core.urns import Urn, source_urn
from graph import catalog
from graph.catalog import AssetFilter, AssetKind, AssetSort, Relation, SortField
from graph.records import NodeRecord, Related, plain
from graph.runs import RunState, job_urn
from ml.taxonomy import Sensitivity
from resolvers.common import (
    BigInt,
    Connection,
    Edge,
    Node,
    PageInfo,
    TableKind,
    member,
    timestamp,
)
from resolvers.context import Info, asks_for
from resolvers.governance.types import Control, Finding, Framework, Policy, Waiver
from resolvers.labels.evidence import Shown, shown_evidence, shown_explanation
from resolvers.masking import reveal_one
from resolvers.mesh.requests import AccessRequest
from resolvers.mesh.types import DataProduct, Domain, ProductVersion, Team
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    decode_cursor,
    encode_cursor,
    numbered_page,
    urn_page,
)
from resolvers.permissions import needs_quietly
from resolvers.sources.breakers import CircuitBreaker, circuit_breaker

A = TypeVar("A")
LINEAGE = "lineage:read"
LABELS = "label:read"
MASKED = (
    "Masked if the column is sensitive, as the masking policy in force says (maskingRules; "
    "shipped default: unless you hold pii:read in its scope)."
)
INHERITED = strawberry.argument(description="Also the labels inherited along lineage.")


async def _related(info: Info, relation: Relation, urn: str) -> list[Related]:
    return await info.context.loaders.related(relation, urn)


strawberry.enum(
    Sensitivity,
    description="How much harm a leak does: CONFIDENTIAL and RESTRICTED values are masked as "
    "the masking policy in force says (shipped default: without pii:read in the column's scope).",
)


@strawberry.enum(description="Where a label on a column stands.")
class LabelStatus(Enum):
    SUGGESTED = "suggested"
    REVIEW = strawberry.enum_value("review", description="Below the suggestion threshold.")
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    PENDING_REJECTION = strawberry.enum_value(
        "pending_rejection",
        description="Asked by a steward without pii:read; it masks until someone with "
        "pii:read rejects it.",
    )
    INHERITED = strawberry.enum_value(
        "inherited",
        description="Not found on the column: its values come along lineage from an upstream "
        "column that holds the label (see `inheritance`). A steward stops it by rejecting the "
        "label there (for everything below too) or makes it the column's own by confirming it.",
    )


@strawberry.enum(description="What DataWave last learned of a data source.")
class SourceStatus(Enum):
    REGISTERED = strawberry.enum_value("registered", description="Never checked yet.")
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


@strawberry.enum(description="What produces a flow of data.")
class LineageKind(Enum):
    VIEW = strawberry.enum_value("view", description="A view's definition (SQL) reads it.")
    MANUAL = strawberry.enum_value("manual", description="Asserted by a steward.")
    OPENLINEAGE = strawberry.enum_value("openlineage", description="A pipeline's runs.")


@strawberry.type(description="A classification label such as PII.Email.")
class Label:
    name: str
    category: str | None
    sensitivity: Sensitivity | None

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Self:
        return cls(
            name=props["name"],
            category=props.get("category"),
            sensitivity=member(Sensitivity, props.get("sensitivity")),
        )


@strawberry.type(description="What one detector saw for a label.")
class LabelEvidence:
    detector: str
    score: float | None
    hits: int | None
    total: int | None
    detail: str | None
    examples: list[str] = strawberry.field(
        description="Sample values the detector saw: as read if you may see the label's values "
        "in clear (the masking policy; shipped default: pii:read in the column's scope), else "
        "their shape, masked like `min`."
    )
    examples_sealed: bool = strawberry.field(
        description="The examples are stored encrypted. False for evidence classified before "
        "they were: only their shape was kept, and nobody can see them in clear until the "
        "column is scanned again."
    )
    examples_in_clear: bool = strawberry.field(description="`examples` are the values as read.")

    @classmethod
    def from_shown(cls, shown: Shown) -> Self:
        e = shown.summary
        return cls(
            detector=e.get("detector", ""),
            score=e.get("score"),
            hits=e.get("hits"),
            total=e.get("total"),
            detail=e.get("detail"),
            examples=shown.examples,
            examples_sealed=shown.sealed,
            examples_in_clear=shown.in_clear,
        )


@strawberry.type(
    description="What one signal added to a label's score: the detector's score in [0, 1] and "
    "its share of the model's log-odds (bias: the model's starting point; floor:specific or "
    "floor:strict: the values alone passed a validator, so confidence is at least that floor)."
)
class LabelContribution:
    signal: str
    score: float
    contribution: float


def contributions_of(text: str | None) -> list[LabelContribution]:
    return [LabelContribution(**c) for c in json.loads(text or "[]")]


@strawberry.type(
    description="Where an inherited label comes from: the nearest upstream column holding it and "
    "the lineage its values took."
)
class LabelInheritance:
    from_: strawberry.ID = strawberry.field(
        name="from", description="The nearest upstream column holding the label."
    )
    status: LabelStatus = strawberry.field(description="The label's status there.")
    path: list[strawberry.ID] = strawberry.field(
        description="The columns from there to here, in order (the provenance)."
    )
    via: list[strawberry.ID | None] = strawberry.field(
        description="The job or view behind each hop (null: lineage asserted by hand)."
    )

    @classmethod
    def of(cls, edge: dict[str, Any]) -> Self | None:
        """From an ``INHERITS`` edge's properties (graph/inheritance.py); None for others."""
        if edge.get("status") != LabelStatus.INHERITED.value:
            return None
        return cls(
            from_=edge["source"],
            status=LabelStatus(edge["sourceStatus"]),
            path=list(edge["path"]),
            via=[v or None for v in edge["via"]],  # "" stands for a hop asserted by hand
        )


@strawberry.type(description="A label on a column, with how sure and how it was decided.")
class LabelAssignment:
    label: Label
    column: strawberry.ID
    confidence: float | None
    method: str | None
    status: LabelStatus | None
    at: datetime | None = strawberry.field(description="When it was last classified.")
    evidence_json: strawberry.Private[str | None] = None
    explanation_text: strawberry.Private[str | None] = None
    contributions_json: strawberry.Private[str | None] = None
    inheritance: LabelInheritance | None = strawberry.field(
        default=None, description="Where an INHERITED label comes from; null for the others."
    )

    @strawberry.field(description="What each signal added to the confidence (none: decided).")
    def contributions(self) -> list[LabelContribution]:
        return contributions_of(self.contributions_json)

    @strawberry.field(
        description="Each detector's finding; examples in clear only if the masking policy shows "
        "this label's values in clear (see LabelEvidence.examples)."
    )
    async def evidence(self, info: Info) -> list[LabelEvidence]:
        found = await shown_evidence(
            info, self.column, self.label.name, self.label.sensitivity, self.evidence_json
        )
        return [LabelEvidence.from_shown(s) for s in found]

    @strawberry.field(
        description="Why, in one sentence; the examples it quotes are shown like `evidence`."
    )
    async def explanation(self, info: Info) -> str | None:
        return await shown_explanation(
            info,
            self.column,
            self.label.name,
            self.label.sensitivity,
            self.explanation_text,
            self.evidence_json,
        )


def _assignments(found: list[Related]) -> list[LabelAssignment]:
    return [
        LabelAssignment(
            label=Label.from_props(r.node.props),
            column=r.rel["column"],
            confidence=r.rel.get("confidence"),
            method=r.rel.get("method"),
            status=member(LabelStatus, r.rel.get("status")),
            at=timestamp(r.rel, "at"),
            evidence_json=r.rel.get("evidence"),
            explanation_text=r.rel.get("explanation"),
            contributions_json=r.rel.get("contributions"),
            inheritance=LabelInheritance.of(r.rel),
        )
        for r in found
    ]


def visible_inherited(own: list[Related], found: list[Related], seen: set[str]) -> list[Related]:
    """The inherited labels to show beside the columns' ``own``: none a column holds itself
    (its own decision wins), and only those whose whole path lies in ``seen``, the columns the
    caller may see (like ``inheritedLabels``: no glimpse of lineage out of scope)."""
    held = {(r.rel["column"], r.node.props["name"]) for r in own}
    return [
        r
        for r in found
        if (r.rel["column"], r.node.props["name"]) not in held
        and seen.issuperset(r.rel.get("path") or ())
    ]


async def with_inherited(info: Info, own: list[Related], found: list[Related]) -> list[Related]:
    """``own`` (columns' labels) and the inherited labels ``found`` on them that show."""
    paths = sorted({u for r in found for u in r.rel.get("path") or ()})
    records = await asyncio.gather(*(info.context.loaders.node(u) for u in paths))
    seen = {u for u, record in zip(paths, records, strict=True) if record is not None}
    return own + visible_inherited(own, found, seen)


@strawberry.interface(
    description="A catalogued database, schema, table or column, or a dataset OpenLineage "
    "events named that no registered source holds."
)
class Asset(Node):
    name: str
    source: str = strawberry.field(
        description="Name of the data source it was discovered in (a dataset's namespace)."
    )
    description: str | None = strawberry.field(
        description="The curated description (describeAsset) or else the source's comment."
    )
    tags: list[str]
    removed_at: datetime | None = strawberry.field(
        description="When a scan stopped seeing it (soft delete); null while it exists."
    )

    @strawberry.field(description="Teams that own it.")
    async def owners(self, info: Info) -> list[Team]:
        return [Team.of_owner(r.node.props) for r in await _related(info, Relation.OWNERS, self.id)]

    @classmethod
    def base(cls, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": props["urn"],
            "name": props.get("name") or props["urn"],
            "source": props.get("source", ""),
            "description": props.get("curatedDescription") or props.get("description"),
            "tags": props.get("tags") or [],
            "removed_at": timestamp(props, "removedAt"),
        }

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls(**cls.base(record.props))


# As ``lineage`` without ``asOf``: an edge a later run of its job ended is left out.
NOW = (
    " now (one hop), each once however many jobs join them (their `via` is on `lineage`'s"
    " edges): edges a later run of their job ended are in `lineage(asOf:)`."
)
UPSTREAM = "Tables and OpenLineage datasets this one is fed from" + NOW
DOWNSTREAM = "Tables and OpenLineage datasets this one feeds" + NOW


async def _upstream(
    root: Asset, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
) -> Connection[Asset]:
    """``upstream`` of a table or dataset: either may feed either (OpenLineage jobs)."""
    return await _hop(Asset, info, Relation.UPSTREAM, root.id, first, after)


async def _downstream(
    root: Asset,
    info: Info,
    include_removed: bool = False,
    first: int = DEFAULT_PAGE_SIZE,
    after: str | None = None,
) -> Connection[Asset]:
    return await _hop(Asset, info, Relation.DOWNSTREAM, root.id, first, after, include_removed)


@strawberry.type
class Database(Asset):
    @strawberry.field
    async def data_source(self, info: Info) -> DataSource | None:
        record = await info.context.loaders.node(source_urn(self.source))
        return DataSource.from_record(record) if record else None

    @strawberry.field(description="Its schemas, in URN order.")
    async def schemas(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Schema]:
        found = await _related(info, Relation.CHILDREN, self.id)
        schemas = [Schema.from_record(r.node) for r in found if "Schema" in r.node.labels]
        return urn_page(schemas, _urn, first, after)


@strawberry.type
class Schema(Asset):
    @strawberry.field
    async def database(self, info: Info) -> Database | None:
        found = await _related(info, Relation.PARENT, self.id)
        return next((Database.from_record(r.node) for r in found), None)

    @strawberry.field(description="Its tables, views and collections, a page at a time.")
    async def tables(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        sort: AssetSortInput | None = None,
    ) -> Connection[Table]:
        where = AssetFilter(kind=AssetKind.DATASET, schema=self.id)
        return await asset_page(info, where, (sort or AssetSortInput()).to_sort(), first, after)


@strawberry.type(description="A table, view or collection.")
class Table(Asset):
    kind: TableKind | None
    row_count: BigInt | None
    row_count_exact: bool | None
    size_bytes: BigInt | None
    view_sql: str | None
    primary_key: list[str]
    fingerprint: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None

    @strawberry.field
    async def schema(self, info: Info) -> Schema | None:
        found = await _related(info, Relation.PARENT, self.id)
        return next((Schema.from_record(r.node) for r in found), None)

    @strawberry.field(description="Columns in ordinal order; removed ones only if asked.")
    async def columns(
        self,
        info: Info,
        include_removed: Annotated[
            bool,
            strawberry.argument(
                deprecation_reason="Use removedColumns, which pages: removed columns add up "
                "with every rescan that finds a table's columns renamed or gone."
            ),
        ] = False,
    ) -> list[Column]:
        return [c for c in await self._columns(info) if include_removed or c.removed_at is None]

    @strawberry.field(
        description="Columns its source no longer has, in URN order. They add up, without "
        "bound, as rescans find columns renamed or dropped (a collection's fields come and go "
        "with its documents), so they page, unlike the live `columns`."
    )
    async def removed_columns(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Column]:
        removed = [c for c in await self._columns(info) if c.removed_at is not None]
        return urn_page(removed, _urn, first, after)

    async def _columns(self, info: Info) -> list[Column]:
        """Every column, removed ones too: one DataLoader batch for a page of tables."""
        return [Column.from_record(r.node) for r in await _related(info, Relation.COLUMNS, self.id)]

    async def _versions(self, info: Info) -> list[SchemaVersion]:
        """Every schema version, oldest first: one DataLoader batch for a page of tables."""
        found = await _related(info, Relation.VERSIONS, self.id)
        return [SchemaVersion.from_record(r.node) for r in found]

    @strawberry.field(description="Its schema versions, oldest first.")
    async def versions(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[SchemaVersion]:
        found = await self._versions(info)
        return numbered_page(found, lambda v: v.version, first, after, "versions")

    @strawberry.field
    async def current_version(self, info: Info) -> SchemaVersion | None:
        versions = await self._versions(info)
        return versions[-1] if versions else None

    upstream: Connection[Asset] = strawberry.field(
        resolver=_upstream, description=UPSTREAM, extensions=needs_quietly(LINEAGE)
    )
    downstream: Connection[Asset] = strawberry.field(
        resolver=_downstream, description=DOWNSTREAM, extensions=needs_quietly(LINEAGE)
    )

    @strawberry.field(
        description="Labels on its columns (rejected suggestions included), then those they "
        "inherit along lineage (status INHERITED), as Column.labels shows them.",
        extensions=needs_quietly(LABELS),
    )
    async def labels(
        self, info: Info, inherited: Annotated[bool, INHERITED] = True
    ) -> list[LabelAssignment]:
        columns = {r.node.urn for r in await _related(info, Relation.COLUMNS, self.id)}
        found = await _related(info, Relation.COLUMN_LABELS, self.id)
        own = [r for r in found if r.rel["column"] in columns]
        if not inherited:
            return _assignments(own)
        more = await _related(info, Relation.COLUMN_INHERITED_LABELS, self.id)
        below = [r for r in more if r.rel["column"] in columns]
        return _assignments(await with_inherited(info, own, below))

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        kind = p.get("kind")
        return cls(
            **cls.base(p),
            kind=TableKind(kind) if kind in TableKind._value2member_map_ else None,
            row_count=p.get("rowCount"),
            row_count_exact=p.get("rowCountExact"),
            size_bytes=p.get("sizeBytes"),
            view_sql=p.get("viewSql"),
            primary_key=p.get("primaryKey") or [],
            fingerprint=p.get("fingerprint"),
            first_seen_at=timestamp(p, "firstSeenAt"),
            last_seen_at=timestamp(p, "lastSeenAt"),
        )


@strawberry.type(description="A column of a table, or a field of a document collection.")
class Column(Asset):
    data_type: str | None
    nullable: bool | None
    default: str | None
    ordinal: int | None
    is_primary_key: bool | None
    null_ratio: float | None
    distinct_count: BigInt | None
    min_value: strawberry.Private[str | None]
    max_value: strawberry.Private[str | None]

    @strawberry.field(description=f"Smallest value profiled. {MASKED}")
    async def min(self, info: Info) -> str | None:
        return await reveal_one(info, self.id, "min", self.min_value)

    @strawberry.field(description=f"Largest value profiled. {MASKED}")
    async def max(self, info: Info) -> str | None:
        return await reveal_one(info, self.id, "max", self.max_value)

    @strawberry.field
    async def table(self, info: Info) -> Table | None:
        return next(iter(_of_type(Table, await _related(info, Relation.PARENT, self.id))), None)

    @strawberry.field(
        description="Its labels: those found or decided on it, then those its values inherit "
        "along column lineage (views, jobs) from an upstream column, status INHERITED with "
        "their `inheritance` (graph/inheritance.py rules: masking and INDIRECT steps and a "
        "steward's rejection stop them). A label it holds itself, in any status, wins; an "
        "inherited one shows only if every column on its path is in your scope.",
        extensions=needs_quietly(LABELS),
    )
    async def labels(
        self, info: Info, inherited: Annotated[bool, INHERITED] = True
    ) -> list[LabelAssignment]:
        own = await _related(info, Relation.LABELS, self.id)
        if not inherited:
            return _assignments(own)
        found = await _related(info, Relation.INHERITED_LABELS, self.id)
        return _assignments(await with_inherited(info, own, found))

    @strawberry.field(
        description="Columns this one is fed from" + NOW, extensions=needs_quietly(LINEAGE)
    )
    async def upstream(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Column]:
        return await _hop(Column, info, Relation.UPSTREAM, self.id, first, after)

    @strawberry.field(description="Columns this one feeds" + NOW, extensions=needs_quietly(LINEAGE))
    async def downstream(
        self,
        info: Info,
        include_removed: bool = False,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Column]:
        return await _hop(Column, info, Relation.DOWNSTREAM, self.id, first, after, include_removed)

    @strawberry.field(description="Columns its foreign keys reference.")
    async def references(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Column]:
        return await _hop(Column, info, Relation.REFERENCES, self.id, first, after)

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        return cls(
            **cls.base(p),
            data_type=p.get("dataType"),
            nullable=p.get("nullable"),
            default=p.get("default"),
            ordinal=p.get("ordinal"),
            is_primary_key=p.get("isPrimaryKey"),
            null_ratio=p.get("nullRatio"),
            distinct_count=p.get("distinctCount"),
            min_value=p.get("min"),
            max_value=p.get("max"),
        )


@strawberry.type(description="A registered database server or document store.")
class DataSource(Node):
    name: str
    kind: str | None = strawberry.field(
        description="Its connector's kind (mysql, mariadb, postgresql, mongodb): a String, "
        "since the connector registry (ingest/connectors/base.py) takes new engines."
    )
    host: str | None
    port: int | None
    user: str | None = strawberry.field(description="Who it connects as (never a password).")
    status: SourceStatus | None
    server_version: str | None
    last_error: str | None
    last_checked_at: datetime | None
    last_scan_at: datetime | None
    configured_databases: list[str]
    # The settings it was registered with (core/sources.py DataSourceConfig; null for a source
    # only lineage has named).
    tls: TlsMode | None = strawberry.field(description="How the connection is encrypted.")
    pool_size: int | None = strawberry.field(description="Connections (and parallel tables).")
    timeout_s: float | None = strawberry.field(description="Seconds any call may take.")
    sample_size: int | None = strawberry.field(
        description="Sample values kept per column for classification."
    )
    profile_rows: int | None = strawberry.field(
        description="Rows read to profile a table's columns."
    )
    exact_count_limit: BigInt | None = strawberry.field(
        description="Tables up to this many rows get an exact COUNT(*)."
    )
    sample_documents: int | None = strawberry.field(
        description="Documents read per MongoDB collection."
    )

    @strawberry.field(description="Databases discovered in it, in URN order.")
    async def databases(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Database]:
        found = await _related(info, Relation.SOURCE_DATABASES, self.id)
        databases = [Database.from_record(r.node) for r in found if "Database" in r.node.labels]
        return urn_page(databases, _urn, first, after)

    @strawberry.field(
        description="Its circuit breaker (scans refused while OPEN); null while Redis cannot tell."
    )
    async def circuit_breaker(self, info: Info) -> CircuitBreaker | None:
        return await circuit_breaker(info, self.name)

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props(record.props)

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Self:
        """From the properties graph/sources.py returns (or a record's, already plain)."""
        p = plain(props)
        return cls(
            id=p["urn"],
            name=p.get("name") or p["urn"],
            kind=p.get("kind"),
            host=p.get("host"),
            port=p.get("port"),
            user=p.get("user"),
            status=member(SourceStatus, p.get("status")),
            server_version=p.get("serverVersion"),
            last_error=p.get("lastError"),
            last_checked_at=timestamp(p, "lastCheckedAt"),
            last_scan_at=timestamp(p, "lastScanAt"),
            configured_databases=p.get("databases") or [],
            tls=TlsMode(p["tls"]) if p.get("tls") in TlsMode._value2member_map_ else None,
            pool_size=p.get("poolSize"),
            timeout_s=p.get("timeoutS"),
            sample_size=p.get("sampleSize"),
            profile_rows=p.get("profileRows"),
            exact_count_limit=p.get("exactCountLimit"),
            sample_documents=p.get("sampleDocuments"),
        )


@strawberry.type(description="A column as one schema version recorded it.")
class VersionColumn:
    name: str
    data_type: str | None
    nullable: bool | None
    ordinal: int | None

    @classmethod
    def from_json(cls, c: dict[str, Any]) -> Self:
        return cls(
            name=c["name"],
            data_type=c.get("dataType"),
            nullable=c.get("nullable"),
            ordinal=c.get("ordinal"),
        )


@strawberry.type(description="One distinct column layout a table has had.")
class SchemaVersion(Node):
    name: str
    version: int
    fingerprint: str | None
    captured_at: datetime | None
    columns: list[VersionColumn]

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        return cls(
            id=p["urn"],
            name=p.get("name") or p["urn"],
            version=p["version"],
            fingerprint=p.get("fingerprint"),
            captured_at=timestamp(p, "capturedAt"),
            columns=[VersionColumn.from_json(c) for c in json.loads(p.get("columns") or "[]")],
        )


@strawberry.type(description="What produces lineage: a view definition or a pipeline job.")
class Job(Node):
    name: str
    kind: LineageKind | None

    @strawberry.field(description="What it reads.", extensions=needs_quietly(LINEAGE))
    async def reads(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Asset]:
        return await _hop(Asset, info, Relation.JOB_READS, self.id, first, after)

    @strawberry.field(description="What it writes.", extensions=needs_quietly(LINEAGE))
    async def writes(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Asset]:
        return await _hop(Asset, info, Relation.JOB_WRITES, self.id, first, after)

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        return cls(
            id=p["urn"], name=p.get("name") or p["urn"], kind=member(LineageKind, p.get("kind"))
        )


strawberry.enum(
    RunState,
    description="Where a run is: START, RUNNING, then COMPLETE, FAIL or ABORT (OpenLineage).",
)


async def _visible_assets(info: Info, urns: list[str]) -> list[Asset]:
    """The assets among ``urns`` the caller may see, looked up in one batch."""
    found = await asyncio.gather(*(info.context.loaders.node(u) for u in urns))
    return [a for r in found if r is not None and (a := asset_from_record(r)) is not None]


@strawberry.type(description="One run of a job, as its OpenLineage events reported it.")
class Run(Node):
    run_id: str = strawberry.field(description="The producer's run id (a UUID).")
    state: RunState = strawberry.field(
        description="The furthest state reported, whatever order the events arrived in."
    )
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    error_message: str | None = strawberry.field(description="From the errorMessage facet.")
    stack_trace: str | None
    job_urn: strawberry.Private[str]
    # What all its events declared (graph/runs.py), as tables or datasets.
    input_urns: strawberry.Private[list[str]]
    output_urns: strawberry.Private[list[str]]

    @strawberry.field(description="The job this is a run of.")
    async def job(self, info: Info) -> Job | None:
        record = await info.context.loaders.node(self.job_urn)
        return Job.from_record(record) if record else None

    @strawberry.field(
        description="What its events declared it read (tables, datasets), in URN order.",
        extensions=needs_quietly(LINEAGE),
    )
    async def inputs(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Asset]:
        return urn_page(await _visible_assets(info, self.input_urns), _urn, first, after)

    @strawberry.field(
        description="What its events declared it wrote (tables, datasets), in URN order.",
        extensions=needs_quietly(LINEAGE),
    )
    async def outputs(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Asset]:
        return urn_page(await _visible_assets(info, self.output_urns), _urn, first, after)

    @classmethod
    def from_props(cls, p: dict[str, Any], job: str) -> Self:
        return cls(
            id=p["urn"],
            run_id=p["runId"],
            state=RunState(p.get("state") or "OTHER"),
            started_at=timestamp(p, "startedAt"),
            ended_at=timestamp(p, "endedAt"),
            duration_ms=p.get("durationMs"),
            error_message=p.get("errorMessage"),
            stack_trace=p.get("stackTrace"),
            job_urn=job,
            input_urns=list(p.get("inputs") or []),
            output_urns=list(p.get("outputs") or []),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        """A run's job is in its URN: <job namespace>/<job name>/<run id>."""
        run = Urn.parse(record.urn)
        return cls.from_props(record.props, job_urn(run.source or "", run.path[0]))


@strawberry.type(description="A field of an OpenLineage dataset, as its schema facet gave it.")
class DatasetField:
    name: str
    type: str | None
    description: str | None


@strawberry.type(
    description="A dataset OpenLineage events named that no registered source holds (an S3 "
    "path, a Kafka topic, a BigQuery table, ...): `source` is its namespace. Once a scan finds "
    "it as a table of a registered source, that table takes its place (and its lineage)."
)
class Dataset(Asset):
    namespace: str = strawberry.field(description="Its OpenLineage namespace.")
    data_source: str | None = strawberry.field(description="From the dataSource facet: its URI.")
    fields_json: strawberry.Private[str | None]
    upstream: Connection[Asset] = strawberry.field(
        resolver=_upstream, description=UPSTREAM, extensions=needs_quietly(LINEAGE)
    )
    downstream: Connection[Asset] = strawberry.field(
        resolver=_downstream, description=DOWNSTREAM, extensions=needs_quietly(LINEAGE)
    )

    @strawberry.field(name="fields", description="Its fields, as its latest schema facet gave.")
    def schema_fields(self) -> list[DatasetField]:
        return [
            DatasetField(name=f["name"], type=f.get("type"), description=f.get("description"))
            for f in json.loads(self.fields_json or "[]")
        ]

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        return cls(
            **cls.base(p),
            namespace=p.get("namespace") or p.get("source", ""),
            data_source=p.get("dataSource"),
            fields_json=p.get("fields"),
        )


# The Strawberry class of each GraphQL type name the kinds registry serves (core/kinds.py).
NodeType = (
    Database | Schema | Table | Column | DataSource | SchemaVersion | Job | Run | Dataset
    | Domain | Team | DataProduct | ProductVersion | AccessRequest
    | Policy | Framework | Control | Finding | Waiver
)  # fmt: skip
NODE_TYPES: dict[str, type[NodeType]] = {
    cls.__strawberry_definition__.name: cls
    for cls in (
        DataSource, Database, Schema, Table, Column, SchemaVersion, Job, Run, Dataset,
        Domain, Team, DataProduct, ProductVersion, AccessRequest,
        Policy, Framework, Control, Finding, Waiver,
    )
}  # fmt: skip


def node_from_record(record: NodeRecord) -> Node | None:
    """Any node, as the GraphQL type its kind names; None for kinds not served."""
    kind = KINDS.of_labels(record.labels)
    cls = NODE_TYPES.get(kind.graphql) if kind and kind.graphql else None
    return cls.from_record(record) if cls else None


def asset_from_record(record: NodeRecord) -> Asset | None:
    """The GraphQL type for an ``:Asset`` node, by its kind."""
    node = node_from_record(record)
    return node if isinstance(node, Asset) else None


def _assets(found: list[Related]) -> list[Asset]:
    return [a for r in found if (a := asset_from_record(r.node)) is not None]


def _urn(asset: Asset | Node) -> str:
    return asset.id


def _of_type(cls: type[A], found: list[Related]) -> list[A]:
    return [a for a in _assets(found) if isinstance(a, cls)]


Fed = TypeVar("Fed", bound=Asset)


async def _hop(
    cls: type[Fed],
    info: Info,
    relation: Relation,
    urn: str,
    first: int,
    after: str | None,
    include_removed: bool = True,
) -> Connection[Fed]:
    """One hop of lineage or references as a page; assets removed from their source only if
    asked for (upstream shows them: a live view may still read a dropped table)."""
    found = _of_type(cls, await _related(info, relation, urn))
    return urn_page(
        [a for a in found if include_removed or a.removed_at is None], _urn, first, after
    )


# --- filtered, sorted pages --------------------------------------------------------------------

strawberry.enum(AssetKind, description="What kind of asset (DATASET: table, view or collection).")
strawberry.enum(SortField, description="What to sort assets by.")


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Conditions that all must hold; omitted ones match anything.")
class AssetFilterInput:
    source: str | None = None
    kind: AssetKind | None = None
    label: str | None = strawberry.field(
        default=None,
        description="A label name (PII.Email) or category (PII), on it or its columns.",
    )
    inherited_labels: bool = strawberry.field(
        default=False,
        description="Whether `label` also matches labels inherited along lineage (a view's copy "
        "of an e-mail column), as reads mask them.",
    )
    text: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name or description."
    )
    removed: bool | None = strawberry.field(
        default=False, description="false: live only (default); true: removed only; null: both."
    )
    schema: strawberry.ID | None = strawberry.field(default=None, description="URN of a schema.")

    def to_filter(self) -> AssetFilter:
        return AssetFilter(
            source=self.source,
            kind=self.kind,
            label=self.label,
            inherited_labels=self.inherited_labels,
            text=self.text,
            removed=self.removed,
            schema=self.schema,
        )


@strawberry.input
class AssetSortInput:
    field: SortField = SortField.NAME
    direction: SortDirection = SortDirection.ASC

    def to_sort(self) -> AssetSort:
        return AssetSort(self.field, self.direction is SortDirection.DESC)


def page_key(where: AssetFilter, sort: AssetSort, size: int, after: Any) -> str:
    """What makes a page: the filter with the caller's scope, the order and the position. Plain
    values only (the scope's sets sorted), so every replica derives the same key."""
    filters = tuple(
        sorted(v) if isinstance(v, frozenset) else v
        for v in (getattr(where, f.name) for f in dataclasses.fields(where))
    )
    parts = repr((filters, sort.field.value, sort.descending, size, after))
    return hashlib.sha256(parts.encode()).hexdigest()


async def asset_page(
    info: Info, where: AssetFilter, sort: AssetSort, first: int, after: str | None
) -> Connection[Any]:
    """One page of assets the caller may see, as a Relay connection; ``totalCount`` runs only
    when selected. The caller's scope filters in the query, so pages stay full."""
    driver, database = info.context.graph
    domains, sources = info.context.guard.scope()
    granted = await info.context.loaders.granted()  # a grant widens the scope at once
    where = dataclasses.replace(where, domains=domains, sources=sources, granted=granted)
    size, position = check_page_size(first), decode_cursor(after, sort) if after else None
    # A selected totalCount is counted while the page is read (each reads every match): on
    # two cores Neo4j runs both at once, where one after the other cost their sum.
    count = partial(catalog.count_assets, driver, database, where)
    counting = asyncio.ensure_future(count()) if asks_for(info, "totalCount") else None
    try:
        page = await info.context.loaders.cache.across(
            ("page", page_key(where, sort, size, position)),
            catalog.Page,
            lambda: catalog.page_assets(driver, database, where, sort, size, position),
        )
    except BaseException:
        if counting is not None:
            counting.cancel()
        raise
    assert page is not None  # a page is never missing, at most empty
    edges = [
        Edge(node=asset, position=partial(encode_cursor, sort, item.key, item.node.urn))
        for item in page.items
        if (asset := asset_from_record(item.node)) is not None
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].position() if edges else None
        ),
        count=count if counting is None else lambda: counting,
    )
