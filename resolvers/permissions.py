"""RBAC on GraphQL fields: ``extensions=needs("asset:write")`` on a field, mutation or
subscription. The caller must be authenticated and hold the permission in some scope; which
assets it then reaches is the loaders' business (resolvers/loaders.py).

A field extension of our own rather than Strawberry's ``PermissionExtension``, whose resolver
takes the parent object as a keyword ``source`` and so clashes with our ``source`` arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import FieldExtension

from resolvers.context import Info
from resolvers.errors import coded
from security.rbac import permission

FORBIDDEN = "FORBIDDEN"


class Requires(FieldExtension):
    """Holds ``spec``; within the domain named by the field argument ``domain_arg`` if given;
    with no domain or source restriction at all if ``unscoped`` (views of the whole estate,
    such as the audit trail, whose resources would otherwise leak out of scope). A denial is
    audited, then FORBIDDEN, or an empty list if ``quietly``."""

    def __init__(
        self,
        spec: str,
        *,
        domain_arg: str | None = None,
        unscoped: bool = False,
        quietly: bool = False,
    ) -> None:
        self.perm = permission(spec)
        self.domain_arg, self.unscoped, self.quietly = domain_arg, unscoped, quietly
        restriction = " without domain or source restrictions" if unscoped else ""
        self.message = f"forbidden: this needs the {spec} permission{restriction}"

    async def resolve_async(
        self, next_: Callable[..., Any], root: Any, info: Info, /, **kwargs: Any
    ) -> Any:
        if not self._allows(info, kwargs):
            if self.quietly:
                return []
            raise coded(FORBIDDEN, self.message)
        result = next_(root, info, **kwargs)
        return result if inspect.isasyncgen(result) else await result

    def _allows(self, info: Info, kwargs: dict[str, Any]) -> bool:
        guard = info.context.guard
        if guard.principal is None:
            raise coded("UNAUTHENTICATED", "authentication required: send a bearer token")
        domain = kwargs.get(self.domain_arg) if self.domain_arg else None
        allowed = guard.can(self.perm, domain=domain) and (not self.unscoped or guard.unrestricted)
        if not allowed:
            where = f"{info.path.typename}.{info.field_name}"
            guard.audit.note(where, domain or where, "denied", f"needs {self.perm}")
        return allowed


def needs(spec: str, **options: Any) -> list[FieldExtension]:
    """A FORBIDDEN error unless the caller holds ``spec`` (see ``Requires``)."""
    return [Requires(spec, **options)]


def needs_quietly(spec: str) -> list[FieldExtension]:
    """For relationship lists: without ``spec`` the caller sees an empty list (audited)."""
    return [Requires(spec, quietly=True)]
