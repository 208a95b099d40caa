"""``auditEvents``: the audit trail, newest first, for auditors.

The trail names resources of every domain, so reading it needs ``audit:read`` with no domain
or source restriction. Reading it is itself audited.
"""

from __future__ import annotations

from typing import Any

import strawberry

from graph.audit import count_audit_events, list_audit_events
from resolvers.audit.types import AuditEvent, AuditEventFilter
from resolvers.common import Connection, Edge, PageInfo
from resolvers.context import Info
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    keyset_cursor,
    keyset_position,
)
from resolvers.permissions import needs


def _position(props: dict[str, Any]) -> str:
    """The event's place in the trail: its time as stored, then its id."""
    return keyset_cursor([props["at"], props["id"]])


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Recorded acts matching the filter, newest first, a page at a time.",
        extensions=needs("audit:read", unscoped=True),
    )
    async def audit_events(
        self,
        info: Info,
        filter: AuditEventFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        check_page_size(first)
        position = keyset_position(after, 2, "auditEvents") if after else None
        params = (filter or AuditEventFilter()).params()
        driver, database = info.context.graph
        found = await list_audit_events(driver, database, **params, limit=first + 1, after=position)
        info.context.guard.audit.note("read:audit", "auditEvents", "allowed")
        page = found[:first]

        async def count() -> int:
            return await count_audit_events(driver, database, **params)

        return Connection(
            edges=[
                Edge(node=AuditEvent.from_props(p), position=lambda p=p: _position(p)) for p in page
            ],
            page_info=PageInfo(
                has_next_page=len(found) > first,
                end_cursor=_position(page[-1]) if page else None,
            ),
            count=count,
        )
