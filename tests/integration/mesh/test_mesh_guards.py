"""Guards of what domains share, through GraphQL: a team belongs to one domain (the owner of
another cannot take it over, and its members and grants with it), and access is granted only to
a published version its quality gate does not hold in quarantine, whatever happened between
the request and the decision."""

from __future__ import annotations

from typing import Any

import httpx

from security.auth import mint_token
from tests.integration.mesh.flow import ADVANCE, DECIDE, REQUEST, TEAM, Caller, nodes, published
from tests.unit.mesh.odcs import contract

TEAMS = """
query($id: ID!) { node(id: $id) { ... on Domain { teams { edges { node { id members } } } } } }
"""
IMPORT = """
mutation($product: ID!, $version: String!, $odcs: String!) {
  importContract(product: $product, version: $version, odcs: $odcs) { version { id } } }
"""
GATE = """
mutation($version: ID!) { evaluateQualityGate(version: $version) { version { quarantined } } }
"""
ASK = {"purpose": "churn model for the retention team", "days": 30}


async def teams(m: dict[str, Any], domain: str) -> dict[str, list[str]]:
    found = (await m["admin"](TEAMS, id=domain))["node"]["teams"]
    return {t["id"]: t["members"] for t in nodes(found)}


async def test_a_team_leaves_its_domain_only_for_who_may_edit_both(mesh: dict[str, Any]) -> None:
    m = mesh
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    name, orders = m["name"], f"urn:dw:team:{m['name']}-orders"
    async with httpx.AsyncClient(base_url=m["api"], timeout=60) as http:
        token = mint_token(m["settings"].auth, f"{name}-mal", ["domain_owner"], domains=[m["mkt"]])
        mallory = Caller(http, token)
        taken = await mallory.raw(
            TEAM, input={"domain": urns["mkt"], "name": f"{name}-orders", "members": ["mal"]}
        )
    assert taken["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await teams(m, urns["sales"]) == {orders: []}  # it moved, members replaced, before

    ada = m["admin"]
    moved = (await ada(TEAM, input={"domain": urns["mkt"], "name": f"{name}-orders"}))["saveTeam"]
    assert moved["errors"][0]["__typename"] == "WrongStateError"  # it owns the product
    assert orders in await teams(m, urns["sales"])

    spare = {"domain": urns["sales"], "name": f"{name}-spare", "members": ["sam"]}
    await m["owner"](TEAM, input=spare)
    moved = (await ada(TEAM, input={**spare, "domain": urns["mkt"]}))["saveTeam"]
    assert (moved["errors"], moved["team"]["domain"]) == ([], m["mkt"])
    assert f"urn:dw:team:{name}-spare" not in await teams(m, urns["sales"])


async def test_access_goes_to_a_published_version_out_of_quarantine(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    carl, olga, pat = m["consumer"], m["owner"], m["second"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    ask = {**ASK, "version": urns["version"], "team": urns["analysts"]}

    async def request(**change: Any) -> dict[str, Any]:
        return (await carl(REQUEST, input={**ask, **change}))["requestAccess"]

    never = await request(days=0)  # was an internal error naming a Python variable
    assert never["errors"] == [
        {"__typename": "InvalidInputError", "message": "a grant lasts 1 to 365 days"}
    ]
    # Retired between the request and the decision: nothing is granted.
    pending = (await request())["request"]
    await olga(ADVANCE, version=urns["version"], step="DEPRECATE", notice="use nothing")
    assert (await olga(ADVANCE, version=urns["version"], step="RETIRE"))["advanceVersion"][
        "errors"
    ] == []
    decided = (await pat(DECIDE, request=pending["id"], approve=True))["decideAccess"]
    assert decided["errors"][0]["message"] == "version 1.0.0 is retired, not published"

    # 2.0.0 holds a gate its data fails (10 rows): published, then quarantined.
    gated = contract(
        {"id": {"logicalType": "string"}}, version="2.0.0",
        quality=[{"metric": "rowCount", "mustBeGreaterThan": 100}],
    )  # fmt: skip
    v2 = await olga(IMPORT, product=urns["product"], version="2.0.0", odcs=gated)
    v2 = v2["importContract"]["version"]["id"]
    assert (await olga(ADVANCE, version=v2, step="PUBLISH"))["advanceVersion"]["errors"] == []
    pending = (await request(version=v2))["request"]
    assert (await olga(GATE, version=v2))["evaluateQualityGate"]["version"]["quarantined"]
    decided = (await pat(DECIDE, request=pending["id"], approve=True))["decideAccess"]
    assert decided["errors"][0]["__typename"] == "WrongStateError"
    assert decided["errors"][0]["message"].startswith("version 2.0.0 is quarantined: ")
    asked = await request(version=v2)
    assert asked["errors"][0]["message"].startswith("version 2.0.0 is quarantined: ")
    rejected = (await pat(DECIDE, request=pending["id"], approve=False))["decideAccess"]
    assert rejected["request"]["status"] == "REJECTED"  # saying no stays possible
