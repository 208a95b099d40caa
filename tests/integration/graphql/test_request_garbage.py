"""What a request builds goes when the request does, not when the cyclic collector next runs.

A reference cycle through a request's context (the executor's helpers, the DataLoaders' load
functions) kept the context, its loaders and every record they read alive until a collection:
about 420 objects per cold asset detail, a collection every hundred requests, 0.2 ms of a
detail's 2 ms of CPU (docs/benchmarks.md, "Nothing a request reads waits for the collector").
Every kind of read runs here with the collector saving what it finds, which must hold none of
them.
"""

from __future__ import annotations

import gc

from neo4j import AsyncDriver
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from core.settings import Settings
from graph.driver import write
from graph.records import NodeRecord, Related
from resolvers.context import Context
from resolvers.executor import DataWaveExecutor
from resolvers.guard import Guard
from resolvers.loaders import Loaders
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import post_graphql, serve

AUDITED = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
REQUEST_SCOPED = (
    Context, Loaders, Guard, DataLoader, DataWaveExecutor, NodeRecord, Related, Request
)  # fmt: skip
DETAIL = """query ($urn: ID!) { asset(urn: $urn) { id name ... on Table {
  columns { id name labels { status label { name } } } } } }"""
# Field by field: a column's sensitive values are read and masked by their own resolvers.
MASKED = """query ($urn: ID!) { asset(urn: $urn) { ... on Table {
  columns { name min max owners { name } } } } }"""
PAGE = """query ($source: String!) { assets(first: 5, filter: {source: $source, kind: COLUMN}) {
  edges { node { id name } } pageInfo { hasNextPage endCursor } } }"""
LINEAGE = """query ($urn: ID!) { lineage(urn: $urn, direction: UPSTREAM, depth: 3) {
  nodes { id name } edges { from to } } }"""


async def test_a_request_leaves_nothing_for_the_cyclic_collector(
    estate: Estate, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    orders = estate.table("orders", ("id", "email"))
    customers = estate.table("customers", ("id", "email"))
    estate.label(estate.column_urn("orders", "email"), "Email")
    estate.feeds(orders, customers)
    await estate.write(neo4j, settings.neo4j.database)
    token = mint_token(settings.auth, f"{unique}-admin", ["admin"])
    reads = [
        (DETAIL, {"urn": customers}),
        (DETAIL, {"urn": orders}),
        (MASKED, {"urn": orders}),
        (PAGE, {"source": estate.name}),
        (LINEAGE, {"urn": customers}),
    ]
    async with serve(settings.model_copy(update={"cache_ttl_s": 0})) as served:
        for query, variables in reads:  # the first of each compiles what later ones reuse
            answer = await post_graphql(served.url, token, query, **variables)
            assert "errors" not in answer, answer
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for query, variables in reads:
                await post_graphql(served.url, token, query, **variables)
            await served.app.state.datawave.audit.drain()
            gc.collect()
            left = sorted({type(o).__name__ for o in gc.garbage if isinstance(o, REQUEST_SCOPED)})
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            await write(neo4j, settings.neo4j.database, AUDITED, actor=f"{unique}-admin")
    assert left == []
