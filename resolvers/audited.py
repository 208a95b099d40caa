"""Every mutation is authorized, then audited before and after it runs.

``guarded("asset:write", resource)`` goes in a mutation's ``extensions``: the caller must hold
the permission (FORBIDDEN otherwise, audited as denied); then the attempt is recorded
(outcome ``allowed``) before the resolver runs, and an unavailable audit trail fails the
mutation with AUDIT_UNAVAILABLE before anything changed; the outcome (``succeeded``, or
``failed`` with the payload's errors) is recorded with the operation's other events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from resolvers.context import Info
from resolvers.errors import coded
from resolvers.permissions import needs
from security.audit import AuditUnavailable


class AuditedMutation(FieldExtension):
    def __init__(self, resource: Callable[..., str]) -> None:
        self.resource = resource

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], root: Any, info: Info, /, **kwargs: Any
    ) -> Any:
        audit = info.context.guard.audit
        resource = self.resource(**kwargs)
        try:
            await audit.record(info.field_name, resource, "allowed", "attempt")
        except AuditUnavailable as err:
            raise coded(
                "AUDIT_UNAVAILABLE", "the audit trail is unavailable, so nothing was changed"
            ) from err
        try:
            payload = await next_(root, info, **kwargs)
        except Exception as err:
            audit.note(info.field_name, resource, "failed", type(err).__name__)
            raise
        errors = payload.errors
        detail = "; ".join(f"{type(e).__name__}: {e.message}" for e in errors)
        audit.note(info.field_name, resource, "failed" if errors else "succeeded", detail)
        return payload


def guarded(spec: str, resource: Callable[..., str]) -> list[FieldExtension]:
    """Permission check first (the last extension is the outermost), then the audit."""
    return [AuditedMutation(resource), *needs(spec)]
