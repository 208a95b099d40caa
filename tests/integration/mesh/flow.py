"""The data-mesh tests' world: callers by role and domain scope over a small estate (the
``mesh`` fixture), the GraphQL documents most tests send, and the steps on datawave.mesh.v1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from neo4j import AsyncDriver

from core.settings import Settings
from core.topics import MESH
from graph.driver import write
from live.search import INDEX
from mesh.events import product_channel
from mesh.search import INDEX as PRODUCT_INDEX
from security.auth import mint_token
from tests.factories import eventually
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, bearer

FORGET = """
CALL () { MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name DELETE e }
CALL () { MATCH (f:Finding {urn: 'urn:dw:finding:' + $name}) DELETE f }
CALL () { MATCH (n:Policy|PolicyVersion|Rule) WHERE coalesce(n.urn, n.key) STARTS WITH $policy
          DETACH DELETE n }
"""
# Contracts and stream ports of this test's products only (their URNs name its domains).
FORGET_PRODUCTS = """
MATCH (p:DataProduct) WHERE p.domain STARTS WITH $name
OPTIONAL MATCH (p)-[:HAS_VERSION|HAS_PORT]->(n)
OPTIONAL MATCH (r:AccessRequest)-[:FOR]->(n)
OPTIONAL MATCH (n)-[:HAS_RUN|HAS_REMEDIATION]->(q:QualityRun|Remediation)
DETACH DELETE q, r, n, p
"""
DOMAIN = """
mutation($input: CreateDomainInput!) { createDomain(input: $input) {
  domain { id name owners } errors { __typename message } } }
"""
TEAM = """
mutation($input: SaveTeamInput!) { saveTeam(input: $input) {
  team { id name members domain } errors { __typename message } } }
"""
PRODUCT = """
mutation($input: CreateDataProductInput!) { createDataProduct(input: $input) {
  product { id name domain owner { name } sla { freshness supportContact }
            outputPorts { name asset } streamPorts { name topic partitions retentionMs }
            streamError }
  errors { __typename message } } }
"""
IMPORT = """
mutation($product: ID!, $version: String!, $odcs: String!) {
  importContract(product: $product, version: $version, odcs: $odcs) {
    version { id version status drift contract }
    errors { __typename message ... on InvalidContractError { path } } } }
"""
ADVANCE = """
mutation($version: ID!, $step: LifecycleStep!, $notice: String) {
  advanceVersion(version: $version, step: $step, notice: $notice) {
    version { status } errors { __typename message
    ... on IncompatibleVersionError { changes } ... on NonCompliantError { findings } } } }
"""
REQUEST = """
mutation($input: RequestAccessInput!) { requestAccess(input: $input) {
  request { id status correlationId requestedBy } errors { __typename message } } }
"""
DECIDE = """
mutation($request: ID!, $approve: Boolean!) { decideAccess(request: $request, approve: $approve) {
  request { status decidedBy expiresAt } errors { __typename message } } }
"""


class Caller:
    """One user of the test, by role and domain scope."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http, self.token = http, token

    async def raw(self, query: str, **variables: Any) -> dict[str, Any]:
        r = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(self.token)
        )
        return r.json()

    async def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.raw(query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
async def mesh(
    served: Served, settings: Settings, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[dict[str, Any]]:
    db = settings.neo4j.database
    estate = Estate(unique)
    table = estate.table("orders", ("id", "email", "total"), row_count=10)
    estate.label(estate.column_urn("orders", "email"), "Email")  # category ``unique``
    await estate.write(neo4j, db)
    sales, mkt = f"{unique}-sales", f"{unique}-mkt"
    auth = settings.auth
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:

        def caller(who: str, role: str, domains: list[str] | None = None) -> Caller:
            return Caller(http, mint_token(auth, f"{unique}-{who}", [role], domains=domains))

        yield {
            "admin": caller("ada", "admin"),
            "admin2": caller("bob", "admin"),
            "owner": caller("olga", "domain_owner", [sales]),
            "second": caller("pat", "domain_owner", [sales]),
            "consumer": caller("carl", "steward", [mkt]),
            "name": unique, "sales": sales, "mkt": mkt, "table": table, "schema": estate.schema,
            "neo4j": neo4j, "settings": settings, "served": served, "api": served.url,
        }  # fmt: skip
    await served.app.state.datawave.audit.drain()
    opensearch = served.app.state.datawave.opensearch
    await opensearch.delete(index=INDEX, id=table, ignore=[404])
    mine = {"query": {"prefix": {"domain": unique}}, "size": 1000, "_source": False}
    found = await opensearch.search(index=PRODUCT_INDEX, body=mine, ignore=[404])
    for hit in found.get("hits", {}).get("hits", []):  # no _delete_by_query in this build
        await opensearch.delete(index=PRODUCT_INDEX, id=hit["_id"], ignore=[404])
    await write(neo4j, db, FORGET_PRODUCTS, name=unique)
    await write(neo4j, db, FORGET, name=unique, policy=f"urn:dw:policy:{unique}")
    await drop_sources(settings, neo4j, unique)


async def following(m: dict[str, Any], product: str, count: int = 1) -> None:
    """Wait until the session's API holds ``count`` ``productEvents`` subscribers of ``product``
    (gql subscribes at a stream's first read, so start reading it first): a step announced
    before reaches nobody."""
    hub, channel = m["served"].hub, product_channel(product)

    async def registered() -> bool:
        return hub.subscriber_count(channel) >= count

    await eventually(registered, timeout_s=10)


async def mesh_steps(settings: Settings, correlation: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` steps on datawave.mesh.v1 with this correlation id."""
    consumer = AIOKafkaConsumer(
        MESH,
        bootstrap_servers=settings.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while len(found) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for record in (r for rs in batch.values() for r in rs):
                    event = json.loads(record.value)
                    if event.get("correlationid") == correlation:
                        found.append(event)
    finally:
        await consumer.stop()
    return found


ASSIGN = """
mutation($domain: ID!, $assets: [ID!]!) { assignToDomain(domain: $domain, assets: $assets) {
  domain { assigned { totalCount } } tables errors { __typename message } } }
"""
VERSIONS = """
query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on DataProduct {
  versions(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { version status } } } } } }
"""
SEARCH_ASSETS = """
query($text: String!, $source: String) { search(text: $text, source: $source) {
  edges { node { asset { id } } } } }
"""


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of a connection's page, in order."""
    return [e["node"] for e in connection["edges"]]


async def versions_of(caller: Caller, product: str) -> list[dict[str, Any]]:
    """The product's versions (their version and status), oldest first: the first page."""
    return nodes((await caller(VERSIONS, id=product))["node"]["versions"])


async def published(m: dict[str, Any], odcs: str) -> dict[str, str]:
    """Domains sales and mkt, the schema in sales (indexed for search with its domain), a team
    of each (``analysts`` of mkt has the consumer as member), and product ``orders`` of sales
    exposing the table with version 1.0.0 of ``odcs`` published: their URNs."""
    ada, olga, name = m["admin"], m["owner"], m["name"]
    sales = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    mkt = (await ada(DOMAIN, input={"name": m["mkt"]}))["createDomain"]["domain"]["id"]
    assert (await ada(ASSIGN, domain=sales, assets=[m["schema"]]))["assignToDomain"]["tables"]

    async def indexed() -> bool:
        hits = (await olga(SEARCH_ASSETS, text="orders", source=name))["search"]["edges"]
        return [e["node"]["asset"]["id"] for e in hits] == [m["table"]]

    await eventually(indexed, timeout_s=60)  # the relay may be rebalancing
    team = (await olga(TEAM, input={"domain": sales, "name": f"{name}-orders"}))["saveTeam"]
    members = [f"{name}-carl"]
    analysts = await ada(
        TEAM, input={"domain": mkt, "name": f"{name}-analysts", "members": members}
    )
    spec = {"domain": sales, "name": "orders", "ownerTeam": team["team"]["id"],
            "description": "Every order, as sold",
            "outputPorts": [{"name": "orders", "asset": m["table"]}]}  # fmt: skip
    product = (await olga(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
    v1 = (await olga(IMPORT, product=product, version="1.0.0", odcs=odcs))["importContract"]
    version = v1["version"]["id"]
    done = (await olga(ADVANCE, version=version, step="PUBLISH"))["advanceVersion"]
    assert done["errors"] == [], done
    return {"sales": sales, "mkt": mkt, "product": product, "version": version,
            "analysts": analysts["saveTeam"]["team"]["id"]}  # fmt: skip
