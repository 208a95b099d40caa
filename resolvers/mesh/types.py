"""The data mesh as GraphQL types: domains, teams, data products with their ports and versions
(each version carries its ODCS contract), access requests, and the workflows' typed errors."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from typing import Any, Self

import strawberry

from core.urns import InvalidUrn, Urn, team_urn
from graph import access as access_graph
from graph import domains as domain_graph
from graph import gates as gate_graph
from graph import products as product_graph
from graph.records import NodeRecord
from mesh import usage as mesh_usage
from mesh.errors import MeshError
from mesh.lifecycle import GrantState, Migration, Status, Step, Version
from mesh.quality import Health, Level
from resolvers.common import Connection, Node, TableKind, UserError, member, timestamp
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.mesh.requests import AccessRequest, AccessRequestFilter, access_request_page
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    after_urn,
    check_page_size,
    held_page,
    keyset_page,
    keyset_position,
    numbered_page,
    read_page,
    whole_number,
)
from security.rbac import permission

strawberry.enum(Status, name="VersionStatus", description="Where a product version stands.")
strawberry.enum(Step, name="LifecycleStep", description="A step of a version's lifecycle.")
strawberry.enum(
    Migration,
    name="MigrationState",
    description="A consumer's binding against the product's latest published version.",
)
strawberry.enum(
    GrantState,
    name="GrantState",
    description="Whether a live grant widens its team's reach: SUSPENDED while its version is "
    "quarantined (it resumes when a passing quality gate releases the version).",
)
strawberry.enum(Level, name="QualityLevel", description="How one quality rule fared.")
strawberry.enum(
    Health,
    name="QualityHealth",
    description="A version after its last quality gate: WARNING is an alert (a failing rule "
    "of severity warning), QUARANTINED a failing gate.",
)

ACCESS_APPROVE = permission("access:approve")
PRODUCT_WRITE = permission("product:write")


def domain_of(urn: str) -> str:
    """The domain name a domain, product or version URN names (its first segment)."""
    return Urn.parse(urn).path[0]


def domain_arg(urn: str) -> str:
    """``domain_of`` for an argument the caller sent: a malformed URN is their mistake
    (``BAD_USER_INPUT``), not an internal error without a code."""
    try:
        return domain_of(urn)
    except (InvalidUrn, IndexError):
        raise ClientError(f"not a domain, product or version URN: {urn}") from None


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

    @strawberry.field(description="Its teams, in URN order.")
    async def teams(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Team]:
        graph, start = info.context.graph, after_urn(after, "teams")
        return await read_page(
            lambda limit: domain_graph.list_teams(*graph, self.id, limit, start),
            lambda: domain_graph.count_teams(*graph, self.id),
            Team.from_props, lambda t: [t["urn"]], first,
        )  # fmt: skip

    @strawberry.field(description="Its data products, in URN order.")
    async def products(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[DataProduct]:
        return await product_page(info, self.id, None, first, after, "Domain.products")

    @strawberry.field(
        description="Sources and assets assigned to it directly, in URN order: those of sources "
        "in the caller's scope, for a caller whose scope holds the domain."
    )
    async def assigned(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[strawberry.ID]:
        graph, start = info.context.graph, after_urn(after, "assigned")
        scope = info.context.guard.scope()
        return await read_page(
            lambda limit: domain_graph.assigned(*graph, self.id, scope, limit, start),
            lambda: domain_graph.count_assigned(*graph, self.id, scope),
            strawberry.ID, lambda u: [u], first,
        )  # fmt: skip

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
    kind: TableKind | None


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
    level: Level

    @classmethod
    def all_of(cls, text: str | None) -> list[Self]:
        """Outcomes as the gate stored them (JSON); runs before levels get theirs from
        ``passed``."""
        found = json.loads(text or "[]")
        old = {None: Level.SKIPPED, True: Level.PASSED, False: Level.FAILED}
        return [cls(**{**o, "level": Level(o.get("level") or old[o["passed"]])}) for o in found]


@strawberry.type(description="One run of a version's quality gate.")
class QualityRun:
    id: strawberry.ID | None = strawberry.field(description="null: a run from before run URNs")
    at: datetime | None
    by: str | None
    passed: bool
    health: Health
    reason: str | None
    alert: str | None = strawberry.field(description="What the failing warning rules say.")
    outcomes: list[QualityOutcome]


def _health(p: dict[str, Any]) -> Health:
    if p.get("health"):
        return Health(p["health"])
    if p.get("quarantine") or p.get("passed") is False:
        return Health.QUARANTINED
    return Health.HEALTHY if p.get("qualityCheckedAt") or p.get("passed") else Health.UNCHECKED


@strawberry.type(description="A note of a failure analysis.")
class RemediationNote:
    by: str
    at: datetime | None
    note: str
    # Its place among the remediation's notes: they are only ever appended, so it never moves.
    index: strawberry.Private[int]


@strawberry.enum(description="Whether a remediation is still open.")
class RemediationStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


@strawberry.type(
    description="What a failing quality gate opened: the failure, its analysis, and the "
    "passing run that cleared the quarantine."
)
class Remediation:
    id: strawberry.ID
    version: strawberry.ID
    status: RemediationStatus
    reason: str | None
    opened_at: datetime | None
    opened_by: str | None
    failed_run: strawberry.ID | None
    all_notes: strawberry.Private[list[RemediationNote]]
    cleared_at: datetime | None
    cleared_by: str | None
    clearing_run: strawberry.ID | None = strawberry.field(
        description="The passing run that released the quarantine."
    )

    @strawberry.field(description="Its notes, oldest first.")
    def notes(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[RemediationNote]:
        return numbered_page(self.all_notes, lambda n: n.index, first, after, "notes")

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        notes = zip(p.get("noteBy") or [], p.get("noteAt") or [], p.get("noteText") or [],
                    strict=True)  # fmt: skip
        return cls(
            id=strawberry.ID(p["urn"]),
            version=strawberry.ID(p["version"]),
            status=RemediationStatus(p["status"]),
            reason=p.get("reason"),
            opened_at=timestamp(p, "openedAt"),
            opened_by=p.get("openedBy"),
            failed_run=p.get("failedRun"),
            all_notes=[
                RemediationNote(by=b, at=timestamp({"at": a}, "at"), note=n, index=i)
                for i, (b, a, n) in enumerate(notes)
            ],
            cleared_at=timestamp(p, "clearedAt"),
            cleared_by=p.get("clearedBy"),
            clearing_run=p.get("clearingRun"),
        )


GRANT_STATE = (
    "SUSPENDED while its version is quarantined: the team reads nothing through it until a "
    "passing quality gate releases the version."
)


def grant_state(record: dict[str, Any]) -> GrantState:
    """A live grant's state as graph/access.py reads it (``suspended``)."""
    return GrantState.SUSPENDED if record.get("suspended") else GrantState.ACTIVE


def consumers_viewer(info: Info, urn: str) -> str | None:
    """Whose consumers of the product (or version) ``urn`` the caller sees, as graph/access.py
    takes it: None, all of them (the writers and approvers of its domain, admins); else the
    caller's subject: all as a member of the product's owner team, otherwise only the entries
    of the caller's own teams (as access requests are seen only by their parties)."""
    guard, domain = info.context.guard, domain_arg(urn)
    if guard.can(PRODUCT_WRITE, domain=domain) or guard.can(ACCESS_APPROVE, domain=domain):
        return None
    return guard.principal.subject if guard.principal else ""


@strawberry.type(description="A team bound to a version by a live grant.")
class Consumer:
    team: strawberry.ID
    name: str
    expires_at: datetime | None
    request: strawberry.ID = strawberry.field(description="The access request of its grant.")
    grant: GrantState = strawberry.field(description=GRANT_STATE)

    @classmethod
    def from_props(cls, c: dict[str, Any]) -> Self:
        return cls(
            team=strawberry.ID(c["team"]),
            name=c["name"],
            expires_at=timestamp(c, "expiresAt"),
            request=strawberry.ID(c["request"]),
            grant=grant_state(c),
        )


@strawberry.type(
    description="A consumer team bound to a version of a product by a live grant, and whether "
    "it has moved to the latest published version."
)
class ConsumerBinding:
    request: strawberry.ID
    team: strawberry.ID
    name: str
    version: strawberry.ID
    semver: str
    latest: str | None = strawberry.field(description="The latest published version.")
    migration: Migration
    migrated_from: strawberry.ID | None
    migrated_at: datetime | None
    expires_at: datetime | None
    notice: str | None = strawberry.field(
        description="The last planned change it was told of (a new major version, a deprecation)."
    )
    notice_at: datetime | None
    grant: GrantState = strawberry.field(description=GRANT_STATE)


@strawberry.type(description="Reads on one day (UTC).")
class UsageDay:
    day: date
    reads: int


@strawberry.type(
    description="A consumer team's reads of a version's assets through its grant: requests "
    "that read them by URN, as a relation or a search hit (docs/mesh.md)."
)
class ConsumerUsage:
    team: strawberry.ID
    reads: int
    days: list[UsageDay]


async def _contract(root: ProductVersion, info: Info) -> str:
    """``ProductVersion.contract``: the YAML read with the version, else through the request's
    batch (``Loaders.contracts``)."""
    if root.odcs is None:
        root.odcs = await info.context.loaders.contracts.load(root.id)
    return root.odcs or ""


@strawberry.type(description="A version of a data product with its ODCS contract.")
class ProductVersion(Node):
    product: strawberry.ID
    version: str
    status: Status
    contract: str = strawberry.field(
        resolver=_contract, description="The ODCS v3 contract, as YAML."
    )
    quarantined: bool
    quarantine_reason: str | None
    health: Health
    alert: str | None = strawberry.field(
        description="What the last gate's failing warning rules say (no quarantine)."
    )
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
    # Its ODCS YAML if it was read with the version (a lookup, a mutation); None: lists leave
    # it out, and ``contract`` reads it then, batched (``Loaders.contracts``).
    odcs: strawberry.Private[str | None] = None

    @strawberry.field(description="Its quality-gate runs, newest first.")
    async def quality_runs(self, info: Info, last: int = 10) -> list[QualityRun]:
        found = await gate_graph.quality_runs(*info.context.graph, self.id, max(1, min(last, 100)))
        return [
            QualityRun(
                id=r.get("urn"),
                at=timestamp(r, "at"),
                by=r.get("by"),
                passed=bool(r.get("passed")),
                health=_health(r),
                reason=r.get("reason"),
                alert=r.get("alert"),
                outcomes=QualityOutcome.all_of(r.get("outcomes")),
            )
            for r in found
        ]

    @strawberry.field(description="Remediations its failing gates opened, oldest first.")
    async def remediations(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Remediation]:
        graph = info.context.graph
        found = await gate_graph.remediations(
            *graph, self.id, check_page_size(first) + 1, after_urn(after, "remediations")
        )

        async def count() -> int:
            return await gate_graph.count_remediations(*graph, self.id)

        nodes = [Remediation.from_props(r) for r in found]
        return keyset_page(nodes, [[r["urn"]] for r in found], first, count)

    @strawberry.field(
        description="Teams holding a live grant on this version, by name (then by request): "
        "all of them for the product's owners, writers and approvers; your own teams' for "
        "anyone else."
    )
    async def consumers(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Consumer]:
        graph = info.context.graph
        start = keyset_position(after, 2, "consumers") if after is not None else None
        viewer = consumers_viewer(info, self.id)
        return await read_page(
            lambda limit: access_graph.consumers(*graph, self.id, limit, start, viewer=viewer),
            lambda: access_graph.count_consumers(*graph, self.id, viewer=viewer),
            Consumer.from_props, lambda c: [c["name"], c["request"]], first,
        )  # fmt: skip

    @strawberry.field(
        description="The access requests for it that you are a party to (as their requester, "
        "a member of their team or an approver of the product), oldest first."
    )
    async def access_requests(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[AccessRequest]:
        mine = AccessRequestFilter(version=self.id)
        return await access_request_page(info, mine, first, after, "accessRequests")

    @strawberry.field(
        description="How much each consumer team read through its grants, most first, then by "
        "team (the product's approvers only)."
    )
    async def usage(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ConsumerUsage]:
        start = None
        if after is not None:
            reads, team = keyset_position(after, 2, "usage")
            start = (-whole_number(reads, "usage"), team)
        found = []
        if info.context.guard.can(ACCESS_APPROVE, domain=domain_of(self.id)):
            found = await mesh_usage.usage(info.context.state.redis, self.id)
        nodes = [
            ConsumerUsage(
                team=strawberry.ID(u.team), reads=u.reads,
                days=[UsageDay(day=d, reads=n) for d, n in u.days.items()],
            )
            for u in found
        ]  # fmt: skip
        # Redis keeps a version's counts in one hash, read whole: only the answer is paged.
        return held_page(
            nodes, lambda u: (-u.reads, u.team), lambda u: [str(u.reads), u.team], first, start
        )

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            product=strawberry.ID(p["product"]),
            version=p["version"],
            status=Status(p["status"]),
            quarantined=bool(p.get("quarantine")),
            quarantine_reason=p.get("quarantine"),
            health=_health(p),
            alert=p.get("alert"),
            quality=QualityOutcome.all_of(p.get("quality")),
            quality_checked_at=timestamp(p, "qualityCheckedAt"),
            drift=p.get("drift") or [],
            drift_checked_at=timestamp(p, "driftCheckedAt"),
            published_at=timestamp(p, "publishedAt"),
            deprecation_notice=p.get("deprecationNotice"),
            sunset_at=timestamp(p, "sunsetAt"),
            created_by=p.get("createdBy"),
            odcs=p.get("odcs"),
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
            found = await product_graph.details(*info.context.graph, [self.id], contracts=False)
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
                kind=member(TableKind, o.get("kind") or "table"),
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

    @strawberry.field(description="Its versions, oldest first (1.10.0 after 1.9.0).")
    async def versions(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[ProductVersion]:
        key = (self.id, check_page_size(first) + 1, _semver_after(after))
        found, total = await info.context.loaders.versions.load(key)  # the page's at once

        async def count() -> int:
            return total

        nodes = [ProductVersion.from_props(v | {"product": self.id}) for v in found]
        return keyset_page(nodes, [[v["version"]] for v in found], first, count)

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


def _semver_after(after: str | None) -> tuple[int, ...] | None:
    """The (major, minor, patch) of the version an endCursor of ``versions`` names."""
    if after is None:
        return None
    (text,) = keyset_position(after, 1, "versions")
    try:
        return Version(text).parts
    except MeshError:
        raise ClientError("invalid cursor: pass an endCursor of a versions page") from None


async def products_of(info: Info, urns: list[str]) -> list[DataProduct]:
    """The products ``urns`` names, with their details in one read (product:read is enough
    to discover any: the mesh is a marketplace, core/kinds.py)."""
    found = await product_graph.details(*info.context.graph, urns, contracts=False)
    return [DataProduct.from_props(found[u]["props"], found[u]) for u in urns if u in found]


async def product_page(
    info: Info, domain: str | None, text: str | None, first: int, after: str | None, of: str
) -> Connection[DataProduct]:
    """A page of the products of ``domain`` (None: all) mentioning ``text`` (None: any), in
    URN order: ``dataProducts`` and ``Domain.products`` (``of``: the field, for its cursors)."""
    graph = info.context.graph
    urns = await product_graph.product_urns(
        *graph, domain, check_page_size(first) + 1, text, after_urn(after, of)
    )

    async def count() -> int:
        return await product_graph.count_products(*graph, domain, text)

    found = {p.id: p for p in await products_of(info, urns)}
    urns = [u for u in urns if u in found]
    return keyset_page([found[u] for u in urns], [[u] for u in urns], first, count)


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


@strawberry.type(
    description="The governance engine's rules in force refuse the step; `rules` "
    "names them (policy/rule ids). Nothing was written."
)
class PolicyViolationError(UserError):
    rules: list[str]


ERROR_TYPES = [
    DuplicateError,
    InvalidContractError,
    IncompatibleVersionError,
    NonCompliantError,
    PolicyViolationError,
]
