"""Compiled reads answer exactly what field-by-field resolution answers.

Two APIs serve the same graph, one reading root fields whole (``compiled_reads``, the default)
and one resolving field by field; both with the Redis cache off, so every answer comes from
Neo4j, and a third with the cache on, whose second answer comes from Redis. Each document runs
as an admin (pii:read), a steward (no pii:read: values of sensitive columns masked) and a
viewer scoped to one domain (a column another domain's product exposes is hidden), and the
responses, and what the audit trail records of them, must be equal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import post_graphql, reads_of, serve

DETAIL = """
query ($urn: ID!) {
  asset(urn: $urn) {
    __typename id name source description tags removedAt
    ... on Table {
      kind rowCount fingerprint primaryKey
      columns { ...col }
      all: columns(includeRemoved: true) { id removedAt }
    }
  }
}
fragment col on Column {
  __typename id name dataType nullable ordinal isPrimaryKey
  labels { status confidence method at column label { __typename name category sensitivity } }
  own: labels(inherited: false) { status label { name } }
}
"""
# Values of sensitive columns: read field by field (masking, audited) in either API.
MASKED = """
query ($urn: ID!) {
  asset(urn: $urn) { ... on Table { columns { name min max labels { evidence { examples } } } } }
}
"""
PAGE = """
query ($source: String!, $label: String, $after: String) {
  assets(first: 2, after: $after, filter: {source: $source, kind: COLUMN, label: $label}) {
    edges { cursor node { __typename id name ... on Column { dataType ordinal } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
LINEAGE = """
query ($urn: ID!) {
  lineage(urn: $urn, direction: UPSTREAM, depth: 5) {
    nodes { __typename id name } edges { from to unresolved } truncated
  }
}
"""
PROFILE = "UNWIND $rows AS row MATCH (c:Column {urn: row.urn}) SET c.min = row.v, c.max = row.v"
DROPPED = (
    "MATCH (c:Column {urn: $urn}) SET c.removedAt = datetime('2026-11-30T12:00:00.123456789Z')"
)
# What graph/inheritance.py writes for a column whose values come from a labelled one.
INHERITS = """
MATCH (c:Column {urn: $column}), (up:Column {urn: $upstream})-[:LABELED]->(l:Label)
CREATE (c)-[:INHERITS {status: 'inherited', source: up.urn, sourceStatus: 'confirmed',
                       path: [up.urn, c.urn], via: [''], hops: 1,
                       at: datetime('2026-12-01T10:00:00Z')}]->(l)
"""
EVENTS = """
MATCH (e:AuditEvent {actor: $actor})
RETURN e.action AS action, e.resource AS resource, e.outcome AS outcome
ORDER BY action, resource, outcome
"""


@dataclass(frozen=True)
class Shop:
    estate: Estate
    sales: str  # the domain that exposes orders and customers

    def urn(self, table: str) -> str:
        return self.estate.table_urn(table)


@pytest.fixture
async def shop(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Shop:
    orders = estate.table(
        "orders", ("id", "email", "total", "legacy"), row_count=7, description="Orders"
    )
    customers = estate.table("customers", ("id", "name", "ssn", "email"))
    estate.table("gone", ("id",), removed=True)
    for table in ("orders", "customers"):
        estate.label(estate.column_urn(table, "email"), "Email", evidence=[{"detector": "x"}])
    estate.label(estate.column_urn("customers", "ssn"), "SSN", status="suggested")
    estate.label(estate.column_urn("customers", "name"), "Name", status="rejected")
    estate.feeds(orders, customers)
    sales = estate.product("sales", orders, customers)
    estate.product("finance", estate.column_urn("customers", "ssn"))
    database = settings.neo4j.database
    await estate.write(neo4j, database)
    columns = [estate.column_urn(t, c) for t, c in (("orders", "email"), ("customers", "ssn"))]
    await write(
        neo4j, database, PROFILE, rows=[{"urn": u, "v": "alice@example.com"} for u in columns]
    )
    await write(neo4j, database, DROPPED, urn=estate.column_urn("orders", "legacy"))
    await write(
        neo4j,
        database,
        INHERITS,
        column=estate.column_urn("customers", "id"),
        upstream=estate.column_urn("orders", "email"),
    )
    return Shop(estate, sales)


@dataclass
class Side:
    """One API and the audit actors its callers are named after."""

    url: str
    served: Any
    prefix: str

    async def graphql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        return await post_graphql(self.url, token, query, **variables)


@pytest.fixture
async def sides(
    settings: Settings, unique: str, neo4j: AsyncDriver
) -> AsyncIterator[dict[str, Side]]:
    cold = settings.model_copy(update={"cache_ttl_s": 0})
    setups = {
        "compiled": cold,
        "resolvers": cold.model_copy(update={"compiled_reads": False}),
        "cached": settings,
    }
    out: dict[str, Side] = {}
    try:
        for name, config in setups.items():
            server = serve(config)
            served = await server.__aenter__()
            out[name] = Side(served.url, (server, served), f"{unique}-{name}")
        yield out
    finally:
        for side in out.values():
            server, served = side.served
            await served.app.state.datawave.audit.drain()
            await server.__aexit__(None, None, None)
        query = "MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name DELETE e"
        await write(neo4j, settings.neo4j.database, query, name=unique)


def tokens(settings: Settings, side: Side, shop: Shop) -> dict[str, str]:
    auth = settings.auth
    return {
        "admin": mint_token(auth, f"{side.prefix}-admin", ["admin"]),
        "steward": mint_token(auth, f"{side.prefix}-steward", ["steward"]),
        "sales": mint_token(auth, f"{side.prefix}-sales", ["viewer"], domains=[shop.sales]),
    }


async def answers(
    side: Side, settings: Settings, shop: Shop, documents: list[tuple[str, dict[str, Any]]]
) -> dict[tuple[str, int], dict[str, Any]]:
    out = {}
    for who, token in tokens(settings, side, shop).items():
        for i, (query, variables) in enumerate(documents):
            out[(who, i)] = await side.graphql(token, query, **variables)
    return out


async def audited(side: Side, neo4j: AsyncDriver, settings: Settings) -> dict[str, list]:
    await side.served[1].app.state.datawave.audit.drain()
    out = {}
    for who in ("admin", "steward", "sales"):
        rows = await read(neo4j, settings.neo4j.database, EVENTS, actor=f"{side.prefix}-{who}")
        out[who] = [tuple(r.values()) for r in rows]
    return out


async def test_compiled_reads_answer_as_resolvers_do(
    sides: dict[str, Side], shop: Shop, neo4j: AsyncDriver, settings: Settings
) -> None:
    source = shop.estate.name
    first = await sides["resolvers"].graphql(
        tokens(settings, sides["resolvers"], shop)["admin"], PAGE, source=source
    )
    after = first["data"]["assets"]["pageInfo"]["endCursor"]
    documents = [
        (DETAIL, {"urn": shop.urn("customers")}),
        (DETAIL, {"urn": shop.urn("orders")}),
        (DETAIL, {"urn": shop.estate.column_urn("orders", "email")}),  # a column: no columns
        (DETAIL, {"urn": shop.urn("no-such-table")}),
        (DETAIL, {"urn": shop.urn("gone")}),  # removed, in no domain: hidden from sales
        (MASKED, {"urn": shop.urn("orders")}),
        (PAGE, {"source": source}),
        (PAGE, {"source": source, "after": after}),
        (PAGE, {"source": source, "label": f"{source}.Email"}),
        (LINEAGE, {"urn": shop.urn("customers")}),
    ]
    expected = await answers(sides["resolvers"], settings, shop, documents)
    for name in ("compiled", "cached", "cached"):  # cached: a miss, then hits
        assert await answers(sides[name], settings, shop, documents) == expected, name

    # What the documents show, so equal answers are not equally empty ones.
    def data(who: str, i: int) -> Any:
        return next(iter(expected[(who, i)]["data"].values()))

    customers = data("sales", 0)
    assert [c["name"] for c in customers["columns"]] == ["id", "name", "email"], "ssn: finance's"
    assert [a["status"] for a in customers["columns"][0]["labels"]] == ["INHERITED"]
    assert customers["columns"][0]["own"] == [], "what it inherits, not what it holds"
    assert customers["all"][0] == {
        "id": shop.estate.column_urn("customers", "id"),
        "removedAt": None,
    }
    orders = data("admin", 1)
    assert [c["name"] for c in orders["columns"]] == ["id", "email", "total"], "legacy: removed"
    assert orders["all"][3]["removedAt"] == "2026-11-30T12:00:00.123456+00:00"
    email = orders["columns"][1]
    assert email["labels"][0]["label"]["name"] == f"{source}.Email"
    assert [c["min"] for c in data("admin", 5)["columns"]][1] == "alice@example.com"
    assert [c["min"] for c in data("steward", 5)["columns"]][1] not in (None, "alice@example.com")
    assert data("sales", 3) is None
    assert data("sales", 4) is None and data("steward", 4)["removedAt"] is not None
    assert len(data("admin", 6)["edges"]) == 2 and data("admin", 6)["pageInfo"]["hasNextPage"]
    assert {e["node"]["name"] for e in data("admin", 8)["edges"]} == {"email"}
    assert len(data("admin", 9)["nodes"]) == 2

    # The audit trail records the same sensitive reads and denials either way.
    trail = await audited(sides["resolvers"], neo4j, settings)
    assert trail["admin"], "unmasked reads are audited"
    assert ("asset:read", shop.urn("gone"), "denied") in trail["sales"]
    assert await audited(sides["compiled"], neo4j, settings) == trail


async def test_a_table_with_its_columns_and_all_their_labels_is_one_query(
    sides: dict[str, Side], shop: Shop, settings: Settings
) -> None:
    """Without the cache, what the columns inherit along lineage is read in the same query
    (one more reads the nodes on an inheritance path, which the caller must be able to see).
    With it, a caller whose responses are not kept whole (scoped: resolvers/responses.py) reads
    the inherited labels live, one query beside the cached detail: an upstream change alters
    them without replacing this table's token."""
    costs = {}
    for table in ("orders", "customers"):
        for name, who in (("compiled", "steward"), ("resolvers", "steward"), ("cached", "sales")):
            side = sides[name]
            token = tokens(settings, side, shop)[who]
            costs[(table, name)], body = await reads_of(
                lambda side=side, token=token, table=table: side.graphql(
                    token, DETAIL, urn=shop.urn(table)
                )
            )
            assert body["data"]["asset"]["columns"]
    assert costs == {
        ("orders", "compiled"): 1, ("orders", "resolvers"): 4, ("orders", "cached"): 1,
        ("customers", "compiled"): 2, ("customers", "resolvers"): 5, ("customers", "cached"): 2,
    }  # fmt: skip
