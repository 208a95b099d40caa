"""The mesh's people walking docs/mesh.md through GraphQL against the real services, where an
audit found the API doing other than the manual says: a crafted argument answered as an
internal error or taken as a version of its own; a second output port of one table replacing
the first; discovery matching the YAML keys of every contract; drafts published out of order
letting a minor version break its major; a revocation after a migration overwriting the
record of the move."""

from __future__ import annotations

from typing import Any

from core.urns import team_urn
from graph.driver import read
from tests.integration.mesh.flow import (
    ADVANCE,
    DECIDE,
    IMPORT,
    PRODUCT,
    REQUEST,
    nodes,
    published,
    versions_of,
)
from tests.unit.mesh.odcs import contract

COLUMNS = {
    "id": {"logicalType": "string", "primaryKey": True},
    "email": {"logicalType": "string", "description": "where the receipt went"},
    "total": {"logicalType": "string"},
}
SLIM = {k: v for k, v in COLUMNS.items() if k != "email"}  # drops a column: breaking
SEARCH = """
query($text: String!, $domain: ID) { searchProducts(text: $text, domain: $domain, mode: FULL_TEXT) {
  totalCount } }
"""
FOUND = """
query($text: String, $domain: ID) { dataProducts(text: $text, domain: $domain) { totalCount } }
"""
PRODUCTS = "query($domain: ID) { dataProducts(domain: $domain) { edges { node { id } } } }"
CONSUMERS = """
query($product: ID!, $version: ID) { productConsumers(product: $product, version: $version) {
  totalCount } }
"""
REQUESTS = "query($filter: AccessRequestFilter) { accessRequests(filter: $filter) { totalCount } }"
MIGRATE = """
mutation($request: ID!, $version: ID!) { migrateAccess(request: $request, version: $version) {
  request { boundTo } errors { __typename message } } }
"""
REVOKE = """
mutation($request: ID!) { revokeAccess(request: $request, reason: "project over") {
  request { status } errors { __typename message } } }
"""
TABLE = "query($id: ID!) { node(id: $id) { id } }"
GRANTS = """
MATCH (r:AccessRequest {id: $id}), (:Team)-[g:GRANTED {request: $id}]->(c:Contract)
RETURN c.version AS version, g.revokedBy AS revokedBy, g.revokedAt = r.migratedAt AS moved,
       g.migratedTo IS NOT NULL AS migrated
ORDER BY version
"""


async def test_crafted_arguments_are_refused_and_leave_nothing(mesh: dict[str, Any]) -> None:
    m = mesh
    olga, carl = m["owner"], m["consumer"]
    urns = await published(m, contract(COLUMNS))
    product = urns["product"]

    # A domain argument that is no URN is the caller's mistake, not an internal error.
    for crafted in ("garbage", "urn:dw:domain:"):
        body = await carl.raw(SEARCH, text="orders", domain=crafted)
        assert [e["extensions"].get("code") for e in body["errors"]] == ["BAD_USER_INPUT"]
    # So is a product or version argument that names no product or version: before, a domain,
    # table or version URN as productConsumers' product, or any text as its version or as
    # accessRequests' product and version, answered an empty page as if nobody used it.
    version, domain = urns["version"], urns["sales"]
    crafted_args = [
        (CONSUMERS, {"product": domain}),
        (CONSUMERS, {"product": "garbage"}),
        (CONSUMERS, {"product": version}),
        (CONSUMERS, {"product": m["table"]}),
        (CONSUMERS, {"product": product, "version": "1.0.0"}),
        (CONSUMERS, {"product": product, "version": product}),
        (REQUESTS, {"filter": {"product": "garbage"}}),
        (REQUESTS, {"filter": {"product": version}}),
        (REQUESTS, {"filter": {"version": "1.0.0"}}),
        (REQUESTS, {"filter": {"version": product}}),
    ]
    for query, args in crafted_args:
        body = await olga.raw(query, **args)
        errors = body.get("errors", [])
        assert [e["extensions"].get("code") for e in errors] == ["BAD_USER_INPUT"], args
        assert "must be a" in errors[0]["message"]
    assert (await olga(CONSUMERS, product=product, version=version))["productConsumers"] == {
        "totalCount": 0
    }

    # "1.1.0\n" is no semantic version (it became a version of its own, URN ending in %0A);
    # "orders\n" no name.
    taken = await olga(IMPORT, product=product, version="1.1.0\n", odcs=contract(COLUMNS))
    assert [e["__typename"] for e in taken["importContract"]["errors"]] == ["InvalidInputError"]
    spec = {"domain": urns["sales"], "description": "Every refund, as booked"}
    named = (await olga(PRODUCT, input={**spec, "name": "refunds\n"}))["createDataProduct"]
    assert [e["__typename"] for e in named["errors"]] == ["InvalidInputError"]

    # Two output ports of one table: the second replaced the first, silently.
    twice = [{"name": "a", "asset": m["table"]}, {"name": "b", "asset": m["table"]}]
    ported = await olga(PRODUCT, input={**spec, "name": "refunds", "outputPorts": twice})
    assert [e["__typename"] for e in ported["createDataProduct"]["errors"]] == ["InvalidInputError"]
    listed = nodes((await carl(PRODUCTS, domain=urns["sales"]))["dataProducts"])
    assert listed == [{"id": product}]
    versions = (await carl(FOUND, text=None, domain=urns["sales"]))["dataProducts"]
    assert versions["totalCount"] == 1


async def test_discovery_matches_what_contracts_say_not_their_yaml(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    olga, carl = m["owner"], m["consumer"]
    sla = [{"property": "freshness", "value": 1, "unit": "d"}]
    urns = await published(m, contract(COLUMNS, sla=sla))
    found = {}
    for text in ("apiVersion", "logicalType", "active", "physicalType", "receipt", "freshness",
                 "email"):  # fmt: skip
        found[text] = (await carl(FOUND, text=text, domain=urns["sales"]))["dataProducts"]
    assert {t: f["totalCount"] for t, f in found.items()} == {
        "apiVersion": 0, "logicalType": 0, "active": 0, "physicalType": 0,
        "receipt": 1, "freshness": 1, "email": 1,
    }  # fmt: skip
    # The draft's contract is found too (any version's), once imported.
    await olga(IMPORT, product=urns["product"], version="1.1.0",
               odcs=contract({**COLUMNS, "refund": {"logicalType": "string"}}))  # fmt: skip
    refund = (await carl(FOUND, text="REFUND", domain=urns["sales"]))["dataProducts"]
    assert refund["totalCount"] == 1


async def test_drafts_published_out_of_order_do_not_break_their_major(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    olga = m["owner"]
    urns = await published(m, contract(COLUMNS))
    product = urns["product"]
    drafts = {}
    for version, columns in (("2.0.0", COLUMNS), ("2.1.0", SLIM)):
        taken = await olga(IMPORT, product=product, version=version, odcs=contract(columns))
        drafts[version] = taken["importContract"]["version"]["id"]
    # 2.1.0 first: a new major against 1.0.0, fine. Then 2.0.0, which 2.1.0 breaks: 2.1.0
    # would be a minor release of 2 without the column 2.0.0's consumers were promised.
    first = (await olga(ADVANCE, version=drafts["2.1.0"], step="PUBLISH"))["advanceVersion"]
    assert first["errors"] == []
    late = (await olga(ADVANCE, version=drafts["2.0.0"], step="PUBLISH"))["advanceVersion"]
    assert [e["__typename"] for e in late["errors"]] == ["IncompatibleVersionError"]
    assert late["errors"][0]["changes"] == ["orders.email: column removed"]


async def test_a_revocation_after_a_migration_keeps_the_record_of_the_move(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    olga, pat, carl, name = m["owner"], m["second"], m["consumer"], m["name"]
    urns = await published(m, contract(COLUMNS))
    ask = {"version": urns["version"], "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
    await pat(DECIDE, request=request["id"], approve=True)
    taken = await olga(IMPORT, product=urns["product"], version="2.0.0", odcs=contract(SLIM))
    v2 = taken["importContract"]["version"]["id"]
    assert (await olga(ADVANCE, version=v2, step="PUBLISH"))["advanceVersion"]["errors"] == []
    moved = (await carl(MIGRATE, request=request["id"], version=v2))["migrateAccess"]
    assert moved == {"request": {"boundTo": v2}, "errors": []}

    revoked = (await pat(REVOKE, request=request["id"]))["revokeAccess"]
    assert revoked == {"request": {"status": "REVOKED"}, "errors": []}
    assert (await carl(TABLE, id=m["table"]))["node"] is None  # at once
    db = m["settings"].neo4j.database
    grants = await read(m["neo4j"], db, GRANTS, id=request["correlationId"])
    assert grants == [
        {"version": "1.0.0", "revokedBy": f"{name}-carl", "moved": True, "migrated": True},
        {"version": "2.0.0", "revokedBy": f"{name}-pat", "moved": False, "migrated": False},
    ]


COMPATIBILITY = "query($version: ID!) { compatibility(version: $version) { compatible } }"
# Every other mesh field taking a URN, each with a URN argument of another kind (or no URN):
# the field, its variables' types, and the arguments it passes them as.
CRAFTED_FIELDS = {
    "dataProducts": ("$domain: ID", "domain: $domain", "totalCount"),
    "searchProducts": ("$domain: ID", 'text: "orders", domain: $domain', "totalCount"),
    "importContract": ("$product: ID!", 'product: $product, version: "9.0.0", odcs: ""', "ERR"),
    "checkContractDrift": ("$version: ID!", "version: $version", "ERR"),
    "advanceVersion": ("$version: ID!", "version: $version, step: DEPRECATE", "ERR"),
    "evaluateQualityGate": ("$version: ID!", "version: $version", "ERR"),
    "noteRemediation": ("$remediation: ID!", 'remediation: $remediation, note: "x"', "ERR"),
    "requestAccess": ("$input: RequestAccessInput!", "input: $input", "ERR"),
    "decideAccess": ("$request: ID!", "request: $request, approve: true", "ERR"),
    "acceptContractTerms": ("$request: ID!", "request: $request", "ERR"),
    "migrateAccess": ("$request: ID!, $version: ID!", "request: $request, version: $version",
                      "ERR"),
    "revokeAccess": ("$request: ID!", 'request: $request, reason: "x"', "ERR"),
    "updateDomain": ("$domain: ID!", 'domain: $domain, description: "x"', "ERR"),
    "archiveDomain": ("$domain: ID!", "domain: $domain", "ERR"),
    "saveTeam": ("$input: SaveTeamInput!", "input: $input", "ERR"),
    "createDataProduct": ("$input: CreateDataProductInput!", "input: $input", "ERR"),
}  # fmt: skip


def crafted(field: str) -> str:
    """The document that sends ``field`` its crafted arguments."""
    types, args, selected = CRAFTED_FIELDS[field]
    what = "query" if selected == "totalCount" else "mutation"
    selected = "errors { __typename message }" if selected == "ERR" else selected
    return f"{what}({types}) {{ {field}({args}) {{ {selected} }} }}"


async def test_every_urn_argument_refuses_another_kind(mesh: dict[str, Any]) -> None:
    """``compatibility(version: "garbage")`` answered null, as for a version nobody can see;
    ``accessRequests`` took any text as its ``team`` filter (an empty page); ``dataProducts``
    any ``domain`` (an empty page), ``searchProducts`` a product's URN as its domain; the
    mutations took a URN of another kind (a product's as a version, a version's as an access
    request, a domain's as a team) and answered NotFoundError, or another payload error
    (WrongStateError, InvalidContractError) that hid the mistake. Each is a BAD_USER_INPUT
    error naming the kind expected, and changes nothing."""
    m = mesh
    ada, carl = m["admin"], m["consumer"]
    urns = await published(m, contract(COLUMNS))
    product, version, sales = urns["product"], urns["version"], urns["sales"]
    ask = {"version": version, "team": urns["analysts"], "purpose": "churn model", "days": 30}
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]["id"]
    remediation = version.replace("contract", "remediation", 1) + "/2026"
    team = {"domain": sales, "name": f"{m['name']}-crafted"}
    cases = [
        (COMPATIBILITY, {"version": "garbage"}),
        (COMPATIBILITY, {"version": product}),
        (REQUESTS, {"filter": {"team": "garbage"}}),
        (REQUESTS, {"filter": {"team": sales}}),
        (crafted("dataProducts"), {"domain": "garbage"}),
        (crafted("dataProducts"), {"domain": product}),
        (crafted("searchProducts"), {"domain": product}),
        (crafted("importContract"), {"product": sales}),
        (crafted("importContract"), {"product": version}),
        (crafted("checkContractDrift"), {"version": product}),
        (crafted("advanceVersion"), {"version": product}),
        (crafted("evaluateQualityGate"), {"version": product}),
        (crafted("noteRemediation"), {"remediation": version}),
        (crafted("requestAccess"), {"input": {**ask, "version": product}}),
        (crafted("requestAccess"), {"input": {**ask, "team": sales}}),
        (crafted("decideAccess"), {"request": version}),
        (crafted("acceptContractTerms"), {"request": version}),
        (crafted("migrateAccess"), {"request": version, "version": version}),
        (crafted("migrateAccess"), {"request": request, "version": product}),
        (crafted("revokeAccess"), {"request": product}),
        (crafted("updateDomain"), {"domain": product}),
        (crafted("archiveDomain"), {"domain": product}),
        (crafted("saveTeam"), {"input": {**team, "domain": product}}),
        (crafted("createDataProduct"), {"input": {"domain": product, "name": "refunds"}}),
        (crafted("createDataProduct"), {"input": {"domain": sales, "name": "refunds",
                                                  "ownerTeam": sales}}),
    ]  # fmt: skip
    assert (await ada(COMPATIBILITY, version=version))["compatibility"] == {"compatible": True}
    assert (await ada(crafted("noteRemediation"), remediation=remediation))["noteRemediation"]
    answered = []
    for query, args in cases:
        body = await ada.raw(query, **args)
        codes = [e["extensions"].get("code") for e in body.get("errors", [])]
        if codes != ["BAD_USER_INPUT"] or "must be a" not in body["errors"][0]["message"]:
            answered.append((query[:60], args, body))
    assert answered == [], "answered instead of refused"

    # Nothing changed: the product's one version, published; the one request, pending.
    assert await versions_of(ada, product) == [{"version": "1.0.0", "status": "PUBLISHED"}]
    listed = nodes((await ada(PRODUCTS, domain=sales))["dataProducts"])
    assert listed == [{"id": product}]
    mine = (await ada(REQUESTS, filter={"product": product}))["accessRequests"]
    assert mine == {"totalCount": 1}
    assert (await ada(TABLE, id=team_urn(team["name"])))["node"] is None
