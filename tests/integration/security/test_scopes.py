"""Cross-domain escalation attempts against the running API.

The estate: ``orders`` and ``customers`` are exposed by a sales product, ``invoices`` by a
finance one, and so is the ``customers.ssn`` column (the nearest exposure wins); ``loose`` is
in no domain. ``orders`` feeds ``invoices``. What a principal may not reach must look exactly
like what does not exist, and each refusal of an existing thing is audited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import Settings
from core.urns import product_urn
from graph.driver import read, write
from live.changes import (
    CatalogChange,
    ChangeType,
    ComplianceUpdate,
    catalog_change,
    publish_catalog_change,
    publish_compliance_update,
)
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import ws_client
from tests.integration.security.conftest import Api

ASSET = "query ($urn: ID!) { asset(urn: $urn) { name } }"
NAMES = """
query ($source: String!, $kind: AssetKind) {
  assets(filter: {source: $source, kind: $kind}, first: 100) {
    totalCount edges { node { name } }
  }
}
"""
DESCRIBE = """
mutation ($urn: ID!) {
  describeAsset(input: {urn: $urn, description: "pwned"}) {
    asset { name } errors { __typename message ... on NotFoundError { urn } }
  }
}
"""


@dataclass(frozen=True)
class Mesh:
    estate: Estate
    sales: str
    finance: str

    def urn(self, table: str) -> str:
        return self.estate.table_urn(table)


@pytest.fixture
async def mesh(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Mesh:
    orders = estate.table("orders", ("id", "total"))
    customers = estate.table("customers", ("id", "name", "ssn"))
    invoices = estate.table("invoices", ("id", "iban"))
    estate.table("loose")
    estate.feeds(orders, invoices)
    sales = estate.product("sales", orders, customers)
    finance = estate.product("finance", invoices, estate.column_urn("customers", "ssn"))
    await estate.write(neo4j, settings.neo4j.database)
    return Mesh(estate, sales, finance)


async def names(api: Api, token: str, mesh: Mesh, kind: str = "TABLE") -> list[str]:
    body = await api.graphql(token, NAMES, source=mesh.estate.name, kind=kind)
    page = body["data"]["assets"]
    assert page["totalCount"] == len(page["edges"]), "counts agree with what is listed"
    return sorted(e["node"]["name"] for e in page["edges"])


async def test_each_principal_lists_only_its_domains(api: Api, mesh: Mesh) -> None:
    sales = api.token("steward", subject="sales", domains=[mesh.sales])
    finance = api.token("viewer", subject="finance", domains=[mesh.finance])
    everyone = api.token("viewer", subject="all")
    assert await names(api, sales, mesh) == ["customers", "orders"]
    assert await names(api, finance, mesh) == ["invoices"]
    assert await names(api, everyone, mesh) == ["customers", "invoices", "loose", "orders"]
    both = api.token("viewer", subject="both", domains=[mesh.sales, mesh.finance])
    assert await names(api, both, mesh) == ["customers", "invoices", "orders"], "loose: none"
    columns = "query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { name } } } }"
    body = await api.graphql(sales, columns, urn=mesh.urn("customers"))
    assert body["data"]["asset"]["columns"] == [{"name": "id"}, {"name": "name"}]
    assert await names(api, finance, mesh, "COLUMN") == ["iban", "id", "ssn"]
    assert await names(api, sales, mesh, "COLUMN") == ["id", "id", "name", "total"], "not ssn"


async def test_out_of_scope_reads_like_missing(api: Api, mesh: Mesh) -> None:
    sales = api.token("steward", domains=[mesh.sales])
    hidden, missing = mesh.urn("invoices"), mesh.urn("no-such-table")
    for query in (
        ASSET,
        "query ($urn: ID!) { node(id: $urn) { id } }",
        "query ($urn: ID!) { lineage(urn: $urn) { truncated } }",
        "query ($urn: ID!) { impact(urn: $urn) { urn } }",
        "query ($urn: ID!) { schemaDiff(urn: $urn, fromVersion: 1, toVersion: 2) { urn } }",
    ):
        seen = await api.graphql(sales, query, urn=hidden)
        absent = await api.graphql(sales, query, urn=missing)
        assert str(seen).replace(hidden, "?") == str(absent).replace(missing, "?"), query
        assert list(seen["data"].values()) == [None]
    denials = await api.events(actor=f"{api.name}-steward")
    assert {(e["action"], e["resource"], e["outcome"]) for e in denials} == {
        ("asset:read", hidden, "denied")
    }


async def test_a_steward_of_sales_cannot_change_finance(
    api: Api, mesh: Mesh, neo4j: AsyncDriver, settings: Settings
) -> None:
    sales = api.token("steward", domains=[mesh.sales])
    hidden, missing = mesh.urn("invoices"), mesh.urn("no-such-table")
    refused = (await api.graphql(sales, DESCRIBE, urn=hidden))["data"]["describeAsset"]
    absent = (await api.graphql(sales, DESCRIBE, urn=missing))["data"]["describeAsset"]
    assert refused == {
        "asset": None,
        "errors": [{"__typename": "NotFoundError", "message": f"no asset {hidden}", "urn": hidden}],
    }
    assert str(refused).replace(hidden, "?") == str(absent).replace(missing, "?")
    rows = await read(
        neo4j,
        settings.neo4j.database,
        "MATCH (t:Asset {urn: $urn}) RETURN t.curatedDescription AS d",
        urn=hidden,
    )
    assert rows == [{"d": None}], "nothing changed"
    trail = [
        (e["action"], e["outcome"])
        for e in await api.events(actor=f"{api.name}-steward")
        if e["resource"] == hidden
    ]
    assert sorted(trail) == [
        ("asset:write", "denied"),
        ("describeAsset", "allowed"),
        ("describeAsset", "failed"),
    ]
    lineage = """
    mutation ($up: ID!, $down: ID!) {
      addLineage(input: {upstream: $up, downstream: $down}) { edge { kind } errors { message } }
    }
    """
    added = await api.graphql(sales, lineage, up=mesh.urn("orders"), down=hidden)
    assert added["data"]["addLineage"] == {
        "edge": None,
        "errors": [{"message": f"no asset {hidden}"}],
    }


async def test_a_sales_steward_may_change_sales(api: Api, mesh: Mesh) -> None:
    sales = api.token("steward", domains=[mesh.sales])
    done = (await api.graphql(sales, DESCRIBE, urn=mesh.urn("orders")))["data"]["describeAsset"]
    assert done == {"asset": {"name": "orders"}, "errors": []}
    trail = [
        (e["action"], e["outcome"], e["requestId"] != "")
        for e in await api.events(actor=f"{api.name}-steward")
    ]
    assert sorted(trail) == [
        ("describeAsset", "allowed", True),
        ("describeAsset", "succeeded", True),
    ]


async def test_a_viewer_cannot_write_anything(api: Api, mesh: Mesh) -> None:
    viewer = api.token("viewer", domains=[mesh.sales])
    body = await api.graphql(viewer, DESCRIBE, urn=mesh.urn("orders"))
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert "needs the asset:write permission" in error["message"]
    trail = [(e["action"], e["outcome"]) for e in await api.events(actor=f"{api.name}-viewer")]
    assert trail == [("Mutation.describeAsset", "denied")], "refused before any attempt"


async def test_lineage_stops_at_the_domain_border(api: Api, mesh: Mesh) -> None:
    query = """
    query ($urn: ID!) {
      lineage(urn: $urn, direction: DOWNSTREAM, depth: 2) { nodes { name } edges { to } }
      asset(urn: $urn) { ... on Table { downstream { edges { node { name } } } } }
    }
    """
    sales = api.token("steward", domains=[mesh.sales])
    seen = (await api.graphql(sales, query, urn=mesh.urn("orders")))["data"]
    assert seen["lineage"] == {"nodes": [{"name": "orders"}], "edges": []}
    assert seen["asset"]["downstream"] == {"edges": []}
    everyone = (await api.graphql(api.token("viewer"), query, urn=mesh.urn("orders")))["data"]
    assert everyone["lineage"]["edges"] == [{"to": mesh.urn("invoices")}]


async def test_admin_is_not_held_by_scopes_but_unassigned_needs_all(api: Api, mesh: Mesh) -> None:
    admin = api.token("admin", domains=[mesh.sales], sources=["elsewhere"])
    assert await names(api, admin, mesh) == ["customers", "invoices", "loose", "orders"]
    sales = api.token("steward", domains=[mesh.sales])
    assert (await api.graphql(sales, ASSET, urn=mesh.urn("loose")))["data"]["asset"] is None


async def test_source_scopes(api: Api, mesh: Mesh) -> None:
    other = api.token("steward", sources=["elsewhere"])
    assert await names(api, other, mesh) == []
    query = "{ dataSources { edges { node { name } } } }"
    listed = (await api.graphql(other, query))["data"]["dataSources"]["edges"]
    assert mesh.estate.name not in {s["node"]["name"] for s in listed}
    register = """
    mutation ($name: String!) {
      registerDataSource(input: {name: $name, kind: "postgresql", port: 5432}) {
        errors { message }
      }
    }
    """
    body = await api.graphql(other, register, name=mesh.estate.name)
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    scan = "mutation ($s: String!) { startScan(source: $s) { scanId errors { __typename } } }"
    body = await api.graphql(other, scan, s=mesh.estate.name)
    assert body["data"]["startScan"] == {
        "scanId": None,
        "errors": [{"__typename": "NotFoundError"}],
    }


AUDIT = "{ auditEvents(first: 5) { edges { node { actor action outcome } } } }"


@pytest.mark.parametrize(
    ("role", "scopes", "allowed"),
    [
        ("auditor", {}, True),
        ("auditor", {"domains": ["sales"]}, False),
        ("auditor", {"sources": ["pg"]}, False),
        ("steward", {"permissions": ["pii:read"]}, False),
        ("admin", {"domains": ["sales"]}, True),
    ],
    ids=["auditor", "domain-auditor", "source-auditor", "steward", "admin"],
)
async def test_the_audit_trail_needs_an_unscoped_auditor(
    api: Api, role: str, scopes: dict[str, Any], allowed: bool
) -> None:
    body = await api.graphql(api.token(role, **scopes), AUDIT)
    if allowed:
        assert len(body["data"]["auditEvents"]["edges"]) <= 5
    else:
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def test_claims_cannot_grant_what_roles_do_not(api: Api) -> None:
    """Only ``pii:read`` may be granted by the permissions claim; roles are not invented."""
    forged = api.token("steward", permissions=["audit:read", "system:admin"])
    assert (await api.graphql(forged, AUDIT))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    nobody = api.token("superuser")
    body = await api.graphql(nobody, ASSET, urn="urn:dw:table:x/y/z/t")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


COMPLIANCE = "subscription ($d: String!) { complianceUpdates(domain: $d) { status urn } }"
FINDING = "MERGE (f:Finding {urn: $urn}) SET f.source = $source, f.domains = $domains"


async def subscribe_once(api: Api, token: str, domain: str) -> dict[str, Any]:
    """The first compliance update of ``domain`` that ``token`` receives within 10 s."""
    request = GraphQLRequest(COMPLIANCE, variable_values={"d": domain})
    async with asyncio.timeout(10), ws_client(api.url, token) as session:
        async for event in session.subscribe(request):
            return event["complianceUpdates"]
    raise AssertionError("the subscription ended")


async def test_subscriptions_see_only_their_domain(
    api: Api, mesh: Mesh, settings: Settings
) -> None:
    steward = api.token("steward", domains=[mesh.sales])
    with pytest.raises(
        TransportQueryError, match="forbidden: this needs the compliance:read permission"
    ):
        await subscribe_once(api, steward, mesh.finance)
    sales = api.token("viewer", domains=[mesh.sales])
    changed = [catalog_change(ChangeType.CHANGED, mesh.urn(t)) for t in ("invoices", "orders")]
    assert await heard(api, settings, sales, *changed) == {mesh.urn("orders")}


async def heard(api: Api, settings: Settings, token: str, *changes: CatalogChange) -> set[str]:
    """Which of ``changes`` a ``catalogChanges`` subscriber with ``token`` hears, published
    in order until it hears the last (10 s at most)."""
    query = "subscription ($urns: [ID!]) { catalogChanges(filter: {urns: $urns}) { urn } }"
    urns = [c.urn for c in changes]
    received: list[str] = []

    async def listen() -> None:
        async with ws_client(api.url, token) as session:
            request = GraphQLRequest(query, variable_values={"urns": urns})
            async for event in session.subscribe(request):
                received.append(event["catalogChanges"]["urn"])

    task = asyncio.create_task(listen())
    redis = Redis.from_url(settings.redis_url)
    try:
        async with asyncio.timeout(10):
            while urns[-1] not in received:  # resent until the subscription is live
                await publish_catalog_change(redis, *changes)
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await redis.aclose()
    return set(received)


REMOVE = "MATCH (t:Table {urn: $urn}) SET t.removedAt = datetime()"


@pytest.mark.parametrize(
    ("role", "domains", "sources", "hears"),
    [
        ("admin", "sales", "theirs", "orders invoices loose customers gone elsewhere"),
        ("viewer", "", "", "orders invoices loose customers gone elsewhere"),
        ("steward", "", "ours", "orders invoices loose customers gone"),
        ("steward", "", "theirs", "elsewhere"),
        ("steward", "sales", "", "orders customers"),
        ("steward", "sales", "theirs", ""),
    ],
    ids=["admin", "everywhere", "by-source", "other-source", "by-domain", "domain-other-source"],
)
async def test_catalog_changes_reach_whom_their_assets_do(
    api: Api,
    mesh: Mesh,
    neo4j: AsyncDriver,
    settings: Settings,
    role: str,
    domains: str,
    sources: str,
    hears: str,
) -> None:
    """A steward hears of no asset outside its domains and sources, an admin of all. One
    that can no longer be read (``gone``, ``elsewhere``: not in the graph) is heard of by whom
    may read every asset of its source, news of nothing hidden from them, and by no steward of
    some domains: nothing says it was theirs. ``customers`` was removed, but its product still
    places it in sales. The last, a change of the sales product, is heard by anyone."""
    await write(neo4j, settings.neo4j.database, REMOVE, urn=mesh.urn("customers"))
    names = {"sales": mesh.sales, "ours": mesh.estate.name, "theirs": f"{mesh.estate.name}x"}
    scopes = {k: [names[v]] for k, v in (("domains", domains), ("sources", sources)) if v}
    urns = {t: mesh.urn(t) for t in ("orders", "invoices", "loose", "customers", "gone")}
    urns["elsewhere"] = urns["gone"].replace(names["ours"], names["theirs"])
    product = product_urn(mesh.estate.name, "sales")  # as Estate.product names it
    changes = [
        *(catalog_change(ChangeType.CHANGED, urns[t]) for t in ("orders", "invoices", "loose")),
        *(catalog_change(ChangeType.REMOVED, urns[t]) for t in ("customers", "gone", "elsewhere")),
        catalog_change(ChangeType.CHANGED, product),
    ]
    received = await heard(api, settings, api.token(role, **scopes), *changes)
    assert received == {urns[t] for t in hears.split()} | {product}


async def test_compliance_updates_need_compliance_read(
    api: Api, mesh: Mesh, settings: Settings, neo4j: AsyncDriver
) -> None:
    """Findings and scores go live only to whom the ``findings`` query shows them: a viewer of
    sales is refused even its own domain's; a steward of sales (compliance:read) receives them."""
    viewer = api.token("viewer", domains=[mesh.sales])
    with pytest.raises(
        TransportQueryError, match="forbidden: this needs the compliance:read permission"
    ):
        await subscribe_once(api, viewer, mesh.sales)
    # The estate's channel ("*": every source's findings) is for callers without restriction,
    # as complianceReport without a domain: one limited by source only was let in.
    by_source = api.token("steward", sources=[mesh.estate.name])
    with pytest.raises(TransportQueryError, match="your scope does not cover the whole estate"):
        await subscribe_once(api, by_source, "*")
    finding = await open_finding(neo4j, settings, api, mesh)
    steward = api.token("steward", domains=[mesh.sales])
    heard = await first_heard(api, settings, steward, mesh.sales, finding)
    assert heard == {"status": "open", "urn": finding.urn}


async def test_compliance_updates_hold_findings_to_the_callers_sources(
    api: Api, mesh: Mesh, settings: Settings, neo4j: AsyncDriver
) -> None:
    """A steward of sales limited to another data source heard this source's findings in
    sales, which the ``findings`` query does not show it (nor the finding by ``node``)."""
    finding = await open_finding(neo4j, settings, api, mesh)
    elsewhere = api.token("steward", domains=[mesh.sales], sources=[f"{mesh.estate.name}-x"])
    score = ComplianceUpdate(domain=mesh.sales, framework="gdpr", status="at_risk", score=0.5)
    heard = await first_heard(api, settings, elsewhere, mesh.sales, finding, score)
    assert heard == {"status": "at_risk", "urn": None}


async def open_finding(
    neo4j: AsyncDriver, settings: Settings, api: Api, mesh: Mesh
) -> ComplianceUpdate:
    """An open finding of the estate's source in sales, in the graph and as announced."""
    urn = f"urn:dw:finding:{api.name}"
    domains = [mesh.sales]
    await write(neo4j, settings.neo4j.database, FINDING, urn=urn, source=mesh.estate.name,
                domains=domains)  # fmt: skip
    return ComplianceUpdate(domain=mesh.sales, framework="gdpr", status="open", urn=urn,
                            message="no owner")  # fmt: skip


async def first_heard(
    api: Api, settings: Settings, token: str, domain: str, *updates: ComplianceUpdate
) -> dict[str, Any]:
    """The first of ``updates`` a subscriber of ``domain`` with ``token`` hears, published
    until the subscription is live (10 s at most)."""
    listener = asyncio.create_task(subscribe_once(api, token, domain))
    redis = Redis.from_url(settings.redis_url)
    try:
        async with asyncio.timeout(10):
            while not listener.done():
                await publish_compliance_update(redis, *updates)
                await asyncio.sleep(0.1)
    finally:
        listener.cancel()  # when it did not hear within 10 s
        await redis.aclose()
    return listener.result()
