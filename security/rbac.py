"""Role-based access control with domain and data-source scopes: what a principal may do.

A role grants permissions ``(resource, action)``; a principal's token also scopes it to
domains and data sources (``*`` = all). A steward of ``sales`` can write assets of ``sales``
but not of ``finance``. An asset that no data product places in a domain is ``UNASSIGNED``:
only a principal scoped to every domain reaches it, so a new, unclassified estate is not
open to everyone with a narrow scope. Decisions are pure and cached per request by
``Authorizer``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from security.auth import Principal


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    APPROVE = "approve"
    ADMIN = "admin"


@dataclass(frozen=True)
class Permission:
    resource: str
    action: Action

    def __str__(self) -> str:
        return f"{self.resource}:{self.action}"


def _perms(*specs: str) -> frozenset[Permission]:
    out = set()
    for spec in specs:
        resource, action = spec.split(":")
        out.add(Permission(resource, Action(action)))
    return frozenset(out)


CATALOG_READ = _perms("asset:read", "lineage:read", "source:read", "label:read", "product:read")
ROLES: dict[str, frozenset[Permission]] = {
    "viewer": CATALOG_READ,
    "steward": CATALOG_READ
    | _perms(
        "asset:write", "lineage:write", "label:write", "scan:write", "source:write",
        "compliance:read", "access:write",
    ),
    "domain_owner": CATALOG_READ
    | _perms(
        "asset:write", "lineage:write", "label:write", "product:write", "access:approve",
        "policy:write", "compliance:read", "compliance:write", "domain:write", "access:write",
    ),
    "auditor": CATALOG_READ | _perms("audit:read", "compliance:read"),
    "service": _perms("asset:read", "asset:write", "lineage:write", "scan:write", "source:read"),
    "admin": CATALOG_READ
    | _perms(
        "asset:write", "lineage:write", "label:write", "scan:write", "source:write",
        "product:write", "access:approve", "audit:read", "pii:read", "system:admin",
        "policy:write", "policy:approve", "compliance:read", "compliance:write",
        "source:admin", "domain:admin", "domain:write", "access:write",
    ),
}  # fmt: skip
# Data mesh (mesh/): ``domain:admin`` creates and archives domains; ``domain:write`` edits a
# domain (owners, members, teams, which assets it holds) within the caller's domain scope;
# ``product:write`` builds its products; ``access:write`` asks for access to another domain's
# product, which someone else with ``access:approve`` in the product's domain decides.
# ``source:admin`` (admins only) sets where a source is and which secret it reads: its host,
# port, secretRef and tls, and unregisters it. ``source:write`` tests and edits the rest.
# Extra permissions a token may carry by name (claim ``permissions``), e.g. ``pii:read``.
GRANTABLE = _perms("pii:read")


def permission(spec: str) -> Permission:
    resource, _, action = spec.partition(":")
    return Permission(resource, Action(action))


# The domain of an asset in none; no token can name it (empty names are dropped), so only ``*``
# covers it.
UNASSIGNED = ""


def _in_scope(scope: frozenset[str], value: str | None) -> bool:
    return "*" in scope or value is None or value in scope


def allows(
    principal: Principal, perm: Permission, *, domain: str | None = None, source: str | None = None
) -> bool:
    """True when a role or granted permission covers ``perm`` within the asset's scopes.

    An asset without a domain is governed by its source scope only; ``None`` means "not
    scoped by that dimension" (e.g. listing data sources).
    """
    granted = set().union(*(ROLES.get(r, frozenset()) for r in principal.roles))
    granted |= {p for p in GRANTABLE if str(p) in principal.permissions}
    if perm not in granted:
        return False
    if "admin" in principal.roles:
        return True
    return _in_scope(principal.domains, domain) and _in_scope(principal.sources, source)


@dataclass
class Authorizer:
    """Per-request decision cache around ``allows``."""

    principal: Principal
    _cache: dict[tuple[Permission, str | None, str | None], bool] = field(default_factory=dict)

    def can(
        self, perm: Permission, *, domain: str | None = None, source: str | None = None
    ) -> bool:
        key = (perm, domain, source)
        if key not in self._cache:
            self._cache[key] = allows(self.principal, perm, domain=domain, source=source)
        return self._cache[key]

    def can_reach(self, perm: Permission, *, domains: Collection[str], source: str) -> bool:
        """``perm`` on an asset in ``domains`` (all of them must be in scope; none is
        ``UNASSIGNED``) of data source ``source``."""
        return all(self.can(perm, domain=d, source=source) for d in domains or (UNASSIGNED,))

    def scope(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """The domains and sources this principal is limited to (None: unrestricted), for
        queries that filter in the database what ``can_reach`` decides in Python."""
        p = self.principal
        if "admin" in p.roles:
            return None, None
        return (None if "*" in p.domains else p.domains), (None if "*" in p.sources else p.sources)
