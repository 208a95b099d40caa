"""The kinds of things DataWave names by URN, and what every layer needs to know about each.

One entry per kind says how its URN is shaped (core/urns.py), which Neo4j label its nodes carry
and which label a lookup by URN matches (graph/catalog.py), which GraphQL type shows it
(resolvers/catalog/types.py), and which permission and scope rule let a caller see one
(resolvers/guard.py). Adding a kind is adding an entry to ``KINDS``; every layer reads it from
there. Kinds not served through ``node(id:)`` yet (no GraphQL type) leave the read side empty.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import LiteralString

# Every catalogued asset (database, schema, table, column) carries this label; their URNs are
# unique under it, so one lookup finds any of them.
ASSET = "Asset"


class Scope(StrEnum):
    """How RBAC scopes a kind's nodes (security/rbac.py)."""

    SOURCE = "source"  # by its data source only
    DOMAIN = "domain"  # by the data-mesh domains the graph places it in, and its data source
    GLOBAL = "global"  # not scoped: the read permission anywhere is enough
    # by the domains and data source a finding recorded at its last evaluation (its column's
    # then), as the ``findings`` query filters; a waiver by its finding's
    FINDING = "finding"
    # the parties to it only: an access request's requester, the members of its team and
    # whoever may decide it (access:approve in the domain its URN names; resolvers/guard.py)
    PARTIES = "parties"


@dataclass(frozen=True)
class Kind:
    name: str  # the <kind> of urn:dw:<kind>:...
    segments: int | None  # how many '/'-separated segments its URNs have (None: one or more)
    sourced: bool  # whether the first segment is the name of a data source
    # Labels are pasted into Cypher (graph/catalog.py), so only ever literals.
    label: LiteralString | None = None  # the most specific label of its nodes (None: no node)
    key_label: LiteralString | None = None  # the label its urn is unique under; lookups match it
    graphql: str | None = None  # the GraphQL type ``node(id:)`` shows it as (None: not served)
    read: str | None = None  # the permission that lets a caller see one at all
    scope: Scope | None = None  # how RBAC scopes it

    def __post_init__(self) -> None:
        if self.label and not self.key_label:
            object.__setattr__(self, "key_label", self.label)
        if self.segments is not None and self.segments < 1:
            raise ValueError(f"kind {self.name!r}: a URN has at least one segment")
        if self.graphql and not (self.label and self.read and self.scope):
            raise ValueError(f"kind {self.name!r}: served kinds need a label, read and scope")
        if self.scope is Scope.SOURCE and not self.sourced:
            raise ValueError(f"kind {self.name!r}: scoped by source but its URN names none")


class DuplicateKind(ValueError):
    pass


class Kinds:
    """A registry of kinds that refuses a second kind with the same URN kind, Neo4j label or
    GraphQL type, and kinds looked up under one label with different scope rules (one lookup
    query serves them all)."""

    def __init__(self, *kinds: Kind) -> None:
        self._by_name: dict[str, Kind] = {}
        self._by_label: dict[str, Kind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: Kind) -> Kind:
        if kind.name in self._by_name:
            raise DuplicateKind(f"URN kind {kind.name!r} is registered twice")
        if kind.label and kind.label in self._by_label:
            raise DuplicateKind(f"label {kind.label!r} is registered twice")
        if kind.graphql and any(k.graphql == kind.graphql for k in self):
            raise DuplicateKind(f"GraphQL type {kind.graphql!r} is registered twice")
        if any(k.key_label == kind.key_label and k.scope != kind.scope for k in self.labelled()):
            raise DuplicateKind(f"kinds looked up under {kind.key_label!r} differ in scope")
        self._by_name[kind.name] = kind
        if kind.label:
            self._by_label[kind.label] = kind
        return kind

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._by_name.values())

    def __getitem__(self, name: str) -> Kind:
        return self._by_name[name]

    def get(self, name: str) -> Kind | None:
        return self._by_name.get(name)

    def labelled(self) -> list[Kind]:
        """Kinds whose nodes live in the graph."""
        return [k for k in self if k.label]

    def served(self) -> list[Kind]:
        """Kinds ``node(id:)`` finds and shows."""
        return [k for k in self if k.graphql]

    def of_labels(self, labels: Collection[str]) -> Kind | None:
        """The kind of a node, by its labels (``[Asset, Table]`` is a table)."""
        for label in labels:
            if (kind := self._by_label.get(label)) is not None:
                return kind
        return None


def _asset(name: str, segments: int, label: LiteralString) -> Kind:
    return Kind(
        name, segments, True, label, ASSET, graphql=label, read="asset:read", scope=Scope.DOMAIN
    )


KINDS = Kinds(
    # catalogued from the data sources: urn:dw:<kind>:<source>/<path>
    Kind(
        "source",
        1,
        True,
        "DataSource",
        graphql="DataSource",
        read="source:read",
        scope=Scope.SOURCE,
    ),
    _asset("database", 2, "Database"),
    _asset("schema", 3, "Schema"),
    _asset("table", 4, "Table"),
    _asset("column", 5, "Column"),
    Kind(
        "version",
        5,
        True,
        "SchemaVersion",
        graphql="SchemaVersion",
        read="asset:read",
        scope=Scope.DOMAIN,
    ),
    # a view's job has the view's path; other producers (OpenLineage) name theirs freely
    Kind("job", None, True, "Job", graphql="Job", read="lineage:read", scope=Scope.SOURCE),
    # OpenLineage (graph/runs.py): a run of a job, <job namespace>/<job name>/<run id>, seen
    # as its job is, and a dataset no registered source holds, <namespace>/<name> (one that a
    # source holds is that source's table), an asset; the namespace stands where a source's
    # name does.
    Kind("run", 3, True, "Run", graphql="Run", read="lineage:read", scope=Scope.SOURCE),
    Kind(
        "dataset",
        2,
        True,
        "Dataset",
        ASSET,
        graphql="Dataset",
        read="asset:read",
        scope=Scope.DOMAIN,
    ),
    # data mesh: urn:dw:<kind>:<path>, no source
    # The mesh is a marketplace: anyone with product:read browses domains, teams, products
    # and their versions (a :Contract each) across domains; the assets a product exposes stay
    # scoped by domain (graph/domains.py) until access is granted (docs/mesh.md).
    Kind("domain", 1, False, "Domain", graphql="Domain", read="product:read", scope=Scope.GLOBAL),
    Kind("team", 1, False, "Team", graphql="Team", read="product:read", scope=Scope.GLOBAL),
    Kind(  # <domain>/<name>
        "product",
        2,
        False,
        "DataProduct",
        graphql="DataProduct",
        read="product:read",
        scope=Scope.GLOBAL,
    ),
    Kind(  # <domain>/<product>/<version>: one product version and its contract
        "contract",
        3,
        False,
        "Contract",
        graphql="ProductVersion",
        read="product:read",
        scope=Scope.GLOBAL,
    ),
    # <domain>/<product>/<id>: a team's access request for a version of the product (a
    # product's, not a version's: a migration moves its grant to another version); only its
    # parties see it
    Kind(
        "access",
        3,
        False,
        "AccessRequest",
        graphql="AccessRequest",
        read="product:read",
        scope=Scope.PARTIES,
    ),
    # <domain>/<product>/<version>/<time>: a version's quality-gate run and the remediation
    # its failure opened (URN order is time order); shown through their version
    Kind("qualityrun", 4, False, "QualityRun"),
    Kind("remediation", 4, False, "Remediation"),
    # governance: what the root queries show anyone with compliance:read (policies, the
    # frameworks and their controls) and what they scope as findings (findings, waivers)
    *(
        Kind(name, segments, False, label, graphql=label, read="compliance:read", scope=scope)
        for name, segments, label, scope in (
            ("policy", 1, "Policy", Scope.GLOBAL),
            ("framework", 1, "Framework", Scope.GLOBAL),
            ("control", 2, "Control", Scope.GLOBAL),  # <framework>/<id>
            ("finding", 1, "Finding", Scope.FINDING),
            ("waiver", 1, "Waiver", Scope.FINDING),  # <id>, a UUID (migration 0019)
        )
    ),
)
