"""The demo mesh ``datawave up --demo`` loads over the scanned acme estate, through GraphQL.

Three domains own the demo databases: ``sales`` (the MariaDB shop), ``finance`` (billing) and
``marketing`` (the analytics ``raw`` schema). Each has a team and a data product with an ODCS
contract; once the domains exist, the mesh policy ``mesh-baseline`` (the ``mesh_*`` rule
templates with their defaults, scoped to these domains) is written by one admin and approved by
another, so every step after passes it. ``sales/orders`` has 1.0.0 published and a breaking
2.0.0 draft, with a pending access request of marketing's team; ``finance/invoices`` 1.0.0 is
quarantined by its quality gate (it promises more rows than billing has);
``marketing/web-sessions`` 1.0.0 is published, its contract drifted from the scanned table, and
sales's team holds a grant on it.

The steps run against the API in this process (its lifespan, no server) as the demo users, so
they are audited, announced and checked exactly as a user's would be. A stack that has the demo
mesh already is left alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from app.main import create_app
from core.settings import Settings
from security.auth import mint_token

DOMAINS = ("sales", "finance", "marketing")
# The ``mesh_*`` templates (governance/templates.py), with their default parameters.
TEMPLATES = {
    "workspace": "mesh_product_workspace",
    "contract": "mesh_contract_owner_sla",
    "pii": "mesh_contract_pii_purpose",
    "access": "mesh_access_request",
}
SHOP = "acme-mariadb/shop/shop"
BILLING = "acme-postgres/billing/public"
RAW = "acme-postgres/analytics/raw"


@dataclass(frozen=True)
class Layout:
    """Where the demo mesh sits: what each domain holds, which table each product exposes, and
    a prefix for the names of domains, teams, people and the policy (tests set one)."""

    prefix: str = ""
    holdings: dict[str, str] = field(default_factory=lambda: {
        "sales": "urn:dw:database:acme-mariadb/shop", "finance": f"urn:dw:schema:{BILLING}",
        "marketing": f"urn:dw:schema:{RAW}",
    })  # fmt: skip
    tables: dict[str, str] = field(default_factory=lambda: {
        "orders": f"urn:dw:table:{SHOP}/orders", "invoices": f"urn:dw:table:{BILLING}/invoices",
        "web-sessions": f"urn:dw:table:{RAW}/sessions",
    })  # fmt: skip


Call = Callable[..., Awaitable[dict[str, Any]]]

EXISTS = "query($id: ID!) { node(id: $id) { id } }"
DOMAIN = """mutation($input: CreateDomainInput!) { createDomain(input: $input) {
  domain { id } errors { message } } }"""
ASSIGN = """mutation($domain: ID!, $assets: [ID!]!) { assignToDomain(domain: $domain,
  assets: $assets) { errors { message } } }"""
TEAM = """mutation($input: SaveTeamInput!) { saveTeam(input: $input) {
  team { id } errors { message } } }"""
POLICY_CREATE = """mutation($input: CreatePolicyInput!) { createPolicy(input: $input) {
  errors { message } } }"""
RULE = """mutation($policy: ID!, $rule: RuleInput!) { addRule(policy: $policy, rule: $rule) {
  errors { message } } }"""
SUBMIT = "mutation($p: ID!) { submitPolicyVersion(policy: $p) { errors { message } } }"
APPROVE = """mutation($p: ID!) { approvePolicyVersion(policy: $p, version: 1) {
  errors { message } } }"""
ACTIVATE = """mutation($p: ID!) { activatePolicyVersion(policy: $p, version: 1) {
  errors { message } } }"""
PRODUCT = """mutation($input: CreateDataProductInput!) { createDataProduct(input: $input) {
  product { id } errors { message } } }"""
IMPORT = """mutation($product: ID!, $version: String!, $odcs: String!) {
  importContract(product: $product, version: $version, odcs: $odcs) {
    version { id } errors { message } } }"""
ADVANCE = """mutation($version: ID!) { advanceVersion(version: $version, step: PUBLISH) {
  errors { message } } }"""
GATE = """mutation($version: ID!) { evaluateQualityGate(version: $version) {
  version { quarantined } errors { message } } }"""
REQUEST = """mutation($input: RequestAccessInput!) { requestAccess(input: $input) {
  request { id } errors { message } } }"""
DECIDE = """mutation($request: ID!) { decideAccess(request: $request, approve: true,
  reason: "demo") { errors { message } } }"""


def contract(
    name: str, table: str, columns: dict[str, str], purpose: str, *,
    quality: list[dict[str, Any]] | None = None,
) -> str:  # fmt: skip
    """An ODCS v3 document: one table of ``columns`` (name -> logical type), a freshness SLA."""
    properties = [{"name": c, "logicalType": t} for c, t in columns.items()]
    schema = {"name": table, "physicalType": "table", "properties": properties}
    doc = {
        "apiVersion": "v3.0.2", "kind": "DataContract", "id": f"{name}-contract",
        "version": "1.0.0", "status": "active", "description": {"purpose": purpose},
        "schema": [{**schema, **({"quality": quality} if quality else {})}],
        "slaProperties": [{"property": "freshness", "value": 1, "unit": "d"}],
    }  # fmt: skip
    return yaml.safe_dump(doc, sort_keys=False)


ORDERS = {"id": "integer", "order_ref": "string", "status": "string", "total": "number",
          "currency": "string", "ordered_at": "timestamp"}  # fmt: skip
INVOICES = {"id": "integer", "invoice_number": "string", "total": "number", "due_on": "date"}
# user_agent is a text column: the contract drifted.
SESSIONS = {"id": "integer", "user_id": "integer", "started_at": "timestamp",
            "user_agent": "integer"}  # fmt: skip


# The demo's people: an owner (or two) of each domain, and a marketing analyst.
USERS = {
    "sam": ("domain_owner", "sales"), "sara": ("domain_owner", "sales"),
    "fiona": ("domain_owner", "finance"), "mark": ("domain_owner", "marketing"),
    "maya": ("steward", "marketing"),
}  # fmt: skip


def _caller(
    http: httpx.AsyncClient, settings: Settings, subject: str, role: str, domain: str | None
) -> Call:
    token = mint_token(settings.auth, subject, [role], domains=[domain] if domain else None)
    headers = {"authorization": f"Bearer {token}"}

    async def call(query: str, **variables: Any) -> dict[str, Any]:
        r = await http.post("/graphql", json={"query": query, "variables": variables},
                            headers=headers)  # fmt: skip
        body = r.json()
        if "errors" in body:
            raise RuntimeError(f"demo mesh: {body['errors'][0]['message']}")
        data = next(iter(body["data"].values()))
        if data and data.get("errors"):
            raise RuntimeError(f"demo mesh: {data['errors'][0]['message']}")
        return data

    return call


async def load_demo_mesh(settings: Settings, layout: Layout = Layout()) -> bool:
    """Build the demo mesh; False if it is there already."""
    app = create_app(settings)
    pre = layout.prefix
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:

            def user(who: str) -> Call:
                role, domain = USERS.get(who, ("admin", None))
                return _caller(http, settings, pre + who, role, domain and pre + domain)

            if (await user("admin")(EXISTS, id=f"urn:dw:domain:{pre}sales")) is not None:
                return False
            teams = await _domains(layout, user)  # first: the policy's rules name them
            await _policy(pre, user("admin"), user("approver"))
            await _mesh(layout, user, teams)
    return True


async def _policy(pre: str, author: Call, approver: Call) -> None:
    """``mesh-baseline``: each mesh template, scoped to each demo domain; four eyes."""
    policy = f"urn:dw:policy:{pre}mesh-baseline"
    await author(POLICY_CREATE, input={"name": f"{pre}mesh-baseline",
                                       "description": "The data mesh's default rules"})  # fmt: skip
    for domain in DOMAINS:
        for rule, template in TEMPLATES.items():
            spec = {"id": f"{rule}-{domain}", "template": template, "severity": "HIGH",
                    "scope": "DOMAIN", "scopeValue": pre + domain}  # fmt: skip
            await author(RULE, policy=policy, rule=spec)
    await author(SUBMIT, p=policy)
    await approver(APPROVE, p=policy)
    await approver(ACTIVATE, p=policy)


OWNERS = {"sales": ["sam", "sara"], "finance": ["fiona"], "marketing": ["mark", "maya"]}


async def _domains(layout: Layout, user: Callable[[str], Call]) -> dict[str, str]:
    """The demo domains with their holdings and owners; each domain's team by domain."""
    pre, teams = layout.prefix, {}
    for domain in DOMAINS:
        people = [pre + who for who in OWNERS[domain]]
        made = await user("admin")(DOMAIN, input={"name": pre + domain, "owners": people})
        urn = made["domain"]["id"]
        await user("admin")(ASSIGN, domain=urn, assets=[layout.holdings[domain]])
        team = {"domain": urn, "name": f"{pre}{domain}-team", "members": people}
        teams[domain] = (await user("admin")(TEAM, input=team))["team"]["id"]
    return teams


async def _mesh(layout: Layout, user: Callable[[str], Call], teams: dict[str, str]) -> None:
    pre = layout.prefix

    async def product(domain: str, name: str, description: str) -> str:
        spec = {"domain": f"urn:dw:domain:{pre}{domain}", "name": name,
                "ownerTeam": teams[domain], "description": description, "tags": ["demo"],
                "sla": {"freshness": "1d", "availability": 99.5,
                        "supportContact": f"#{domain}-data"},
                "outputPorts": [{"name": name, "asset": layout.tables[name]}]}  # fmt: skip
        return (await user(OWNERS[domain][0])(PRODUCT, input=spec))["product"]["id"]

    async def version(domain: str, product: str, number: str, odcs: str) -> str:
        owner = user(OWNERS[domain][0])
        return (await owner(IMPORT, product=product, version=number, odcs=odcs))["version"]["id"]

    # sales/orders: 1.0.0 published, 2.0.0 (no currency: breaking) a draft; marketing asks.
    orders = await product("sales", "orders", "Every order placed in the shop")
    purpose = "Orders as sold, for revenue reporting and forecasting"
    v1 = await version("sales", orders, "1.0.0", contract("orders", "orders", ORDERS, purpose))
    await user("sam")(ADVANCE, version=v1)
    slim = {k: v for k, v in ORDERS.items() if k != "currency"}
    await version("sales", orders, "2.0.0", contract("orders", "orders", slim, purpose))
    ask = {"version": v1, "team": teams["marketing"], "days": 60,
           "purpose": "Attribute orders to campaigns for the quarterly review"}  # fmt: skip
    await user("maya")(REQUEST, input=ask)  # pending: a sales owner decides

    # finance/invoices: the gate wants more rows than billing has, so 1.0.0 is quarantined
    # (and a remediation is open); a SQL rule runs on billing itself, read-only and bounded.
    invoices = await product("finance", "invoices", "Issued invoices")
    rows = [
        {"metric": "rowCount", "mustBeGreaterThan": 1000},
        {"type": "sql", "name": "no-negative-totals", "mustBe": 0,
         "query": "SELECT COUNT(*) FROM ${object} WHERE total < 0"},
    ]  # fmt: skip
    odcs = contract("invoices", "invoices", INVOICES, "Invoices for the monthly close",
                    quality=rows)  # fmt: skip
    await user("fiona")(GATE, version=await version("finance", invoices, "1.0.0", odcs))

    # marketing/web-sessions: published, drifted, and sales's team holds a grant on it.
    sessions = await product("marketing", "web-sessions", "Site sessions")
    odcs = contract("web-sessions", "sessions", SESSIONS, "Sessions for funnel analysis")
    v = await version("marketing", sessions, "1.0.0", odcs)
    await user("mark")(ADVANCE, version=v)
    grant = {"version": v, "team": teams["sales"], "days": 30,
             "purpose": "Sessions before an order, for the checkout study"}  # fmt: skip
    request = (await user("sam")(REQUEST, input=grant))["request"]["id"]
    await user("mark")(DECIDE, request=request)
