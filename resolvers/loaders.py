"""Per-request DataLoaders: every lookup by URN and every relationship is one query per batch.

Asset lookups go through the Redis read-through cache; relationships are read from Neo4j (they
are cheap batched queries and change with every scan).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import partial

from neo4j import AsyncDriver
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension

from app.cache import ReadThroughCache
from app.state import AppState
from graph import catalog
from graph.catalog import NodeKind, Relation
from graph.records import NodeRecord, Related
from ingest.urns import InvalidUrn, Urn

# URN kind -> where nodes of that kind live
URN_KINDS: dict[str, NodeKind] = {
    "source": NodeKind.SOURCE,
    "database": NodeKind.ASSET,
    "schema": NodeKind.ASSET,
    "table": NodeKind.ASSET,
    "column": NodeKind.ASSET,
    "version": NodeKind.VERSION,
    "job": NodeKind.JOB,
}


class Loaders:
    """Built per request in ``get_context``, so nothing cached outlives the request."""

    def __init__(self, state: AppState) -> None:
        self._driver: AsyncDriver = state.neo4j
        self._database = state.settings.neo4j.database
        self.cache = ReadThroughCache(state.redis, state.settings.cache_ttl_s)
        self.nodes: dict[NodeKind, DataLoader[str, NodeRecord | None]] = {
            kind: DataLoader(partial(self._load_nodes, kind)) for kind in NodeKind
        }
        self.related: dict[Relation, DataLoader[str, list[Related]]] = {
            rel: DataLoader(partial(self._load_related, rel)) for rel in Relation
        }

    async def node(self, urn: str) -> NodeRecord | None:
        """Any node by its URN; None for an unknown or malformed URN."""
        try:
            kind = URN_KINDS.get(Urn.parse(urn).kind)
        except InvalidUrn:
            return None
        return await self.nodes[kind].load(urn) if kind else None

    async def asset(self, urn: str) -> NodeRecord | None:
        return await self.nodes[NodeKind.ASSET].load(urn)

    def forget(self, *urns: str) -> None:
        """Drop what this request loaded about ``urns`` (after it changed them)."""
        for loader in (*self.nodes.values(), *self.related.values()):
            for urn in urns:
                with contextlib.suppress(KeyError):  # clear() raises for a key never loaded
                    loader.clear(urn)

    async def _load_nodes(self, kind: NodeKind, urns: list[str]) -> list[NodeRecord | None]:
        async def load(keys: Sequence[str]) -> dict[str, NodeRecord]:
            return await catalog.nodes_by_urn(self._driver, self._database, kind, keys)

        found = await (self.cache.assets(urns, load) if kind is NodeKind.ASSET else load(urns))
        return [found.get(u) for u in urns]

    async def _load_related(self, relation: Relation, urns: list[str]) -> list[list[Related]]:
        found = await catalog.related(self._driver, self._database, relation, urns)
        return [found.get(u, []) for u in urns]


class LoadersPerOperation(SchemaExtension):
    """Fresh loaders for each operation of a WebSocket connection.

    Strawberry builds a WebSocket's context once, for the life of the connection; without
    this, queries sent over it would keep reading what the first one loaded.
    """

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context.request, WebSocket):
            context.loaders = Loaders(context.state)
        yield
