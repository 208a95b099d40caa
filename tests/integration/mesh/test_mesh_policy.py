"""Policy decisions on mesh steps, through GraphQL against the real OPA: with the shipped
``mesh_*`` rules in force for one domain, opening a product workspace without an owner team,
taking in a contract without an SLA, publishing a draft whose product exposes personal data
without a purpose, and an access request with a thin purpose or too many days are refused as
``PolicyViolationError`` naming the rule, audited as denied, and leave nothing written; the
same steps within the rules go through; with OPA unreachable they fail closed."""

from __future__ import annotations

from typing import Any

import httpx

from graph.driver import read
from tests.integration.governance.flow import ADD_RULE, CREATE, release
from tests.integration.graphql.conftest import serve
from tests.integration.mesh.flow import (
    ADVANCE,
    DOMAIN,
    IMPORT,
    PRODUCT,
    REQUEST,
    TEAM,
    VERSIONS,
    Caller,
    versions_of,
)
from tests.unit.mesh.odcs import contract

POLICY_ERRORS = "errors { __typename message ... on PolicyViolationError { rules } }"
CREATE_PRODUCT = PRODUCT.replace("errors { __typename message }", POLICY_ERRORS)
TAKE = IMPORT.replace(
    "errors { __typename message ... on InvalidContractError { path } }", POLICY_ERRORS
)
PUBLISH = ADVANCE.replace(
    "errors { __typename message\n",
    "errors { __typename message ... on PolicyViolationError { rules }\n",
)
ASK = REQUEST.replace("errors { __typename message }", POLICY_ERRORS)
REQUESTS = "MATCH (r:AccessRequest {version: $version}) RETURN count(r) AS n"
DENIED = """
MATCH (e:AuditEvent {outcome: 'denied'}) WHERE e.actor STARTS WITH $name
  AND e.detail STARTS WITH 'policy'
RETURN e.action AS action, e.detail AS detail ORDER BY action
"""
COLUMNS = {"id": {"logicalType": "string"}, "email": {"logicalType": "string"}}
FRESH = [{"property": "freshness", "value": 1, "unit": "d"}]


async def test_mesh_steps_ask_the_policy_engine(mesh: dict[str, Any]) -> None:
    m = mesh
    ada, olga, carl, name = m["admin"], m["owner"], m["consumer"], m["name"]
    sales = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    mkt = (await ada(DOMAIN, input={"name": m["mkt"]}))["createDomain"]["domain"]["id"]
    await ada(
        "mutation($d: ID!, $a: [ID!]!) { assignToDomain(domain: $d, assets: $a) { tables } }",
        d=sales, a=[m["schema"]],
    )  # fmt: skip
    team = (await olga(TEAM, input={"domain": sales, "name": f"{name}-orders"}))["saveTeam"]
    analysts = await ada(
        TEAM, input={"domain": mkt, "name": f"{name}-analysts", "members": [f"{name}-carl"]}
    )
    port = [{"name": "orders", "asset": m["table"]}]
    spec = {"domain": sales, "name": "orders", "ownerTeam": team["team"]["id"],
            "description": "Every order, as sold", "outputPorts": port}  # fmt: skip
    product = (await olga(CREATE_PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
    # A draft taken in before the rules: no SLA, no purpose, though it exposes an email column.
    draft = await olga(TAKE, product=product, version="1.0.0", odcs=contract(COLUMNS))
    v1 = draft["importContract"]["version"]["id"]

    # The mesh rules of the engine, for this test's sales domain only; four eyes release them.
    w = {"ada": ada, "bob": m["admin2"], "policy": f"urn:dw:policy:{name}"}
    await ada(CREATE, input={"name": name})
    scope = {"scope": "DOMAIN", "scopeValue": m["sales"], "severity": "HIGH"}
    rules = [
        {"id": "workspace", "template": "mesh_product_workspace", "params": {}},
        {"id": "contract", "template": "mesh_contract_owner_sla", "params": {}},
        {"id": "pii", "template": "mesh_contract_pii_purpose", "params": {"categories": [name]}},
        {"id": "access", "template": "mesh_access_request", "params": {"max_days": 30}},
    ]
    for rule in rules:
        added = await ada(ADD_RULE, policy=w["policy"], rule={**rule, **scope})
        assert added["addRule"]["errors"] == []
    assert (await release(w, 1))["errors"] == []

    # A workspace without an owner team is refused by name; nothing is created.
    unowned = {**spec, "name": "returns", "ownerTeam": None, "outputPorts": []}
    refused = (await olga(CREATE_PRODUCT, input=unowned))["createDataProduct"]
    assert refused["product"] is None
    assert refused["errors"] == [{
        "__typename": "PolicyViolationError", "rules": [f"{name}/workspace"],
        "message": f"refused by policy: {name}/workspace: a product workspace needs an owner team",
    }]  # fmt: skip
    assert (await olga(VERSIONS, id=f"urn:dw:product:{m['sales']}/returns"))["node"] is None

    # The draft cannot be published: no SLA, and an email exposed without a purpose.
    held = (await olga(PUBLISH, version=v1, step="PUBLISH"))["advanceVersion"]
    assert held["version"] is None
    assert held["errors"][0]["rules"] == [f"{name}/contract", f"{name}/pii"]
    assert f"exposes {name}.Email" in held["errors"][0]["message"]
    # A contract without an SLA is not even taken in.
    purpose = "order analytics for the finance close"
    thin = contract(COLUMNS, purpose=purpose)
    no_sla = (await olga(TAKE, product=product, version="1.0.0", odcs=thin))["importContract"]
    assert no_sla["errors"][0]["rules"] == [f"{name}/contract"]
    assert "states no SLA for freshness" in no_sla["errors"][0]["message"]
    assert await versions_of(olga, product) == [{"version": "1.0.0", "status": "DRAFT"}]
    # Within the rules: taken in, then published.
    good = contract(COLUMNS, purpose=purpose, sla=FRESH)
    taken = (await olga(TAKE, product=product, version="1.0.0", odcs=good))["importContract"]
    assert taken["errors"] == []
    published = (await olga(PUBLISH, version=v1, step="PUBLISH"))["advanceVersion"]
    assert published["errors"] == [] and published["version"] == {"status": "PUBLISHED"}

    # Access: a purpose of a few words or more days than the rule allows is refused.
    ask = {"version": v1, "team": analysts["saveTeam"]["team"]["id"], "days": 30}
    vague = (await carl(ASK, input={**ask, "purpose": "reports"}))["requestAccess"]
    assert vague["errors"][0]["rules"] == [f"{name}/access"]
    long = (await carl(ASK, input={**ask, "purpose": purpose, "days": 60}))["requestAccess"]
    assert "at most 30 days, not 60" in long["errors"][0]["message"]
    db = m["settings"].neo4j.database
    assert (await read(m["neo4j"], db, REQUESTS, version=v1))[0]["n"] == 0
    fine = (await carl(ASK, input={**ask, "purpose": purpose}))["requestAccess"]
    assert fine["errors"] == [] and fine["request"]["status"] == "PENDING"

    await m["served"].app.state.datawave.audit.drain()
    denied = await read(m["neo4j"], db, DENIED, name=name)
    assert [d["action"] for d in denied] == [
        "createDataProduct", "importContract", "publishVersion", "requestAccess", "requestAccess",
    ]  # fmt: skip
    assert denied[0]["detail"] == f"policy: {name}/workspace"

    # OPA unreachable while rules are in force: the step fails closed, nothing is written.
    broken = m["settings"].model_copy(update={"opa_url": "http://127.0.0.1:9"})
    async with serve(broken) as down, httpx.AsyncClient(base_url=down.url, timeout=30) as http:
        cut = Caller(http, olga.token)
        closed = await cut(CREATE_PRODUCT, input={**spec, "name": "refunds"})
    error = closed["createDataProduct"]["errors"][0]
    assert error["__typename"] == "PolicyEngineUnavailableError"
    assert (await olga(VERSIONS, id=f"urn:dw:product:{m['sales']}/refunds"))["node"] is None
