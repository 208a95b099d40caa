"""What the caller of one GraphQL operation may reach, and the audit events it produces.

Built per operation (``Context.renew``): RBAC decisions are cached for the operation only,
and the audit notes are recorded before its response leaves (resolvers/security.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.catalog import NodeKind
from graph.records import NodeRecord
from security.audit import RequestAudit
from security.auth import Principal
from security.rbac import Authorizer, Permission, permission

ASSET_READ = permission("asset:read")
# The permission that lets a caller see a node at all, by the kind of node.
READ: dict[NodeKind, Permission] = {
    NodeKind.ASSET: ASSET_READ,
    NodeKind.VERSION: ASSET_READ,
    NodeKind.SOURCE: permission("source:read"),
    NodeKind.JOB: permission("lineage:read"),
}


def kind_of(record: NodeRecord) -> NodeKind:
    for kind in (NodeKind.SOURCE, NodeKind.JOB, NodeKind.VERSION):
        if kind.value in record.labels:
            return kind
    return NodeKind.ASSET


@dataclass
class Guard:
    """The caller (None before a WebSocket's ``connection_init``), its decisions, its audit."""

    principal: Principal | None
    audit: RequestAudit
    authz: Authorizer | None = field(init=False)

    def __post_init__(self) -> None:
        self.authz = Authorizer(self.principal) if self.principal else None

    def can(
        self, perm: Permission, *, domain: str | None = None, source: str | None = None
    ) -> bool:
        """``perm`` somewhere (no scope given) or within the given domain and source."""
        return self.authz is not None and self.authz.can(perm, domain=domain, source=source)

    def reaches(self, record: NodeRecord, perm: Permission | None = None) -> bool:
        """``perm`` (by default the read permission of its kind) on this node in its scopes.

        Sources and jobs are scoped by data source only; assets and versions by domain too.
        """
        kind = kind_of(record)
        perm = perm or READ[kind]
        props = record.props
        if kind is NodeKind.SOURCE:
            return self.can(perm, source=props.get("name") or "")
        if kind is NodeKind.JOB:
            return self.can(perm, source=props.get("source") or "")
        source = props.get("source") or ""
        return self.authz is not None and self.authz.can_reach(
            perm, domains=record.domains, source=source
        )

    def scope(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """Domains and sources the caller is limited to (None: all), for database filters."""
        if self.authz is None:
            return frozenset(), frozenset()
        return self.authz.scope()

    @property
    def unrestricted(self) -> bool:
        return self.scope() == (None, None)
