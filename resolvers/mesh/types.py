"""The data mesh as GraphQL types: domains, teams, data products with their ports and versions
(each version carries its ODCS contract), access requests, and the workflows' typed errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Self

import strawberry

from core.urns import Urn, team_urn
from graph import access as access_graph
from graph import domains as domain_graph
from graph import products as product_graph
from graph.records import NodeRecord
from mesh.lifecycle import Status, Step
from resolvers.common import Node, UserError, timestamp
from resolvers.context import Info
from security.rbac import permission

strawberry.enum(Status, name="VersionStatus", description="Where a product version stands.")
strawberry.enum(Step, name="LifecycleStep", description="A step of a version's lifecycle.")

ACCESS_APPROVE = permission("access:approve")
MAX_LIST = 500


def domain_of(urn: str) -> str:
    """The domain name a domain, product or version URN names (its first segment)."""
    return Urn.parse(urn).path[0]


@strawberry.type(description="A team of a domain and the people in it; owners of assets are teams.")
class Team(Node):
    name: str
    description: str
    members: list[str]
    domain: str | None

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            name=p["name"],
            description=p.get("description") or "",
            members=p.get("members") or [],
            domain=p.get("domain"),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props({**record.props, "domain": (record.domains or [None])[0]})

    @classmethod
    def of_owner(cls, p: dict[str, Any]) -> Self:
        """A team that owns assets (curation names teams; mesh/ manages some of them)."""
        return cls.from_props({**p, "urn": p.get("urn") or team_urn(p["name"])})


@strawberry.type(description="A data-mesh domain: its owners, teams, products and assets.")
class Domain(Node):
    name: str
    description: str
    owners: list[str]
    created_by: str | None
    archived_at: datetime | None

    @strawberry.field(description="Its teams.")
    async def teams(self, info: Info) -> list[Team]:
        found = await domain_graph.list_teams(*info.context.graph, self.id)
        return [Team.from_props(t) for t in found]

    @strawberry.field(description="Its data products you may see.")
    async def products(self, info: Info) -> list[DataProduct]:
        urns = await product_graph.product_urns(*info.context.graph, self.id, MAX_LIST)
        return await products_of(info, urns)

    @strawberry.field(description="Sources and assets assigned to it directly (up to 500).")
    async def assigned(self, info: Info) -> list[strawberry.ID]:
        found = await domain_graph.assigned(*info.context.graph, self.id, MAX_LIST)
        return [strawberry.ID(u) for u in found]

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            name=p["name"],
            description=p.get("description") or "",
            owners=p.get("owners") or [],
            created_by=p.get("createdBy"),
            archived_at=timestamp(p, "archivedAt"),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props(record.props)


@strawberry.type(description="A table or view a product exposes.")
class OutputPort:
    name: str | None
    asset: strawberry.ID
    asset_name: str
    kind: str


@strawberry.type(description="A Kafka topic a product publishes, created for it.")
class StreamPort:
    name: str
    topic: str
    partitions: int
    retention_ms: float


@strawberry.type(description="What a product promises: freshness, availability, support.")
class Sla:
    freshness: str | None
    availability: float | None
    support_contact: str | None


@strawberry.type(description="One rule of a quality gate and how it fared.")
class QualityOutcome:
    rule: str
    target: str
    metric: str
    observed: float | None
    passed: bool | None = strawberry.field(description="null: not evaluated by DataWave")
    message: str


@strawberry.type(description="One run of a version's quality gate.")
class QualityRun:
    at: datetime | None
    by: str | None
    passed: bool
    reason: str | None
    outcomes: list[QualityOutcome]


@strawberry.type(description="A team bound to a version by a live grant.")
class Consumer:
    team: strawberry.ID
    name: str
    expires_at: datetime | None
    request: str


@strawberry.type(description="A consumer team's request for a product version.")
class AccessRequest:
    id: strawberry.ID
    status: str
    purpose: str
    days: int
    team: strawberry.ID
    product: strawberry.ID
    version: strawberry.ID
    requested_by: str
    requested_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    expires_at: datetime | None
    correlation_id: str

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["id"]),
            status=p["status"],
            purpose=p.get("purpose") or "",
            days=p.get("days") or 0,
            team=strawberry.ID(p["team"]),
            product=strawberry.ID(p["product"]),
            version=strawberry.ID(p["version"]),
            requested_by=p["requestedBy"],
            requested_at=timestamp(p, "requestedAt"),
            decided_by=p.get("decidedBy"),
            decided_at=timestamp(p, "decidedAt"),
            reason=p.get("reason"),
            expires_at=timestamp(p, "expiresAt"),
            correlation_id=p.get("correlationId") or p["id"],
        )


@strawberry.type(description="A version of a data product with its ODCS contract.")
class ProductVersion(Node):
    product: strawberry.ID
    version: str
    status: Status
    contract: str = strawberry.field(description="The ODCS v3 contract, as YAML.")
    quarantined: bool
    quarantine_reason: str | None
    quality: list[QualityOutcome] = strawberry.field(
        description="The last quality gate's rules (empty: never evaluated)."
    )
    quality_checked_at: datetime | None
    drift: list[str] = strawberry.field(
        description="Where the output ports no longer match the contract, at the last check."
    )
    drift_checked_at: datetime | None
    published_at: datetime | None
    deprecation_notice: str | None
    sunset_at: datetime | None
    created_by: str | None

    @strawberry.field(description="Its quality-gate runs, newest first.")
    async def quality_runs(self, info: Info, last: int = 10) -> list[QualityRun]:
        found = await product_graph.quality_runs(
            *info.context.graph, self.id, max(1, min(last, 100))
        )
        return [
            QualityRun(
                at=timestamp(r, "at"),
                by=r.get("by"),
                passed=bool(r.get("passed")),
                reason=r.get("reason"),
                outcomes=[QualityOutcome(**o) for o in json.loads(r.get("outcomes") or "[]")],
            )
            for r in found
        ]

    @strawberry.field(description="Teams holding a live grant on this version.")
    async def consumers(self, info: Info) -> list[Consumer]:
        found = await access_graph.consumers(*info.context.graph, self.id)
        return [
            Consumer(
                team=strawberry.ID(c["team"]),
                name=c["name"],
                expires_at=timestamp(c, "expiresAt"),
                request=c["request"],
            )
            for c in found
        ]

    @strawberry.field(description="Its access requests (the product's approvers only).")
    async def access_requests(self, info: Info) -> list[AccessRequest]:
        if not info.context.guard.can(ACCESS_APPROVE, domain=domain_of(self.id)):
            return []
        found = await access_graph.for_version(*info.context.graph, self.id)
        return [AccessRequest.from_props(r) for r in found]

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            product=strawberry.ID(p["product"]),
            version=p["version"],
            status=Status(p["status"]),
            contract=p.get("odcs") or "",
            quarantined=bool(p.get("quarantine")),
            quarantine_reason=p.get("quarantine"),
            quality=[QualityOutcome(**o) for o in json.loads(p.get("quality") or "[]")],
            quality_checked_at=timestamp(p, "qualityCheckedAt"),
            drift=p.get("drift") or [],
            drift_checked_at=timestamp(p, "driftCheckedAt"),
            published_at=timestamp(p, "publishedAt"),
            deprecation_notice=p.get("deprecationNotice"),
            sunset_at=timestamp(p, "sunsetAt"),
            created_by=p.get("createdBy"),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props(record.props)


@strawberry.type(description="A data product: its domain, owner, ports, SLA and versions.")
class DataProduct(Node):
    name: str
    domain: str
    description: str
    tags: list[str]
    sla: Sla
    stream_error: str | None = strawberry.field(
        description="Why a stream port's topic could not be created (the product stays a draft)."
    )
    created_by: str | None
    detail: strawberry.Private[dict[str, Any] | None] = None

    async def _detail(self, info: Info) -> dict[str, Any]:
        if self.detail is None:
            found = await product_graph.details(*info.context.graph, [self.id])
            self.detail = found.get(self.id) or {
                "outputs": [], "streams": [], "inputs": [], "versions": [], "team": None,
            }  # fmt: skip
        return self.detail

    @strawberry.field(description="The team that owns it.")
    async def owner(self, info: Info) -> Team | None:
        team = (await self._detail(info)).get("team")
        found = await domain_graph.get_team(*info.context.graph, team) if team else None
        return Team.from_props(found) if found else None

    @strawberry.field(description="Tables and views it exposes.")
    async def output_ports(self, info: Info) -> list[OutputPort]:
        return [
            OutputPort(
                name=o.get("name"),
                asset=strawberry.ID(o["asset"]),
                asset_name=o.get("assetName") or "",
                kind=o.get("kind") or "table",
            )
            for o in (await self._detail(info))["outputs"]
        ]

    @strawberry.field(description="Kafka topics it publishes.")
    async def stream_ports(self, info: Info) -> list[StreamPort]:
        return [
            StreamPort(
                name=s["name"],
                topic=s["topic"],
                partitions=s["partitions"],
                retention_ms=s["retentionMs"],
            )
            for s in (await self._detail(info))["streams"]
        ]

    @strawberry.field(description="Assets it reads.")
    async def input_ports(self, info: Info) -> list[strawberry.ID]:
        return [strawberry.ID(u) for u in (await self._detail(info))["inputs"]]

    @strawberry.field(description="Its versions, oldest first.")
    async def versions(self, info: Info) -> list[ProductVersion]:
        found = [
            ProductVersion.from_props(v | {"product": self.id})
            for v in (await self._detail(info))["versions"]
        ]
        return sorted(found, key=lambda v: tuple(int(x) for x in v.version.split(".")))

    @classmethod
    def from_props(cls, p: dict[str, Any], detail: dict[str, Any] | None = None) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            name=p["name"],
            domain=p.get("domain") or domain_of(p["urn"]),
            description=p.get("description") or "",
            tags=p.get("tags") or [],
            sla=Sla(
                freshness=p.get("slaFreshness"),
                availability=p.get("slaAvailability"),
                support_contact=p.get("supportContact"),
            ),
            stream_error=p.get("streamError"),
            created_by=p.get("createdBy"),
            detail=detail,
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props(record.props)


async def products_of(info: Info, urns: list[str]) -> list[DataProduct]:
    """The products ``urns`` names, with their details in one read (product:read is enough
    to discover any: the mesh is a marketplace, core/kinds.py)."""
    found = await product_graph.details(*info.context.graph, urns)
    return [DataProduct.from_props(found[u]["props"], found[u]) for u in urns if u in found]


@strawberry.type(description="The name is taken.")
class DuplicateError(UserError):
    field: str


@strawberry.type(description="The ODCS contract is invalid; `path` is the bad field's.")
class InvalidContractError(UserError):
    path: str


@strawberry.type(description="A breaking change without a new major version.")
class IncompatibleVersionError(UserError):
    changes: list[str]


@strawberry.type(description="Open high or critical findings on what the product exposes.")
class NonCompliantError(UserError):
    findings: list[strawberry.ID]


ERROR_TYPES = [DuplicateError, InvalidContractError, IncompatibleVersionError, NonCompliantError]
