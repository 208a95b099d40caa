"""Grants through filtered pages and search, and their end, through GraphQL against the real
Neo4j, OpenSearch, Kafka and Redis: a consumer scoped to another domain does not see a
product's table in ``assets`` pages or ``search``; once a second owner approves their team's
request the table (and its columns) are in both at once, with the token they had, and counted;
revocation takes them out again. A grant about to end is announced (``access.expiring`` on
datawave.mesh.v1 and productEvents) by the sweep of an API replica, and once it ends it reaches
nothing at read time and the sweep announces ``access.expired``."""

from __future__ import annotations

import asyncio
from typing import Any, LiteralString, cast

from gql import GraphQLRequest

from graph.driver import read, write
from tests.integration.app.test_analyst_queries import QUERIES
from tests.integration.graphql.conftest import serve, ws_client
from tests.integration.mesh.flow import (
    DECIDE,
    REQUEST,
    SEARCH_ASSETS,
    Caller,
    following,
    mesh_steps,
    published,
)
from tests.unit.mesh.odcs import contract

ASSETS = """
query($source: String, $kind: AssetKind) { assets(filter: {source: $source, kind: $kind}) {
  totalCount edges { node { id } } } }
"""
REVOKE = """
mutation($request: ID!) { revokeAccess(request: $request, reason: "project over") {
  request { status } } }
"""
EVENTS = """
subscription($product: ID!) { productEvents(product: $product) { action version } }
"""
ENDS_SOON = """
MATCH (r:AccessRequest {urn: $id}) MATCH (:Team)-[g:GRANTED {request: r.id}]->()
SET r.expiresAt = datetime() + duration({seconds: $s}), g.expiresAt = r.expiresAt
"""
STATUS = "MATCH (r:AccessRequest {urn: $id}) RETURN r.status AS status"


async def visible(carl: Caller, m: dict[str, Any]) -> dict[str, Any]:
    """What the consumer finds of the test's source: tables and columns by page, and search."""
    tables = (await carl(ASSETS, source=m["name"], kind="TABLE"))["assets"]
    columns = (await carl(ASSETS, source=m["name"], kind="COLUMN"))["assets"]
    hits = (await carl(SEARCH_ASSETS, text="orders", source=m["name"]))["search"]["edges"]
    return {
        "tables": [e["node"]["id"] for e in tables["edges"]],
        "count": tables["totalCount"],
        "columns": columns["totalCount"],
        "search": [e["node"]["asset"]["id"] for e in hits],
    }


async def test_a_grant_shows_in_pages_and_search_until_it_ends(mesh: dict[str, Any]) -> None:
    m = mesh
    carl, pat = m["consumer"], m["second"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    nothing = {"tables": [], "count": 0, "columns": 0, "search": []}
    granted = {"tables": [m["table"]], "count": 1, "columns": 3, "search": [m["table"]]}
    assert await visible(carl, m) == nothing

    async def grant() -> dict[str, Any]:
        ask = {"version": urns["version"], "team": urns["analysts"],
               "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
        request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
        approved = (await pat(DECIDE, request=request["id"], approve=True))["decideAccess"]
        assert approved["request"]["status"] == "APPROVED"
        return request

    first = await grant()
    assert await visible(carl, m) == granted  # at once, with the same token
    await pat(REVOKE, request=first["id"])
    assert await visible(carl, m) == nothing

    # A grant ending in 12 s (time for a replica to start on a busy machine): one sweeping every
    # half second tells the consumer before and after; the end itself needs no sweep. The
    # consumer listens before the end is brought near: the session's replica sweeps too (every
    # minute), and an announcement it claimed before anyone listened would never come again.
    second = await grant()
    assert await visible(carl, m) == granted
    db = m["settings"].neo4j.database
    settings = m["settings"]
    sweeping = settings.model_copy(update={
        "mesh": settings.mesh.model_copy(update={"grant_sweep_s": 0.5}),
        "relay_changes": False, "watch_compliance": False, "watch_contracts": False,
    })  # fmt: skip
    async with ws_client(m["api"], carl.token) as session:
        stream = session.subscribe(
            GraphQLRequest(EVENTS, variable_values={"product": urns["product"]})
        )
        expiring = asyncio.create_task(anext(stream))  # gql subscribes at the first read
        await following(m, urns["product"])
        await write(m["neo4j"], db, ENDS_SOON, id=second["id"], s=12)
        async with serve(sweeping):
            soon = (await asyncio.wait_for(expiring, 10))["productEvents"]
            assert soon == {"action": "access.expiring", "version": urns["version"]}
            over = (await asyncio.wait_for(anext(stream), 30))["productEvents"]
            assert over == {"action": "access.expired", "version": urns["version"]}
    assert await visible(carl, m) == nothing
    assert (await read(m["neo4j"], db, STATUS, id=second["id"]))[0]["status"] == "expired"
    steps = await mesh_steps(settings, second["correlationId"], 4)
    assert [s["data"]["action"] for s in steps] == [
        "access.requested", "access.approved", "access.expiring", "access.expired",
    ]  # fmt: skip


async def test_an_expired_grant_reaches_nothing_without_a_sweep(mesh: dict[str, Any]) -> None:
    m = mesh
    carl, pat = m["consumer"], m["second"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    ask = {"version": urns["version"], "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
    await pat(DECIDE, request=request["id"], approve=True)
    assert (await visible(carl, m))["tables"] == [m["table"]]
    db = m["settings"].neo4j.database
    await write(m["neo4j"], db, ENDS_SOON, id=request["id"], s=-1)

    # Gone at the next read: the reads compare the end with now, whether a sweep ran or not.
    assert await visible(carl, m) == {"tables": [], "count": 0, "columns": 0, "search": []}


GATE = """
mutation($version: ID!) { evaluateQualityGate(version: $version) {
  version { health quarantined } errors { __typename message } } }
"""
ROWS = "MATCH (t:Table {urn: $table}) SET t.rowCount = $rows"
TABLE = "query($id: ID!) { node(id: $id) { id } }"
USAGE = """
query($id: ID!) { node(id: $id) { ... on ProductVersion { usage { edges { node { reads } } } } } }
"""
GRANTS = """
query($product: ID!, $version: ID!) {
  productConsumers(product: $product) { edges { node { grant } } }
  node(id: $version) { ... on ProductVersion { consumers { edges { node { grant } } } } } }
"""


async def test_a_quarantine_suspends_grants_until_a_passing_gate(mesh: dict[str, Any]) -> None:
    """A version its gate quarantines reaches nothing through its grants (lookups, pages,
    search, none counted as use) while its owners read on; the grant is not ended and shows as
    SUSPENDED, and the gate that releases the version resumes it."""
    m = mesh
    carl, olga, pat = m["consumer"], m["owner"], m["second"]
    db, redis = m["settings"].neo4j.database, m["served"].app.state.datawave.redis
    gated = contract(
        {"id": {"logicalType": "string"}}, quality=[{"metric": "rowCount", "mustBeGreaterThan": 5}]
    )
    urns = await published(m, gated)  # the table has 10 rows: the gate passes
    ask = {"version": urns["version"], "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
    await pat(DECIDE, request=request["id"], approve=True)
    nothing = {"tables": [], "count": 0, "columns": 0, "search": []}
    granted = {"tables": [m["table"]], "count": 1, "columns": 3, "search": [m["table"]]}

    async def reads() -> int:
        found = (await olga(USAGE, id=urns["version"]))["node"]["usage"]["edges"]
        return sum(u["node"]["reads"] for u in found)

    async def grants() -> tuple[list[str], list[str]]:
        found = await olga(GRANTS, product=urns["product"], version=urns["version"])
        return (
            [e["node"]["grant"] for e in found["productConsumers"]["edges"]],
            [e["node"]["grant"] for e in found["node"]["consumers"]["edges"]],
        )

    async def analysts() -> list[tuple[str, list[str], bool]]:
        """What an analyst in Neo4j Browser reads of the product's consumers (docs/analysts.md)."""
        query, _ = QUERIES["Which consumers use a version of a product"]
        rows = await read(m["neo4j"], db, cast(LiteralString, query), product=urns["product"])
        return [(r["version"], r["consumers"], r["suspended"]) for r in rows]

    async def gate(rows: int) -> dict[str, Any]:
        await write(m["neo4j"], db, ROWS, table=m["table"], rows=rows)
        return (await olga(GATE, version=urns["version"]))["evaluateQualityGate"]["version"]

    try:
        assert (await gate(10))["health"] == "HEALTHY"
        assert await visible(carl, m) == granted  # the pages and search are cached with it
        assert (await carl(TABLE, id=m["table"]))["node"] == {"id": m["table"]}
        assert await reads() == 2  # the search hit and the lookup

        # Quarantined: nothing through the grant, nothing counted; the owner reads on.
        assert (await gate(1))["quarantined"]
        assert await visible(carl, m) == nothing
        assert (await carl(TABLE, id=m["table"]))["node"] is None
        assert (await olga(TABLE, id=m["table"]))["node"] == {"id": m["table"]}
        assert await reads() == 2
        assert await grants() == (["SUSPENDED"], ["SUSPENDED"])
        assert await analysts() == [("1.0.0", [f"{m['name']}-analysts"], True)]
        status = await read(m["neo4j"], db, STATUS, id=request["id"])
        assert status[0]["status"] == "approved"  # suspended, not ended

        # The passing gate resumes it, with the same token.
        assert not (await gate(10))["quarantined"]
        assert await visible(carl, m) == granted
        assert (await grants(), await reads()) == ((["ACTIVE"], ["ACTIVE"]), 3)
        assert await analysts() == [("1.0.0", [f"{m['name']}-analysts"], False)]
    finally:
        await redis.delete(f"mesh:usage:{urns['version']}")
