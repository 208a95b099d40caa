"""Access requests as GraphQL: the node (``urn:dw:access:<domain>/<product>/<id>``) and the
pages that list them (``accessRequests``, ``ProductVersion.accessRequests``).

Only the parties to a request see it (resolvers/guard.py, ``Scope.PARTIES``): its requester,
the members of its team and whoever may decide it; pages apply that rule in the Cypher query
(graph/access.py), so they stay full and their counts true.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry

from core.urns import InvalidUrn, Urn
from graph import access as access_graph
from graph.records import NodeRecord
from resolvers.common import Connection, Node, timestamp
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.pagination import check_page_size, keyset_page, timed_position


@strawberry.enum(description="Where an access request stands; an approved one is a grant.")
class AccessStatus(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


@strawberry.type(
    description="A consumer team's request for a product version; seen by its requester, the "
    "members of its team and the product's approvers."
)
class AccessRequest(Node):
    status: AccessStatus
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
    terms_accepted_by: str | None = strawberry.field(
        description="Who of the consumer team agreed to the contract terms."
    )
    terms_accepted_at: datetime | None
    terms_digest: str | None = strawberry.field(
        description="SHA-256 of the version's ODCS document agreed to."
    )
    bound_to: strawberry.ID = strawberry.field(
        description="The version its grant binds: the requested one, or the one migrated to."
    )
    migrated_from: strawberry.ID | None
    migrated_at: datetime | None

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(p["urn"]),
            status=AccessStatus(p["status"]),
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
            terms_accepted_by=p.get("termsAcceptedBy"),
            terms_accepted_at=timestamp(p, "termsAcceptedAt"),
            terms_digest=p.get("termsDigest"),
            bound_to=strawberry.ID(p.get("boundTo") or p["version"]),
            migrated_from=p.get("migratedFrom"),
            migrated_at=timestamp(p, "migratedAt"),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.from_props(record.props)


@strawberry.input(description="Conditions that all must hold; omitted ones match anything.")
class AccessRequestFilter:
    status: AccessStatus | None = None
    product: strawberry.ID | None = None
    version: strawberry.ID | None = strawberry.field(
        default=None, description="The version requested (a migration does not change it)."
    )
    team: strawberry.ID | None = strawberry.field(default=None, description="The consumer team.")
    domain: strawberry.ID | None = strawberry.field(
        default=None, description="The product's domain (its URN)."
    )


# What an argument naming a mesh object must be: its kind's words and shape.
_SHAPES = {
    "domain": ("a domain", "urn:dw:domain:<name>"),
    "team": ("a team", "urn:dw:team:<name>"),
    "product": ("a data product", "urn:dw:product:<domain>/<name>"),
    "contract": ("a product version", "urn:dw:contract:<domain>/<product>/<version>"),
    "access": ("an access request", "urn:dw:access:<domain>/<product>/<id>"),
    "remediation": ("a remediation", "urn:dw:remediation:<domain>/<product>/<version>/<time>"),
}


def urn_arg(urn: str | None, field: str, kind: str) -> Urn | None:
    """The argument ``field`` parsed, a URN of ``kind`` (None: not given); anything else is the
    caller's mistake (``BAD_USER_INPUT``), not a filter that silently matches nothing."""
    if urn is None:
        return None
    try:
        parsed = Urn.parse(urn)
    except InvalidUrn:
        parsed = None
    if parsed is None or parsed.kind != kind:
        what, shape = _SHAPES[kind]
        raise ClientError(f"{field} must be {what} URN ({shape}), got {urn!r}")
    return parsed


async def access_request_page(
    info: Info, filter: AccessRequestFilter, first: int, after: str | None, of: str
) -> Connection[AccessRequest]:
    """The requests ``filter`` matches that the caller is a party to, oldest first; ``of``
    names the field its cursors belong to."""
    guard = info.context.guard
    urn_arg(filter.product, "product", "product")
    urn_arg(filter.version, "version", "contract")
    urn_arg(filter.team, "team", "team")
    domain = urn_arg(filter.domain, "domain", "domain")
    where = {
        "status": filter.status.value if filter.status else None,
        "product": filter.product,
        "version": filter.version,
        "team": filter.team,
        "domain": domain.name if domain else None,
        "subject": guard.principal.subject if guard.principal else None,
        "approves": guard.approves(),
    }
    graph = info.context.graph
    found = await access_graph.requests_page(
        *graph, after=timed_position(after, of), limit=check_page_size(first) + 1, **where
    )

    async def count() -> int:
        return await access_graph.count_requests(*graph, **where)

    nodes = [AccessRequest.from_props(p) for p, _ in found]
    return keyset_page(nodes, [[at, p["urn"]] for p, at in found], first, count)
