"""Access requests as nodes: each is named by its URN, refetchable through ``node(id:)`` by its
parties only (its requester, the members of its team, the product's approvers), listed by the
``accessRequests`` queue and ``ProductVersion.accessRequests`` (Relay connections, oldest first,
visibility applied in the query), and named by URN in every mutation; migration 0018 gives a
request made before URNs its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from graph.driver import read, write
from graph.migrations import load_migrations, run_statements
from security.auth import mint_token
from tests.factories import eventually
from tests.integration.mesh.flow import (
    ADVANCE,
    DECIDE,
    IMPORT,
    PRODUCT,
    REQUEST,
    TEAM,
    Caller,
    published,
)
from tests.unit.mesh.odcs import contract

QUEUE = """
query($filter: AccessRequestFilter, $first: Int, $after: String) {
  accessRequests(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status team } } } }
"""
NODE = """
query($id: ID!) { node(id: $id) { __typename ... on AccessRequest { id status purpose team } } }
"""
OF_VERSION = """
query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on ProductVersion {
  accessRequests(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } } }
"""
ERRORS = "errors { __typename message ... on NotFoundError { urn } }"
DECIDE_URN = (
    "mutation($request: ID!) { decideAccess(request: $request, approve: true) {"
    " request { id status } " + ERRORS + " } }"
)
TERMS = (
    "mutation($request: ID!) { acceptContractTerms(request: $request) {"
    " request { id termsAcceptedBy } " + ERRORS + " } }"
)
REVOKE = (
    'mutation($request: ID!) { revokeAccess(request: $request, reason: "project over") {'
    " request { id status } " + ERRORS + " } }"
)
AUDITED = """
MATCH (e:AuditEvent {actor: $actor, resource: $urn}) RETURN e.outcome AS outcome
"""
# A request as it was written before requests had URNs (graph/access.py before migration 0018).
OLD_REQUEST = """
MATCH (c:Contract {urn: $version}), (t:Team {urn: $team})
CREATE (r:AccessRequest {id: $id})
SET r.name = 'access ' + $id, r.status = 'pending', r.purpose = 'from before URNs',
    r.days = 30, r.requestedBy = $actor, r.requestedAt = datetime(), r.version = $version,
    r.product = c.product, r.team = $team, r.correlationId = $id
CREATE (r)-[:FOR]->(c)
CREATE (r)-[:BY]->(t)
"""
URN_OF = "MATCH (r:AccessRequest {id: $id}) RETURN r.urn AS urn"
PURPOSE = "churn model for the retention team"


@pytest.fixture
async def world(mesh: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Product ``orders`` of sales and ``sessions`` of mkt, each with 1.0.0 published; teams
    analysts (carl) and growth (gina) of mkt; five pending requests: carl for analysts on
    orders twice and on sessions, gina for growth on orders and on sessions. Callers besides
    the mesh fixture's: mo (owner of mkt), gina, and vic (a viewer of every domain)."""
    m, name = mesh, mesh["name"]
    ada, carl = m["admin"], m["consumer"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    async with httpx.AsyncClient(base_url=m["api"], timeout=60) as http:

        def caller(who: str, role: str, domains: list[str] | None = None) -> Caller:
            token = mint_token(m["settings"].auth, f"{name}-{who}", [role], domains=domains)
            return Caller(http, token)

        mo, gina, vic = (
            caller("mo", "domain_owner", [m["mkt"]]),
            caller("gina", "steward", [m["mkt"]]),
            caller("vic", "viewer"),
        )
        growth = await ada(TEAM, input={"domain": urns["mkt"], "name": f"{name}-growth",
                                        "members": [f"{name}-gina"]})  # fmt: skip
        growth = growth["saveTeam"]["team"]["id"]
        spec = {"domain": urns["mkt"], "name": "sessions", "ownerTeam": urns["analysts"],
                "description": "Every web session, as seen"}  # fmt: skip
        sessions = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
        odcs = contract({"id": {"logicalType": "string"}}, table="sessions")
        taken = await ada(IMPORT, product=sessions, version="1.0.0", odcs=odcs)
        mkt_v1 = taken["importContract"]["version"]["id"]
        assert (await ada(ADVANCE, version=mkt_v1, step="PUBLISH"))["advanceVersion"][
            "errors"
        ] == []

        async def ask(who: Caller, version: str, team: str) -> str:
            asked = {"version": version, "team": team, "purpose": PURPOSE, "days": 30}
            done = (await who(REQUEST, input=asked))["requestAccess"]
            assert done["errors"] == [], done
            return done["request"]["id"]

        analysts = urns["analysts"]
        requests = {
            "carl-orders": await ask(carl, urns["version"], analysts),
            "gina-orders": await ask(gina, urns["version"], growth),
            "carl-sessions": await ask(carl, mkt_v1, analysts),
            "gina-sessions": await ask(gina, mkt_v1, growth),
            "carl-orders-2": await ask(carl, urns["version"], analysts),
        }
        yield {**m, **urns, "growth": growth, "sessions": sessions, "mkt_v1": mkt_v1,
               "requests": requests, "mo": mo, "gina": gina, "vic": vic}  # fmt: skip


async def listed(who: Caller, **filter: Any) -> set[str]:
    found = (await who(QUEUE, filter=filter or None, first=100))["accessRequests"]
    ids = {e["node"]["id"] for e in found["edges"]}
    assert found["totalCount"] == len(ids)
    return ids


async def test_each_party_sees_its_requests_and_nobody_else(world: dict[str, Any]) -> None:
    w, r = world, world["requests"]
    olga, mo, carl, gina, vic = w["owner"], w["mo"], w["consumer"], w["gina"], w["vic"]
    assert all(u.startswith(f"urn:dw:access:{w['name']}-sales/orders/") for u in
               (r["carl-orders"], r["gina-orders"], r["carl-orders-2"]))  # fmt: skip
    assert r["carl-sessions"].startswith(f"urn:dw:access:{w['name']}-mkt/sessions/")

    # The approvers' queues: each domain's pending requests, not the other's.
    orders = {r["carl-orders"], r["gina-orders"], r["carl-orders-2"]}
    sessions = {r["carl-sessions"], r["gina-sessions"]}
    assert await listed(olga, status="PENDING") == orders
    assert await listed(mo, status="PENDING") == sessions
    # A team member: the team's own requests, in every domain, and none of another team.
    assert await listed(carl) == {r["carl-orders"], r["carl-sessions"], r["carl-orders-2"]}
    assert await listed(gina) == {r["gina-orders"], r["gina-sessions"]}
    assert await listed(carl, team=w["growth"]) == set()
    # No relation (a viewer of every domain): nothing listed, every node null.
    assert await listed(vic) == set()
    for urn in r.values():
        assert (await vic(NODE, id=urn))["node"] is None
    assert (await mo(NODE, id=r["gina-orders"]))["node"] is None
    assert (await carl(NODE, id=r["gina-orders"]))["node"] is None
    node = (await carl(NODE, id=r["carl-orders"]))["node"]
    assert node == {"__typename": "AccessRequest", "id": r["carl-orders"], "status": "PENDING",
                    "purpose": PURPOSE, "team": w["analysts"]}  # fmt: skip
    assert (await olga(NODE, id=r["gina-orders"]))["node"]["id"] == r["gina-orders"]
    # The refusal is audited like any out-of-scope lookup.
    await w["served"].app.state.datawave.audit.drain()

    async def audited() -> bool:
        rows = await read(w["neo4j"], w["settings"].neo4j.database, AUDITED,
                          actor=f"{w['name']}-vic", urn=r["carl-orders"])  # fmt: skip
        return [row["outcome"] for row in rows] == ["denied"]

    await eventually(audited, timeout_s=10)

    # A version's requests: the same rule.
    async def of_version(who: Caller) -> set[str]:
        found = (await who(OF_VERSION, id=w["version"], first=100))["node"]["accessRequests"]
        return {e["node"]["id"] for e in found["edges"]}

    assert await of_version(olga) == orders
    assert await of_version(carl) == {r["carl-orders"], r["carl-orders-2"]}
    assert await of_version(gina) == {r["gina-orders"]}
    assert await of_version(vic) == set()


async def test_pages_filters_and_mutations_name_requests_by_urn(world: dict[str, Any]) -> None:
    w, r = world, world["requests"]
    ada, olga, mo, carl, gina = w["admin"], w["owner"], w["mo"], w["consumer"], w["gina"]
    orders = [r["carl-orders"], r["gina-orders"], r["carl-orders-2"]]  # oldest first

    # Two by two: every request of the product once, oldest first.
    seen, after, pages = [], None, 0
    while True:
        page = await ada(QUEUE, filter={"product": w["product"]}, first=2, after=after)
        page = page["accessRequests"]
        assert page["totalCount"] == 3
        seen += [e["node"]["id"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert (seen, pages) == (orders, 2)
    version_page = (await olga(OF_VERSION, id=w["version"], first=2))["node"]["accessRequests"]
    assert [e["node"]["id"] for e in version_page["edges"]] == orders[:2]
    rest = await olga(OF_VERSION, id=w["version"], first=2,
                      after=version_page["pageInfo"]["endCursor"])  # fmt: skip
    assert [e["node"]["id"] for e in rest["node"]["accessRequests"]["edges"]] == orders[2:]

    # Mutations take the URN; one the caller is no party to is not found, named.
    stranger = (await mo(DECIDE_URN, request=r["carl-orders"]))["decideAccess"]
    assert stranger["request"] is None
    assert stranger["errors"][0]["__typename"] == "NotFoundError"
    assert stranger["errors"][0]["urn"] == r["carl-orders"]
    unknown = r["carl-orders"].rsplit("/", 1)[0] + "/0123456789abcdef"
    missing = (await olga(DECIDE_URN, request=unknown))["decideAccess"]["errors"]
    assert [(e["__typename"], e["urn"]) for e in missing] == [("NotFoundError", unknown)]
    bare = r["carl-orders"].rsplit("/", 1)[1]  # the old id alone is no URN: the caller's mistake
    by_id = (await olga.raw(DECIDE_URN, request=bare))["errors"]
    assert [e["extensions"]["code"] for e in by_id] == ["BAD_USER_INPUT"]
    assert "must be an access request URN" in by_id[0]["message"]
    decided = (await olga(DECIDE_URN, request=r["carl-orders"]))["decideAccess"]
    assert decided == {"request": {"id": r["carl-orders"], "status": "APPROVED"}, "errors": []}
    outsider = (await gina(TERMS, request=r["carl-orders"]))["acceptContractTerms"]["errors"]
    assert [(e["__typename"], e["urn"]) for e in outsider] == [("NotFoundError", r["carl-orders"])]
    agreed = (await carl(TERMS, request=r["carl-orders"]))["acceptContractTerms"]
    assert agreed["request"]["termsAcceptedBy"] == f"{w['name']}-carl"
    assert (await olga(DECIDE, request=r["gina-orders"], approve=False))["decideAccess"]["request"][
        "status"
    ] == "REJECTED"

    # Filters narrow.
    assert await listed(ada, product=w["product"], status="APPROVED") == {r["carl-orders"]}
    assert await listed(ada, product=w["product"], status="PENDING") == {r["carl-orders-2"]}
    assert await listed(ada, version=w["mkt_v1"]) == {r["carl-sessions"], r["gina-sessions"]}
    assert await listed(ada, version=w["mkt_v1"], team=w["growth"]) == {r["gina-sessions"]}
    assert await listed(olga, domain=w["mkt"]) == set()
    assert await listed(carl, domain=w["mkt"]) == {r["carl-sessions"]}
    assert await listed(olga, domain=w["sales"], status="PENDING") == {r["carl-orders-2"]}
    wrong = await ada.raw(QUEUE, filter={"domain": w["product"]})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    revoked = (await olga(REVOKE, request=r["carl-orders"]))["revokeAccess"]
    assert revoked == {"request": {"id": r["carl-orders"], "status": "REVOKED"}, "errors": []}


async def test_migration_0018_names_a_request_made_before_urns(world: dict[str, Any]) -> None:
    w = world
    db = w["settings"].neo4j.database
    id = f"{w['name']}-old".replace("-", "")
    await write(w["neo4j"], db, OLD_REQUEST, id=id, version=w["version"], team=w["analysts"],
                actor=f"{w['name']}-carl")  # fmt: skip
    assert (await read(w["neo4j"], db, URN_OF, id=id))[0]["urn"] is None

    (migration,) = [m for m in load_migrations() if m.id == "0018_access_request_urns"]
    await run_statements(w["neo4j"], db, migration)

    urn = (await read(w["neo4j"], db, URN_OF, id=id))[0]["urn"]
    assert urn == f"urn:dw:access:{w['name']}-sales/orders/{id}"
    found = (await w["owner"](NODE, id=urn))["node"]
    assert (found["id"], found["purpose"]) == (urn, "from before URNs")
    assert (await w["vic"](NODE, id=urn))["node"] is None
    assert urn in await listed(w["owner"], status="PENDING")


CONSUMERS = """
query($product: ID!, $version: ID!) {
  productConsumers(product: $product) { totalCount edges { node { request team } } }
  node(id: $version) { ... on ProductVersion {
    consumers { totalCount edges { node { request team } } } } } }
"""


async def test_a_products_consumers_are_seen_like_their_requests(world: dict[str, Any]) -> None:
    """The product's side (its domain's writers and approvers, its owner team, admins) sees
    every consumer of a version; a consumer team's member its own team's; anyone else none
    (productConsumers revealed every consumer team and request to any reader)."""
    w, r = world, world["requests"]
    olga, carl, gina = w["owner"], w["consumer"], w["gina"]
    for request in (r["carl-orders"], r["gina-orders"]):
        assert (await olga(DECIDE_URN, request=request))["decideAccess"]["errors"] == []
    owners = f"{w['name']}-orders"  # the product's owner team, given a member of the sales side
    saved = await olga(TEAM, input={"domain": w["sales"], "name": owners,
                                    "members": [f"{w['name']}-sid"]})  # fmt: skip
    assert saved["saveTeam"]["team"]["members"] == [f"{w['name']}-sid"]
    sales = [f"{w['name']}-sales"]  # a steward there: no writer, no approver
    sid = Caller(
        carl.http, mint_token(w["settings"].auth, f"{w['name']}-sid", ["steward"], domains=sales)
    )
    analysts = (r["carl-orders"], w["analysts"])
    growth = (r["gina-orders"], w["growth"])

    async def seen(who: Caller) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        found = await who(CONSUMERS, product=w["product"], version=w["version"])
        pages = found["productConsumers"], found["node"]["consumers"]
        for page in pages:
            assert page["totalCount"] == len(page["edges"])
        by_product, of_version = ({(e["node"]["request"], e["node"]["team"])
                                   for e in page["edges"]} for page in pages)  # fmt: skip
        return by_product, of_version

    everyone = {analysts, growth}
    for provider in (olga, w["second"], w["admin"], sid):
        assert await seen(provider) == (everyone, everyone)
    assert await seen(carl) == ({analysts}, {analysts})
    assert await seen(gina) == ({growth}, {growth})
    for stranger in (w["vic"], w["mo"]):  # a viewer of every domain; another domain's owner
        assert await seen(stranger) == (set(), set())
