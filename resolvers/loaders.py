"""Per-request DataLoaders: every lookup by URN and every relationship is one query per batch.

Asset lookups, and the relations within a table (columns, labels), go through the Redis
read-through cache; the other relationships are read from Neo4j. What the loaders hand out is
filtered by the caller's RBAC scope: a node out of scope is exactly as absent as a missing one.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from graphql import GraphQLError
from neo4j import AsyncDriver
from strawberry.dataloader import DataLoader

from core.kinds import ASSET, KINDS
from core.urns import InvalidUrn, Urn, ancestors
from graph import access, catalog, products, projections
from graph.catalog import Relation
from graph.driver import Record
from graph.projections import AssetDetail
from graph.records import NodeRecord, Related
from live.cache import ReadThroughCache
from live.state import AppState
from mesh import usage
from resolvers.errors import coded
from resolvers.guard import READ, Guard
from security.rbac import Permission

# The labels that lookups of the kinds ``node`` serves match (core/kinds.py): one loader each.
LOOKUPS = sorted({kind.key_label for kind in KINDS.served() if kind.key_label})
# Relations that lead to teams and labels, which are not scoped themselves (an inherited
# label's path is: resolvers/catalog/types.py checks it).
UNSCOPED = frozenset(
    {
        Relation.OWNERS,
        Relation.LABELS,
        Relation.COLUMN_LABELS,
        Relation.INHERITED_LABELS,
        Relation.COLUMN_INHERITED_LABELS,
    }
)
# Relations within one table (live/cache.py ``token_key``), read through the Redis cache: an
# asset detail's columns and labels. The others reach assets whose changes would not reach
# the entry's token (lineage has its own cache).
CACHED = frozenset({Relation.COLUMNS, Relation.LABELS, Relation.COLUMN_LABELS})
# The most related nodes (columns, labels, owners, hops of lineage) one operation, or one event
# of a subscription, is handed. The cost estimate (resolvers/limits.py) cannot see how long an
# unpaged list really is: three levels of ``columns { table { columns { table { columns`` of a
# 200-column table fit its budget and would produce 8 million objects. A page of 100 tables of
# 1,000 columns each, with a label on every column, is handed 200,000.
MAX_RELATED = 250_000


K = TypeVar("K")
V = TypeVar("V")


class _Lazy(dict[K, DataLoader[str, V]]):
    """A DataLoader per key, built on first use: a request uses a few of the ~30 there are,
    and building them all took 3 % of a cold lineage read's CPU.

    ``load`` is a method of the ``Loaders`` that holds this, kept by a weak reference: a
    strong one would close a cycle (loaders, this, a DataLoader, its load function), so every
    request's loaders and what they read would wait for the cyclic collector instead of going
    when the request does (docs/benchmarks.md, "Nothing a request reads waits for the
    collector")."""

    def __init__(
        self, load: Callable[[K, list[str]], Awaitable[list[V]]], keys: Iterable[K]
    ) -> None:
        super().__init__()
        self._load, self.keys_allowed = weakref.WeakMethod(load), frozenset(keys)

    def __missing__(self, key: K) -> DataLoader[str, V]:
        if key not in self.keys_allowed:
            raise KeyError(key)
        load = self._load

        async def batch(urns: list[str]) -> list[V]:
            method = load()
            if method is None:  # a loader is only awaited inside a method of its ``Loaders``
                raise RuntimeError("a request's DataLoader outlived its loaders")
            return await method(key, urns)

        loader = self[key] = DataLoader(batch)
        return loader


def _contracts(driver: AsyncDriver, database: str) -> DataLoader[str, str | None]:
    """The ODCS YAML of versions by URN (None: no such version), one query per batch: lists of
    versions leave it out (graph/products.py ``_LIGHT``), so a page of products reads it only
    if ``contract`` is asked, once for the page. It holds the driver, not the loaders: no
    reference cycle (``_Lazy``)."""

    async def load(urns: list[str]) -> list[str | None]:
        found = await products.contracts(driver, database, urns)
        return [found.get(u) for u in urns]

    return DataLoader(load)


# A page of a product's versions (``DataProduct.versions``): its URN, how many to read (a page
# and one more) and the (major, minor, patch) of the version it starts after (None: the first).
VersionPage = tuple[str, int, tuple[int, ...] | None]


def _version_pages(
    driver: AsyncDriver, database: str
) -> DataLoader[VersionPage, tuple[list[Record], int]]:
    """Pages of products' versions with how many each product has, one query per batch: a
    page of products selecting ``versions`` (with any page arguments) reads them once, and so
    asks for their ``contract`` in one batch too. It holds the driver (``_contracts``)."""

    async def load(keys: list[VersionPage]) -> list[tuple[list[Record], int]]:
        return await products.version_pages(driver, database, keys)

    return DataLoader(load)


class Loaders:
    """Built per request, and per operation of a WebSocket (resolvers/context.py), so
    nothing cached outlives it nor is shared between two subscriptions of one socket."""

    def __init__(
        self, state: AppState, guard: Guard, used: set[tuple[str, str]] | None = None
    ) -> None:
        self._state = state
        self._driver: AsyncDriver = state.neo4j
        self._database = state.settings.neo4j.database
        self.guard = guard
        self.cache = ReadThroughCache(state.redis, state.settings.cache_ttl_s)
        self._redis = state.redis
        # Grants counted as used (mesh/usage.py) by this operation: once per request, and once
        # per subscription however many events it hears, not once per event.
        self._used = set() if used is None else used
        self.next_event()

    def fresh(self) -> Loaders:
        """Loaders that read everything anew (a subscription's event, long after it began)
        for the same operation: a grant they read through is not counted again."""
        return Loaders(self._state, self.guard, self._used)

    def next_event(self) -> None:
        """Forget what was read, as a new request would: a subscription's next event reads
        the graph as it is then (a change it announces, a grant that ended), with a budget of
        its own. Before, a table's columns and labels stayed as its first event read them."""
        self._nodes: _Lazy[str, NodeRecord | None] = _Lazy(self._load_nodes, LOOKUPS)
        self._related: _Lazy[Relation, list[Related]] = _Lazy(self._load_related, Relation)
        self.contracts = _contracts(self._driver, self._database)
        self.versions = _version_pages(self._driver, self._database)
        # URN -> (version, team) of the grants reaching it, read on the first out-of-scope node
        self._granted: dict[str, set[tuple[str, str]]] | None = None
        self.handed = 0  # related nodes handed out, against MAX_RELATED
        self.too_large: GraphQLError | None = None  # set once past MAX_RELATED

    async def node(self, urn: str, need: Permission | None = None) -> NodeRecord | None:
        """Any node by its URN if the caller may ``need`` it (default: see it); None for an
        unknown, malformed or out-of-scope URN alike."""
        record = await self._load(urn)
        return record if record and await self._reaches(record, need) else None

    async def find(self, urn: str, need: Permission | None = None) -> NodeRecord | None:
        """``node`` for a URN the caller asked for: refusing an existing node is audited as a
        denial, though the caller sees it missing (no existence oracle)."""
        record = await self._load(urn)
        if record and not await self._reaches(record, need):
            perm = need or READ[Urn.parse(urn).kind]
            self.guard.audit.note(str(perm), urn, "denied", "out of scope")
            return None
        return record

    async def _reaches(self, record: NodeRecord, need: Permission | None) -> bool:
        """In the caller's scope, or (to read) exposed by a data product one of the caller's
        teams holds a live access grant on (mesh/access.py): a grant widens the scope at once,
        without a new token."""
        if self.guard.reaches(record, need):
            return True
        if need is not None or ASSET not in record.labels:
            return False
        grants = await self._grants()
        uses = set().union(*(grants.get(u, set()) for u in ancestors(record.urn)))
        if new := uses - self._used:  # a product's asset read through a grant (mesh/usage.py)
            await usage.count(self._redis, new)
            self._used |= new
        return bool(uses)

    async def _grants(self) -> dict[str, set[tuple[str, str]]]:
        """URN -> (version, team) of the caller's teams' live grants that reach it, read once
        per request; none for a caller the token does not restrict."""
        if self._granted is None:
            principal, unrestricted = self.guard.principal, self.guard.unrestricted
            self._granted = (
                {} if principal is None or unrestricted
                else await access.granted(self._driver, self._database, principal.subject)
            )  # fmt: skip
        return self._granted

    async def granted(self) -> frozenset[str] | None:
        """What the caller's teams' live grants expose, for filtered pages and search to widen
        the token's scope with; None when there is nothing to widen."""
        return frozenset(await self._grants()) or None

    def _loader(self, urn: str) -> DataLoader[str, NodeRecord | None] | None:
        try:
            kind = KINDS[Urn.parse(urn).kind]
        except InvalidUrn:
            return None
        label = kind.key_label
        return self._nodes[label] if kind.graphql and label in self._nodes.keys_allowed else None

    async def _load(self, urn: str) -> NodeRecord | None:
        loader = self._loader(urn)
        return await loader.load(urn) if loader else None

    def prime(self, record: NodeRecord) -> None:
        """Hand ``node`` and ``find`` a node another read returned as their lookup would (its
        labels, properties and domains), so they read nothing more for it."""
        if loader := self._loader(record.urn):
            loader.prime(record.urn, record)

    async def related(self, relation: Relation, urn: str) -> list[Related]:
        """The nodes ``relation`` leads to from ``urn`` that the caller may see."""
        found = await self._related[relation].load(urn)
        self._hand(len(found))
        if relation in UNSCOPED:
            return found
        return [r for r in found if await self._reaches(r.node, None)]

    def _hand(self, count: int) -> None:
        """Count what is handed out; past the budget, every further relation refuses, so the
        execution stops where it stands (``OperationSecurity`` answers one error for all)."""
        self.handed += count
        if self.too_large is None and self.handed > MAX_RELATED:
            self.too_large = coded(
                "REQUEST_TOO_LARGE",
                f"the response would hold more than {MAX_RELATED:,} related objects: ask for "
                "smaller pages (first) or fewer nested lists",
                maxRelated=MAX_RELATED,
            )
        if self.too_large is not None:
            raise self.too_large

    async def prime_detail(self, urn: str) -> None:
        """Read an asset with its columns and their labels in one query (or one cache read)
        and prime the loaders with what their own reads would return, so ``find`` and
        ``related`` for it and its columns read nothing more. Without the cache, what the
        columns inherit is read in the same query; a cached detail lives under its table's
        token, which an upstream change does not replace, so there it is read live."""
        live = not self.cache.ttl_s

        async def load(keys: Sequence[str]) -> dict[str, AssetDetail]:
            return await projections.asset_details(self._driver, self._database, keys, live)

        found = (await self.cache.per_asset("detail", [urn], load, AssetDetail)).get(urn)
        if found is None:
            return
        self._nodes[ASSET].prime(urn, found.node)
        self._related[Relation.COLUMNS].prime(urn, [c.column for c in found.columns])
        self._related[Relation.LABELS].prime_many(
            {c.column.node.urn: c.labels for c in found.columns}
        )
        if live and (inherited := found.inherited) is not None:
            self._related[Relation.COLUMN_INHERITED_LABELS].prime(urn, inherited)

    def forget(self, *urns: str) -> None:
        """Drop what this request loaded about ``urns`` (after it changed them)."""
        self.versions.clear_all()  # keyed by page: a changed product's may be any of them
        for loader in (*self._nodes.values(), *self._related.values(), self.contracts):
            for urn in urns:
                with contextlib.suppress(KeyError):  # clear() raises for a key never loaded
                    loader.clear(urn)

    async def _load_nodes(self, label: str, urns: list[str]) -> list[NodeRecord | None]:
        async def load(keys: Sequence[str]) -> dict[str, NodeRecord]:
            return await catalog.nodes_by_urn(self._driver, self._database, label, keys)

        found = await (self.cache.assets(urns, load) if label == ASSET else load(urns))
        return [found.get(u) for u in urns]

    async def _load_related(self, relation: Relation, urns: list[str]) -> list[list[Related]]:
        async def load(keys: Sequence[str]) -> dict[str, list[Related]]:
            found = await catalog.related(self._driver, self._database, relation, keys)
            return {k: found.get(k, []) for k in keys}

        cached = relation in CACHED
        found = await (self.cache.related(relation, urns, load) if cached else load(urns))
        return [found[u] for u in urns]
