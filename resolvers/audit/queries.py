"""``auditEvents``: the audit trail, newest first, for auditors.

The trail names resources of every domain, so reading it needs ``audit:read`` with no domain
or source restriction. Reading it is itself audited.
"""

from __future__ import annotations

import strawberry

from graph.audit import list_audit_events
from resolvers.audit.types import AuditEvent, AuditEventFilter
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.permissions import needs

MAX_EVENTS = 500


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description=f"Recorded acts, newest first; at most {MAX_EVENTS}. Page back in time "
        "with filter.before = the `at` of the last one.",
        extensions=needs("audit:read", unscoped=True),
    )
    async def audit_events(
        self, info: Info, filter: AuditEventFilter | None = None, first: int = 50
    ) -> list[AuditEvent]:
        if not 1 <= first <= MAX_EVENTS:
            raise ClientError(f"first must be between 1 and {MAX_EVENTS}, got {first}")
        params = (filter or AuditEventFilter()).params()
        found = await list_audit_events(*info.context.graph, **params, limit=first)
        info.context.guard.audit.note("read:audit", "auditEvents", "allowed")
        return [AuditEvent.from_props(e) for e in found]
