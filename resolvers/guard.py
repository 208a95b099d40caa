"""What the caller of one GraphQL operation may reach, and the audit events it produces.

Built per operation (``Context.renew``): RBAC decisions are cached for the operation only,
and the audit notes are recorded before its response leaves (resolvers/security.py).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from core.kinds import KINDS, Kind, Scope
from core.urns import InvalidUrn, Urn
from graph.records import NodeRecord
from security.audit import RequestAudit
from security.auth import Principal
from security.rbac import Authorizer, Permission, permission

# The permission that lets a caller see a node at all, by its URN kind (core/kinds.py).
READ: dict[str, Permission] = {k.name: permission(k.read) for k in KINDS if k.read}
# Who decides an access request, in the domain its URN names (mesh/access.py): a party to it.
ACCESS_APPROVE = permission("access:approve")


def _kind(record: NodeRecord) -> Kind | None:
    """A node's kind, by its most specific label, else by its URN; None if neither names a
    kind with a read permission and a scope rule (such a node is never reached)."""
    kind = KINDS.of_labels(record.labels)
    if kind is None:
        with contextlib.suppress(InvalidUrn):
            kind = KINDS[Urn.parse(record.urn).kind]
    return kind if kind and kind.read and kind.scope else None


def _source(record: NodeRecord) -> str | None:
    """The data source a node belongs to: its ``source`` property, else the first segment of
    its URN (a source's own); None for kinds that belong to no source."""
    return record.props.get("source") or Urn.parse(record.urn).source


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
        """``perm`` (by default the read permission of its kind) on this node in its scopes,
        as its kind's scope rule says (sources and jobs: by data source; assets and versions:
        by domain too; findings and waivers: by the finding's recorded domains and source).
        A node of no kind with a scope rule is never reached."""
        kind = _kind(record)
        if kind is None:
            return False
        perm = perm or READ[kind.name]
        if kind.scope is Scope.GLOBAL:
            return self.can(perm)
        if kind.scope is Scope.SOURCE:
            return self.can(perm, source=_source(record))
        if kind.scope is Scope.PARTIES:
            return self.can(perm) and self._party(record)
        # An asset's domains as the graph places it; a finding's (a waiver's) as recorded, with
        # its recorded source: one with none is no source-scoped caller's, as in ``findings``.
        source = (
            (record.props.get("source") or "") if kind.scope is Scope.FINDING else _source(record)
        )
        return self.authz is not None and self.authz.can_reach(
            perm, domains=record.domains, source=source
        )

    def reaches_unplaced(self, urn: str) -> bool:
        """``reaches`` for a node known by its URN alone: its data source the URN's, in no
        domain (which only a caller scoped to every domain reaches), no party to it known. So
        true only if the node is reached wherever the graph places it, or once it is gone."""
        return self.reaches(NodeRecord(labels=[], props={"urn": urn}))

    def _party(self, record: NodeRecord) -> bool:
        """A party to an access request: its requester, a member of its team (``teamMembers``,
        graph/access.py), or one who may decide it. ``approves`` is the same rule as a filter."""
        subject = self.principal.subject if self.principal else None
        props = record.props
        if subject is not None and (
            subject == props.get("requestedBy") or subject in (props.get("teamMembers") or [])
        ):
            return True
        return self.can(ACCESS_APPROVE, domain=Urn.parse(record.urn).path[0])

    def approves(self) -> list[str] | None:
        """The domains whose access requests the caller may decide (None: every one), for
        queries that filter in the database what ``_party`` decides in Python."""
        if not self.can(ACCESS_APPROVE):
            return []
        domains, _ = self.scope()
        return sorted(domains) if domains is not None else None

    def scope(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """Domains and sources the caller is limited to (None: all), for database filters."""
        if self.authz is None:
            return frozenset(), frozenset()
        return self.authz.scope()

    @property
    def unrestricted(self) -> bool:
        return self.scope() == (None, None)
