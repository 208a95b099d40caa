"""The data-mesh workflows through GraphQL: domains and teams, assignments, products, contracts,
lifecycle, quality gates and access requests.

Every mutation is authorized and audited (resolvers/audited.py) with the domain, product,
version or request as its resource; the permission must hold in the domain concerned (a domain
owner administers only theirs; a product's owners approve its access). Expected refusals come
back as typed payload errors. Changes are announced (resolvers/announce.py) so caches, RBAC
scoping and ``catalogChanges`` subscribers follow at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry

from core.urns import domain_urn
from live.changes import ChangeType
from mesh import access, domains, errors, gates, products
from mesh.lifecycle import Step
from resolvers.announce import announce, invalidate_cached
from resolvers.audited import guarded
from resolvers.common import MAX_ANSWERED, InvalidInputError, NotFoundError, UserError
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.governance.types import (
    PolicyEngineUnavailableError,
    SelfApprovalError,
    WrongStateError,
)
from resolvers.mesh.policy import gate
from resolvers.mesh.requests import AccessRequest, urn_arg
from resolvers.mesh.types import (
    DataProduct,
    Domain,
    DuplicateError,
    IncompatibleVersionError,
    InvalidContractError,
    NonCompliantError,
    PolicyViolationError,
    ProductVersion,
    Remediation,
    Team,
    domain_arg,
)
from resolvers.permissions import FORBIDDEN
from security.rbac import Permission, permission

DOMAIN_WRITE = permission("domain:write")
PRODUCT_WRITE = permission("product:write")
ACCESS_APPROVE = permission("access:approve")
ASSET_WRITE = permission("asset:write")
P = TypeVar("P")


def user_errors(err: errors.MeshError) -> list[UserError]:
    match err:
        case errors.NotFound():
            return [NotFoundError(urn=strawberry.ID(err.field), message=err.message)]
        case errors.Duplicate():
            return [DuplicateError(field=err.field, message=err.message)]
        case errors.SelfApproval():
            return [SelfApprovalError(message=err.message)]
        case errors.WrongState():
            return [WrongStateError(message=err.message)]
        case errors.InvalidContract():
            return [InvalidContractError(path=err.field, message=err.message)]
        case errors.Incompatible():
            return [IncompatibleVersionError(message=err.message, changes=err.changes)]
        case errors.NonCompliant():
            ids = [strawberry.ID(f) for f in err.findings]
            return [NonCompliantError(message=err.message, findings=ids)]
        case errors.PolicyViolation():
            return [PolicyViolationError(message=err.message, rules=err.rules)]
        case errors.PolicyUnavailable():
            return [PolicyEngineUnavailableError(message=err.message)]
    return [InvalidInputError(field=err.field, message=err.message)]


async def attempt(payload: Callable[..., P], work: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    try:
        return payload(**await work())
    except errors.MeshError as err:
        return payload(errors=user_errors(err))


def _actor(info: Info) -> str:
    principal = info.context.guard.principal
    assert principal is not None  # the permission check ran first
    return principal.subject


def _within(info: Info, perm: Permission, urn: str, field: str, kind: str) -> str:
    """The domain ``urn`` (the argument ``field``, a URN of ``kind``) names, if the caller holds
    ``perm`` there; FORBIDDEN (audited) otherwise. A malformed URN, or one of another kind, is
    the caller's mistake, reported as such (``urn_arg``)."""
    urn_arg(urn, field, kind)
    domain = domain_arg(urn)
    guard = info.context.guard
    if not guard.can(perm, domain=domain):
        guard.audit.note(str(perm), urn, "denied", "out of scope")
        raise coded(FORBIDDEN, f"forbidden: {domain} is outside your {perm} scope")
    return domain


def _by(key: str) -> Callable[..., str]:
    return lambda **kwargs: str(kwargs.get(key, ""))


def _input(key: str) -> Callable[..., str]:
    return lambda **kwargs: str(getattr(kwargs["input"], key, ""))


@strawberry.input(description="A new domain; its owners default to its creator.")
class CreateDomainInput:
    name: str = strawberry.field(description="Lower-case letters, digits, dashes.")
    description: str = ""
    owners: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="A team of a domain (created, or updated by name).")
class SaveTeamInput:
    domain: strawberry.ID
    name: str
    description: str | None = None
    members: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="A table or view the product exposes, under a port name.")
class OutputPortInput:
    name: str
    asset: strawberry.ID


@strawberry.input(description="What the product promises.")
class SlaInput:
    freshness: str | None = strawberry.field(default=None, description='e.g. "1d", "4h"')
    availability: float | None = strawberry.field(default=None, description="percent")
    support_contact: str | None = None


@strawberry.input(description="A new data product, a draft until a version is published.")
class CreateDataProductInput:
    domain: strawberry.ID
    name: str
    description: str = ""
    owner_team: strawberry.ID | None = None
    tags: list[str] = strawberry.field(default_factory=list)
    sla: SlaInput | None = None
    output_ports: list[OutputPortInput] = strawberry.field(default_factory=list)
    stream_ports: list[str] = strawberry.field(
        default_factory=list, description="Names of Kafka stream ports: a topic each."
    )
    input_ports: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="A consumer team asks for a published product version.")
class RequestAccessInput:
    version: strawberry.ID
    team: strawberry.ID
    purpose: str
    days: int = 90


@strawberry.type
class DomainPayload:
    domain: Domain | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TeamPayload:
    team: Team | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AssignmentPayload:
    domain: Domain | None = None
    table_count: int = strawberry.field(default=0, description="Tables whose domain changed.")
    tables: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description=f"The first {MAX_ANSWERED} of them, in URN order (a source can hold tens of "
        "thousands).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DataProductPayload:
    product: DataProduct | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ProductVersionPayload:
    version: ProductVersion | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemediationPayload:
    remediation: Remediation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccessRequestPayload:
    request: AccessRequest | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _domain(info: Info, record: dict[str, Any], *also: str) -> dict[str, Any]:
    await announce(info, ChangeType.CHANGED, [record["urn"], *also], ["domain"])
    return {"domain": Domain.from_props(record)}


async def _version(info: Info, record: dict[str, Any], field: str) -> dict[str, Any]:
    await announce(info, ChangeType.CHANGED, [record["urn"], record["product"]], [field])
    return {"version": ProductVersion.from_props(record)}


async def _reachable(info: Info, urns: list[strawberry.ID], need: Permission) -> None:
    """Every URN names a node the caller may ``need``; else NotFound (no existence oracle)."""
    for urn in urns:
        if await info.context.loaders.find(urn, need) is None:
            raise errors.NotFound(f"no asset or source {urn}", urn)


async def _party(info: Info, request: str) -> None:
    """The access request exists and the caller is a party to it (resolvers/guard.py); else
    NotFound naming it, as for a missing one (the refusal is audited)."""
    urn_arg(request, "request", "access")
    if await info.context.loaders.find(request) is None:
        raise errors.NotFound(f"no access request {request}", request)


async def _decider(info: Info, request: str) -> None:
    """The caller may decide the access request: a party to it holding access:approve in its
    product's domain (FORBIDDEN, audited, for a party that does not, such as its team)."""
    await _party(info, request)
    found = await access.get_request(info.context.state, request)
    _within(info, ACCESS_APPROVE, domain_urn(found["domain"]), "domain", "domain")


@strawberry.type
class MeshMutation:
    @strawberry.mutation(
        description="Create a domain (or take over a :Domain node of that name).",
        extensions=guarded("domain:admin", lambda input: f"urn:dw:domain:{input.name}"),
    )
    async def create_domain(self, info: Info, input: CreateDomainInput) -> DomainPayload:
        async def work() -> dict[str, Any]:
            record = await domains.create_domain(
                info.context.state, _actor(info), input.name, input.description, input.owners
            )
            return await _domain(info, record)

        return await attempt(DomainPayload, work)

    @strawberry.mutation(
        description="Change a domain's description or owners (its owners only).",
        extensions=guarded("domain:write", _by("domain")),
    )
    async def update_domain(
        self,
        info: Info,
        domain: strawberry.ID,
        description: str | None = None,
        owners: list[str] | None = None,
    ) -> DomainPayload:
        _within(info, DOMAIN_WRITE, domain, "domain", "domain")

        async def work() -> dict[str, Any]:
            record = await domains.update_domain(
                info.context.state, _actor(info), domain, description=description,
                owners=owners, archive=False,
            )  # fmt: skip
            return await _domain(info, record)

        return await attempt(DomainPayload, work)

    @strawberry.mutation(
        description="Archive a domain: nothing new goes into it; it is never deleted.",
        extensions=guarded("domain:admin", _by("domain")),
    )
    async def archive_domain(self, info: Info, domain: strawberry.ID) -> DomainPayload:
        urn_arg(domain, "domain", "domain")

        async def work() -> dict[str, Any]:
            record = await domains.update_domain(
                info.context.state, _actor(info), domain, description=None, owners=None,
                archive=True,
            )  # fmt: skip
            return await _domain(info, record)

        return await attempt(DomainPayload, work)

    @strawberry.mutation(
        description="Create or update a team of a domain, with its members.",
        extensions=guarded("domain:write", _input("domain")),
    )
    async def save_team(self, info: Info, input: SaveTeamInput) -> TeamPayload:
        _within(info, DOMAIN_WRITE, input.domain, "domain", "domain")

        async def work() -> dict[str, Any]:
            record = await domains.save_team(
                info.context.state, _actor(info), input.domain, input.name, input.description,
                input.members, lambda home: _within(info, DOMAIN_WRITE, home, "domain", "domain"),
            )  # fmt: skip
            await announce(info, ChangeType.CHANGED, [record["urn"]], ["members"])
            return {"team": Team.from_props(record)}

        return await attempt(TeamPayload, work)

    @strawberry.mutation(
        description="Put data sources, schemas or single assets (and all they contain) in a "
        "domain, or take them out (`remove`). You need asset:write on each.",
        extensions=guarded("domain:write", _by("domain")),
    )
    async def assign_to_domain(
        self, info: Info, domain: strawberry.ID, assets: list[strawberry.ID], remove: bool = False
    ) -> AssignmentPayload:
        _within(info, DOMAIN_WRITE, domain, "domain", "domain")

        async def work() -> dict[str, Any]:
            await _reachable(info, assets, ASSET_WRITE)
            found = await domains.assign(
                info.context.state, _actor(info), domain, list(assets), remove
            )
            tables = found.all_tables
            # The tables' announcements travel through Kafka (mesh/domains.py): the relay
            # announces each once; the rest of what changed domains is announced here.
            await invalidate_cached(info, tables)
            held = set(tables)
            others = [u for u in (domain, *found.tables, *found.containers) if u not in held]
            await announce(info, ChangeType.CHANGED, others, ["domains"])
            record = await domains.get_domain(info.context.state, domain)
            ids = [strawberry.ID(t) for t in sorted(tables)[:MAX_ANSWERED]]
            return {"domain": Domain.from_props(record), "table_count": len(tables), "tables": ids}

        return await attempt(AssignmentPayload, work)

    @strawberry.mutation(
        description="Create a data product with its ports; a stream port's topic is created "
        "on Kafka with the configured partitions and retention.",
        extensions=guarded("product:write", _input("domain")),
    )
    async def create_data_product(
        self, info: Info, input: CreateDataProductInput
    ) -> DataProductPayload:
        _within(info, PRODUCT_WRITE, input.domain, "domain", "domain")
        urn_arg(input.owner_team, "ownerTeam", "team")
        sla = input.sla or SlaInput()
        spec = products.ProductSpec(
            domain=input.domain,
            name=input.name,
            description=input.description,
            team=input.owner_team,
            tags=[t.strip() for t in input.tags],
            sla=products.Sla(sla.freshness, sla.availability, sla.support_contact),
            outputs=[{"name": p.name, "asset": p.asset} for p in input.output_ports],
            streams=list(input.stream_ports),
            inputs=list(input.input_ports),
        )

        async def work() -> dict[str, Any]:
            ports = [p.asset for p in input.output_ports]
            await _reachable(info, ports, ASSET_WRITE)
            await _reachable(info, list(input.input_ports), permission("asset:read"))
            record = await products.create_product(
                info.context.state, _actor(info), spec, gate(info, input.domain)
            )
            urn = record["props"]["urn"]
            await announce(info, ChangeType.ADDED, [urn], [])
            await announce(info, ChangeType.CHANGED, ports, ["domains"])
            return {"product": DataProduct.from_props(record["props"], record)}

        return await attempt(DataProductPayload, work)

    @strawberry.mutation(
        description="Import an ODCS v3 contract (YAML) as a new version of a product, or as "
        "the contract of a draft version; checked for drift at once.",
        extensions=guarded("product:write", _by("product")),
    )
    async def import_contract(
        self, info: Info, product: strawberry.ID, version: str, odcs: str
    ) -> ProductVersionPayload:
        _within(info, PRODUCT_WRITE, product, "product", "product")

        async def work() -> dict[str, Any]:
            record = await products.import_contract(
                info.context.state, _actor(info), product, version, odcs, gate(info, product)
            )
            return await _version(info, record, "contract")

        return await attempt(ProductVersionPayload, work)

    @strawberry.mutation(
        description="Compare a version's contract with its output ports as scanned now.",
        extensions=guarded("product:write", _by("version")),
    )
    async def check_contract_drift(
        self, info: Info, version: strawberry.ID
    ) -> ProductVersionPayload:
        _within(info, PRODUCT_WRITE, version, "version", "contract")

        async def work() -> dict[str, Any]:
            record = await products.check_drift(info.context.state, _actor(info), version)
            return await _version(info, record, "drift")

        return await attempt(ProductVersionPayload, work)

    @strawberry.mutation(
        description="Publish, deprecate (with a notice) or retire a version. Publishing "
        "refuses a quarantined version, a breaking change without a new major version and "
        "open high or critical findings on what the product exposes; a deprecation's "
        "`sunset` must be in the future; retiring refuses a version consumers are bound to.",
        extensions=guarded("product:write", _by("version")),
    )
    async def advance_version(
        self,
        info: Info,
        version: strawberry.ID,
        step: Step,
        notice: str | None = None,
        sunset: datetime | None = None,
    ) -> ProductVersionPayload:
        _within(info, PRODUCT_WRITE, version, "version", "contract")

        async def work() -> dict[str, Any]:
            record = await products.advance(
                info.context.state, _actor(info), version, step, gate(info, version), notice,
                sunset,
            )  # fmt: skip
            return await _version(info, record, "status")

        return await attempt(ProductVersionPayload, work)

    @strawberry.mutation(
        description="Run a version's quality gate: profile rules over its output ports, SQL "
        "rules on the source (read-only, bounded). A failing rule quarantines it and opens a "
        "remediation, a failing warning rule alerts, a pass releases it and resolves the "
        "remediation.",
        extensions=guarded("product:write", _by("version")),
    )
    async def evaluate_quality_gate(
        self, info: Info, version: strawberry.ID
    ) -> ProductVersionPayload:
        _within(info, PRODUCT_WRITE, version, "version", "contract")

        async def work() -> dict[str, Any]:
            record = await gates.run_gate(info.context.state, _actor(info), version)
            return await _version(info, record, "quality")

        return await attempt(ProductVersionPayload, work)

    @strawberry.mutation(
        description="Add a note to the failure analysis of an open remediation.",
        extensions=guarded("product:write", _by("remediation")),
    )
    async def note_remediation(
        self, info: Info, remediation: strawberry.ID, note: str
    ) -> RemediationPayload:
        _within(info, PRODUCT_WRITE, remediation, "remediation", "remediation")

        async def work() -> dict[str, Any]:
            record = await gates.note_remediation(
                info.context.state, _actor(info), remediation, note
            )
            return {"remediation": Remediation.from_props(record)}

        return await attempt(RemediationPayload, work)

    @strawberry.mutation(
        description="Ask, for a consumer team you are a member of, for access to a published "
        "product version.",
        extensions=guarded("access:write", _input("version")),
    )
    async def request_access(self, info: Info, input: RequestAccessInput) -> AccessRequestPayload:
        urn_arg(input.version, "version", "contract")
        urn_arg(input.team, "team", "team")

        async def work() -> dict[str, Any]:
            if await info.context.loaders.find(input.version) is None:
                raise errors.NotFound(f"no product version {input.version}", input.version)
            record = await access.request_access(
                info.context.state, _actor(info), input.version, input.team, input.purpose,
                input.days, gate(info, input.version),
                for_any_team=info.context.guard.unrestricted,
            )  # fmt: skip
            return {"request": AccessRequest.from_props(record)}

        return await attempt(AccessRequestPayload, work)

    @strawberry.mutation(
        description="Approve (granting the team the version) or reject an access request; "
        "the product's approvers decide, never the requester.",
        extensions=guarded("access:approve", _by("request")),
    )
    async def decide_access(
        self, info: Info, request: strawberry.ID, approve: bool, reason: str = ""
    ) -> AccessRequestPayload:
        async def work() -> dict[str, Any]:
            await _decider(info, request)
            record = await access.decide(info.context.state, _actor(info), request, approve, reason)
            await announce(info, ChangeType.CHANGED, [record["version"]], ["consumers"])
            return {"request": AccessRequest.from_props(record)}

        return await attempt(AccessRequestPayload, work)

    @strawberry.mutation(
        description="Agree, as a member of the consumer team, to the contract terms of the "
        "requested version; the agreement (who, when, the contract's digest) is recorded.",
        extensions=guarded("access:write", _by("request")),
    )
    async def accept_contract_terms(
        self, info: Info, request: strawberry.ID
    ) -> AccessRequestPayload:
        async def work() -> dict[str, Any]:
            await _party(info, request)
            record = await access.accept_terms(
                info.context.state, _actor(info), request,
                for_any_team=info.context.guard.unrestricted,
            )  # fmt: skip
            return {"request": AccessRequest.from_props(record)}

        return await attempt(AccessRequestPayload, work)

    @strawberry.mutation(
        description="Move, as a member of the consumer team, an approved request's grant to a "
        "newer published version of the same product (the consumer's migration).",
        extensions=guarded("access:write", _by("request")),
    )
    async def migrate_access(
        self, info: Info, request: strawberry.ID, version: strawberry.ID
    ) -> AccessRequestPayload:
        urn_arg(version, "version", "contract")

        async def work() -> dict[str, Any]:
            await _party(info, request)
            before = await access.get_request(info.context.state, request)
            record = await access.migrate(
                info.context.state, _actor(info), request, version,
                for_any_team=info.context.guard.unrestricted,
            )  # fmt: skip
            moved = [before.get("boundTo") or before["version"], version]
            await announce(info, ChangeType.CHANGED, moved, ["consumers"])
            return {"request": AccessRequest.from_props(record)}

        return await attempt(AccessRequestPayload, work)

    @strawberry.mutation(
        description="End an approved request's grant now (the product's approvers).",
        extensions=guarded("access:approve", _by("request")),
    )
    async def revoke_access(
        self, info: Info, request: strawberry.ID, reason: str
    ) -> AccessRequestPayload:
        async def work() -> dict[str, Any]:
            await _decider(info, request)
            record = await access.revoke(info.context.state, _actor(info), request, reason)
            bound = record.get("boundTo") or record["version"]  # a migrated grant ends there
            await announce(info, ChangeType.CHANGED, [bound], ["consumers"])
            return {"request": AccessRequest.from_props(record)}

        return await attempt(AccessRequestPayload, work)
