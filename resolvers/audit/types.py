"""The audit trail as GraphQL types (security/audit.py writes it, graph/audit.py reads it)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, Self

import strawberry


@strawberry.enum(description="How an audited act ended.")
class AuditOutcome(Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


@strawberry.type(description="One recorded act: who did what to which resource, and how.")
class AuditEvent:
    id: strawberry.ID
    at: datetime
    actor: str = strawberry.field(description="The token's subject, or anonymous.")
    action: str = strawberry.field(
        description="authenticate, a mutation, a permission such as asset:write, "
        "read:sensitive, graphql (a refused document), request (a refused body), ..."
    )
    resource: str = strawberry.field(description="A URN, a field, a domain or a path.")
    outcome: AuditOutcome
    request_id: str
    client_address: str
    detail: str

    @classmethod
    def from_props(cls, p: dict[str, Any]) -> Self:
        return cls(
            id=p["id"],
            at=datetime.fromisoformat(p["at"]),
            actor=p["actor"],
            action=p["action"],
            resource=p["resource"],
            outcome=AuditOutcome(p["outcome"]),
            request_id=p.get("requestId", ""),
            client_address=p.get("clientAddress", ""),
            detail=p.get("detail", ""),
        )


def _utc(moment: datetime | None) -> str | None:
    """As stored: ISO-8601 in UTC (the DateTime scalar read a time without a zone as UTC)."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


@strawberry.input(description="Conditions that all must hold; omitted ones match anything.")
class AuditEventFilter:
    actor: str | None = None
    action: str | None = None
    outcome: AuditOutcome | None = None
    resource: str | None = None
    since: datetime | None = strawberry.field(default=None, description="At or after.")
    before: datetime | None = strawberry.field(default=None, description="Strictly before.")

    def params(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome.value if self.outcome else None,
            "resource": self.resource,
            "since": _utc(self.since),
            "before": _utc(self.before),
        }
