"""The data-mesh workflow through GraphQL alone, against the real Neo4j, Kafka, Redis and
OpenSearch: an admin creates two domains and assigns a schema to one (its owner then sees its
tables at once, cache and all, and finds them by search once the relay re-indexed them); the
owner builds a team and a product with a table port and a Kafka stream port (the topic exists
afterwards, with the configured partitions and retention); imports an ODCS contract; the quality
gate quarantines the version until the table is healthy; an open high finding on an exposed
column blocks publishing; a breaking change is refused for a minor version; a consumer follows
the product's steps on productEvents; a changed table re-checks the contract and drift shows;
a consumer team's access request is refused to its own requester and approved by a second
owner, with the steps on datawave.mesh.v1 under one correlation id; the grant lets the consumer
read the table with the token it had until revoked; a version with a consumer cannot retire."""

from __future__ import annotations

import asyncio
from typing import Any, LiteralString, cast

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from live.changes import ChangeType, catalog_change, publish_catalog_change
from tests.factories import eventually
from tests.integration.app.test_analyst_queries import QUERIES
from tests.integration.graphql.conftest import ws_client
from tests.integration.mesh.flow import (
    ADVANCE,
    ASSIGN,
    DECIDE,
    DOMAIN,
    IMPORT,
    PRODUCT,
    REQUEST,
    SEARCH_ASSETS,
    TEAM,
    following,
    mesh_steps,
    nodes,
)
from tests.unit.mesh.odcs import contract

FINDING = """
MERGE (f:Finding {urn: $urn})
SET f.asset = $asset, f.source = split($asset, ':')[3], f.status = $status, f.severity = 'high',
    f.message = 'PII without an owner'
"""
ROTTEN = """
MATCH (t:Table {urn: $table})-[:HAS_COLUMN]->(c:Column {name: 'total'})
SET t.rowCount = $rows, c.dataType = $type
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Table { name } } }"
GATE = """
mutation($version: ID!) { evaluateQualityGate(version: $version) {
  version { quarantined quarantineReason quality { metric passed } }
  errors { __typename message } } }
"""
DRIFT = """
mutation($version: ID!) { checkContractDrift(version: $version) {
  version { drift } errors { __typename message } } }
"""
DRIFTED = "{ driftedVersions(first: 100) { totalCount edges { node { id drift } } } }"
DRIFT_OF = "query($id: ID!) { node(id: $id) { ... on ProductVersion { drift } } }"
EVENTS = """
subscription($product: ID!) { productEvents(product: $product) {
  action actor subject version correlationId } }
"""
RUNS = "query($id: ID!) { node(id: $id) { ... on ProductVersion { qualityRuns { passed by } } } }"
SEARCH = """
query($domain: ID, $text: String) { dataProducts(domain: $domain, text: $text) {
  totalCount edges { node { id } } } }
"""
REVOKE = """
mutation($request: ID!, $reason: String!) { revokeAccess(request: $request, reason: $reason) {
  request { status } errors { __typename message } } }
"""
COLUMNS_OF = "query($id: ID!) { node(id: $id) { id ... on Table { columns { name } } } }"
CONSUMERS = """
query($id: ID!) { node(id: $id) { ... on ProductVersion { status
  consumers { edges { node { name } } }
  accessRequests { edges { node { id status } } } } } }
"""

COLUMNS = {
    "id": {"logicalType": "string", "primaryKey": True},
    "email": {"logicalType": "string"},
    "total": {"logicalType": "string"},
}
ROWS = [{"metric": "rowCount", "mustBeGreaterThan": 100}]


async def test_a_data_product_from_domain_to_granted_access(
    mesh: dict[str, Any], settings: Settings, admin: AIOKafkaAdminClient
) -> None:
    m = mesh
    ada, olga = m["admin"], m["owner"]

    # Domains: created by an admin, once.
    created = await ada(DOMAIN, input={"name": m["sales"], "owners": [f"{m['name']}-olga"]})
    sales = created["createDomain"]["domain"]["id"]
    assert sales == f"urn:dw:domain:{m['sales']}"
    again = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]
    assert again["errors"][0]["__typename"] == "DuplicateError"
    mkt = (await ada(DOMAIN, input={"name": m["mkt"]}))["createDomain"]["domain"]["id"]

    # The owner of sales administers sales only.
    refused = await olga.raw(TEAM, input={"domain": mkt, "name": f"{m['name']}-spies"})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    team = (await olga(TEAM, input={"domain": sales, "name": f"{m['name']}-orders",
                                    "members": ["olga", "pat"]}))["saveTeam"]["team"]  # fmt: skip
    assert team["domain"] == m["sales"]
    members = [f"{m['name']}-carl", f"{m['name']}-olga"]
    readers = await ada(
        TEAM, input={"domain": mkt, "name": f"{m['name']}-analysts", "members": members}
    )
    analysts = readers["saveTeam"]["team"]["id"]

    # Until the schema is assigned to sales, its table is out of the owner's scope; then it is
    # in at once (the cached read of the table was invalidated).
    assert (await olga(NODE, id=m["table"]))["node"] is None
    assigned = (await ada(ASSIGN, domain=sales, assets=[m["schema"]]))["assignToDomain"]
    assert assigned["errors"] == [] and assigned["tables"] == [m["table"]]
    assert (await olga(NODE, id=m["table"]))["node"] == {"id": m["table"], "name": "orders"}

    # Search follows too: the relay re-indexed the table with its new domain.
    async def found_by_search() -> bool:
        hits = (await olga(SEARCH_ASSETS, text="orders", source=m["name"]))["search"]["edges"]
        return [e["node"]["asset"]["id"] for e in hits] == [m["table"]]

    await eventually(found_by_search, timeout_s=60)  # the relay may be rebalancing

    # A product with a table port and a stream port: the topic is on Kafka.
    spec = {
        "domain": sales, "name": "orders", "ownerTeam": team["id"],
        "description": "Every order, as sold",
        "sla": {"freshness": "1d", "supportContact": "#orders"},
        "outputPorts": [{"name": "orders", "asset": m["table"]}],
        "streamPorts": ["events"],
    }  # fmt: skip
    made = (await olga(PRODUCT, input=spec))["createDataProduct"]
    assert made["errors"] == [], made
    product = made["product"]
    assert product["owner"] == {"name": f"{m['name']}-orders"}
    assert product["outputPorts"] == [{"name": "orders", "asset": m["table"]}]
    stream = product["streamPorts"][0]
    cfg = settings.mesh
    assert stream["topic"] == f"{cfg.stream_topic_prefix}{m['sales']}.orders.events"
    assert (stream["partitions"], stream["retentionMs"]) == (
        cfg.stream_partitions, cfg.stream_retention_ms,
    )  # fmt: skip
    try:
        described = await admin.describe_topics([stream["topic"]])
        assert len(described[0]["partitions"]) == cfg.stream_partitions
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, stream["topic"])]
        )
        entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
        assert entries["retention.ms"] == str(cfg.stream_retention_ms)
        await contract_lifecycle(m, product["id"], analysts)
    finally:
        await admin.delete_topics([stream["topic"]])


async def contract_lifecycle(m: dict[str, Any], product: str, analysts: str) -> None:
    olga, pat, carl = m["owner"], m["second"], m["consumer"]

    bad = (await olga(IMPORT, product=product, version="1.0.0",
                      odcs=contract({"id": {"logicalType": "integr"}})))  # fmt: skip
    error = bad["importContract"]["errors"][0]
    assert error["__typename"] == "InvalidContractError"
    assert error["path"] == "schema.0.properties.0.logicalType"

    odcs = contract(COLUMNS, quality=ROWS)
    v1 = (await olga(IMPORT, product=product, version="1.0.0", odcs=odcs))["importContract"]
    v1 = v1["version"]
    assert (v1["status"], v1["drift"]) == ("DRAFT", [])
    assert "kind: DataContract" in v1["contract"]

    # The quality gate quarantines the version while the table has 10 rows; publishing waits.
    gate = (await olga(GATE, version=v1["id"]))["evaluateQualityGate"]["version"]
    assert gate["quarantined"] and "rowCount = 10 fails" in gate["quarantineReason"]
    held = (await olga(ADVANCE, version=v1["id"], step="PUBLISH"))["advanceVersion"]
    assert held["errors"][0]["__typename"] == "WrongStateError"
    await write(*_graph(m), ROTTEN, table=m["table"], rows=5000, type="varchar")
    released = (await olga(GATE, version=v1["id"]))["evaluateQualityGate"]["version"]
    assert not released["quarantined"] and released["quality"] == [
        {"metric": "rowCount", "passed": True}
    ]
    # The governance engine's open high finding on an exposed column blocks publishing until
    # it is resolved.
    email = f"{m['table'].replace(':table:', ':column:')}/email"
    finding = f"urn:dw:finding:{m['name']}"
    await write(*_graph(m), FINDING, urn=finding, asset=email, status="open")
    blocked = (await olga(ADVANCE, version=v1["id"], step="PUBLISH"))["advanceVersion"]
    assert blocked["errors"][0]["__typename"] == "NonCompliantError"
    assert blocked["errors"][0]["findings"] == [finding]
    await write(*_graph(m), FINDING, urn=finding, asset=email, status="resolved")
    published = (await olga(ADVANCE, version=v1["id"], step="PUBLISH"))["advanceVersion"]
    assert published["version"] == {"status": "PUBLISHED"}
    runs = (await carl(RUNS, id=v1["id"]))["node"]["qualityRuns"]
    assert [(r["passed"], r["by"]) for r in runs] == [
        (True, f"{m['name']}-olga"), (False, f"{m['name']}-olga"),
    ]  # fmt: skip

    # Dropping a column is a breaking change: refused as 1.1.0, fine as 2.0.0.
    slim = {k: v for k, v in COLUMNS.items() if k != "email"}
    minor = await olga(IMPORT, product=product, version="1.1.0", odcs=contract(slim))
    v11 = minor["importContract"]["version"]["id"]
    refused = (await olga(ADVANCE, version=v11, step="PUBLISH"))["advanceVersion"]
    assert refused["errors"][0]["__typename"] == "IncompatibleVersionError"
    assert refused["errors"][0]["changes"] == ["orders.email: column removed"]
    major = await olga(IMPORT, product=product, version="2.0.0", odcs=contract(slim))
    v2 = major["importContract"]["version"]["id"]
    # A consumer following the product sees the step as it happens.
    async with ws_client(m["api"], carl.token) as session:
        stream = session.subscribe(GraphQLRequest(EVENTS, variable_values={"product": product}))
        listener = asyncio.create_task(anext(aiter(stream)))
        await following(m, product)
        assert (await olga(ADVANCE, version=v2, step="PUBLISH"))["advanceVersion"]["errors"] == []
        event = (await asyncio.wait_for(listener, 10))["productEvents"]
    assert (event["action"], event["version"], event["actor"]) == (
        "version.published", v2, f"{m['name']}-olga",
    )  # fmt: skip

    # A scan changes the table under the contract: the change re-checks the contract (as the
    # relay forwards a worker's change), and drift is a violation the query reports.
    await write(*_graph(m), ROTTEN, table=m["table"], rows=5000, type="integer")
    redis = m["served"].app.state.datawave.redis
    await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, m["table"], ["columns"]))
    expected = ["orders.total: source type integer is not string"]

    async def drifted_now() -> bool:
        return (await carl(DRIFT_OF, id=v1["id"]))["node"]["drift"] == expected

    await eventually(drifted_now, timeout_s=10)
    page = (await carl(DRIFTED))["driftedVersions"]
    drifted = {e["node"]["id"]: e["node"]["drift"] for e in page["edges"]}
    assert drifted[v1["id"]] == expected
    checked = (await olga(DRIFT, version=v1["id"]))["checkContractDrift"]["version"]["drift"]
    assert checked == expected

    # A consumer team of marketing asks for v1; its requester may not approve it, a second
    # owner does, and the team is bound to v1: its member sees the table (and its columns)
    # at once, with the token they had.
    assert (await carl(NODE, id=m["table"]))["node"] is None
    ask_for = {"version": v1["id"], "team": analysts, "purpose": "churn model", "days": 30}
    outsider = (await pat(REQUEST, input=ask_for))["requestAccess"]["errors"]
    not_member = f"you are not a member of team {m['name']}-analysts"
    assert outsider == [{"__typename": "InvalidInputError", "message": not_member}]
    asked = await olga(REQUEST, input=ask_for)
    request = asked["requestAccess"]["request"]
    assert request["status"] == "PENDING"
    own = (await olga(DECIDE, request=request["id"], approve=True))["decideAccess"]
    assert own["errors"][0]["__typename"] == "SelfApprovalError"
    not_theirs = await carl.raw(DECIDE, request=request["id"], approve=True)
    assert not_theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    approved = (await pat(DECIDE, request=request["id"], approve=True))["decideAccess"]
    assert approved["request"]["status"] == "APPROVED"
    assert approved["request"]["decidedBy"] == f"{m['name']}-pat"
    bound = (await carl(CONSUMERS, id=v1["id"]))["node"]
    assert nodes(bound["consumers"]) == [{"name": f"{m['name']}-analysts"}]
    # Not an approver of sales, the consumer is a member of the requesting team: a party.
    mine = {"id": request["id"], "status": "APPROVED"}
    assert bound["accessRequests"]["edges"] == [{"node": mine}]
    # Consumers find it by what its contract says.
    sales = f"urn:dw:domain:{m['sales']}"
    found = (await carl(SEARCH, domain=sales, text="EMAIL"))["dataProducts"]
    assert found == {"totalCount": 1, "edges": [{"node": {"id": product}}]}
    nothing = await carl(SEARCH, domain=sales, text=f"{m['name']}-no-such-thing")
    assert nothing["dataProducts"] == {"totalCount": 0, "edges": []}

    # Analysts ask the graph directly (docs/analysts.md).
    used = await ask(m, "Which consumers use a version of a product", product=product)
    assert [(r["version"], r["status"], r["consumers"]) for r in used] == [
        ("1.0.0", "published", [f"{m['name']}-analysts"]),
        ("1.1.0", "draft", []),
        ("2.0.0", "published", []),
    ]
    drifted_rows = await ask(m, "Products whose contract drifted")
    mine = {r["version"]: r for r in drifted_rows if r["product"] == product}
    assert set(mine) == {"1.0.0", "1.1.0", "2.0.0"}  # the watcher checked every live version
    assert mine["1.0.0"]["violations"] == expected
    assert mine["1.0.0"]["consumers"] == [f"{m['name']}-analysts"]
    seen = (await carl(COLUMNS_OF, id=m["table"]))["node"]
    assert seen == {"id": m["table"], "columns": [{"name": n} for n in ("id", "email", "total")]}
    steps = await mesh_steps(m["settings"], request["correlationId"], 2)
    assert [s["data"]["action"] for s in steps] == ["access.requested", "access.approved"]
    assert {s["subject"] for s in steps} == {v1["id"]}

    # Deprecated with a notice, but not retired while a consumer is bound to it.
    notice = "moved to 2.0.0 (no email)"
    deprecated = await olga(ADVANCE, version=v1["id"], step="DEPRECATE", notice=notice)
    assert deprecated["advanceVersion"]["version"] == {"status": "DEPRECATED"}
    retire = (await olga(ADVANCE, version=v1["id"], step="RETIRE"))["advanceVersion"]
    assert retire["errors"][0]["__typename"] == "WrongStateError"
    assert "1 consumer" in retire["errors"][0]["message"]

    # Revoked, the grant ends at once: the table is out of reach, and v1 may retire.
    revoked = await pat(REVOKE, request=request["id"], reason="churn model shipped")
    assert revoked["revokeAccess"]["request"]["status"] == "REVOKED"
    assert (await carl(NODE, id=m["table"]))["node"] is None
    retired = (await olga(ADVANCE, version=v1["id"], step="RETIRE"))["advanceVersion"]
    assert retired["version"] == {"status": "RETIRED"}
    steps = await mesh_steps(m["settings"], request["correlationId"], 3)
    assert steps[-1]["data"]["action"] == "access.revoked"


async def ask(m: dict[str, Any], title: str, **params: str) -> list[dict[str, Any]]:
    query, defaults = QUERIES[title]
    return await read(*_graph(m), cast(LiteralString, query), **{**defaults, **params})


def _graph(m: dict[str, Any]) -> tuple[AsyncDriver, str]:
    return m["neo4j"], m["settings"].neo4j.database
