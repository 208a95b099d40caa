"""The governance workflow as the tests drive it through GraphQL: admins, a governed estate
(the ``world`` fixture), the documents they send, and the steps most tests repeat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import write
from security.auth import mint_token
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, bearer

# The world's findings, and those its rules (named ``<name>/...``) raised on other sources'
# assets (the demo estate's, if it shares the graph) while its policies were in force.
FORGET = """
CALL () {
  MATCH (f:Finding) WHERE f.source = $name OR f.rule STARTS WITH $name + '/'
  OPTIONAL MATCH (w:Waiver)-[:WAIVES]->(f)
  DETACH DELETE w, f
}
CALL () { MATCH (n:Policy|PolicyVersion|Rule) WHERE coalesce(n.urn, n.key) STARTS WITH $policy
          DETACH DELETE n }
CALL () { MATCH (s:ComplianceScore) WHERE s.domain STARTS WITH $name DELETE s }
CALL () { MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name DELETE e }
"""
CREATE = """
mutation($input: CreatePolicyInput!) { createPolicy(input: $input) {
  policy { id name } version { version state authors }
  errors { __typename message ... on InvalidInputError { field } } } }
"""
ADD_RULE = """
mutation($policy: ID!, $rule: RuleInput!) { addRule(policy: $policy, rule: $rule) {
  version { version state rules { id template params severity controls } }
  errors { __typename message ... on ParameterError { template parameter } } } }
"""
UPDATE = """
mutation($policy: ID!, $rego: String, $tests: JSON) {
  updatePolicyVersion(policy: $policy, customRego: $rego, tests: $tests) {
    version { version customRego tests } errors { __typename message } } }
"""
TEST = """
mutation($policy: ID!) { testPolicyVersion(policy: $policy) {
  run { passed summary cases { name passed expected actual } }
  errors { __typename message ... on RegoError { line column } } } }
"""
SUBMIT = """
mutation($policy: ID!) { submitPolicyVersion(policy: $policy) {
  version { version state submittedBy }
  errors { __typename message ... on RegoError { line }
           ... on PolicyTestFailedError { run { cases { name passed } } } } } }
"""
APPROVE = """
mutation($policy: ID!, $version: Int!) { approvePolicyVersion(policy: $policy, version: $version) {
  version { state approvedBy } errors { __typename message } } }
"""
ACTIVATE = """
mutation($policy: ID!, $version: Int!) { activatePolicyVersion(policy: $policy, version: $version) {
  version { state activatedBy } ruleSetVersion
  evaluation { ruleSetVersion opened scores { framework domain status } }
  errors { __typename message } } }
"""
EVALUATE = """
mutation($source: String) { evaluateCompliance(source: $source) {
  evaluation { ruleSetVersion assets opened resolved escalated
               scores { framework domain status score passed failed } }
  errors { __typename message } } }
"""
FINDINGS = """
query($filter: FindingFilter) { findings(filter: $filter, first: 20) {
  totalCount edges { node { id asset control framework rule ruleSetVersion status severity
                            message evidence domains escalatedAt } } } }
"""
WAIVE = """
mutation($finding: ID!) { requestWaiver(finding: $finding, reason: "migrating owners", days: 7) {
  waiver { id status requestedBy } errors { __typename message } } }
"""
APPROVE_WAIVER = """
mutation($waiver: ID!) { approveWaiver(waiver: $waiver) {
  waiver { status approvedBy } errors { __typename message } } }
"""
REPORT = """
query($domain: String) { complianceReport(framework: "gdpr", domain: $domain) {
  framework domain status score ruleSetVersions
  controls { control { id citation } passed openFindings
             findings { totalCount edges { node { asset status } } } }
  json: export(format: JSON) csv: export(format: CSV) } }
"""
UPDATES = """
subscription($domain: String!) { complianceUpdates(domain: $domain) {
  domain framework status score urn message ruleSetVersion } }
"""
RULE = {"id": "owner", "template": "pii_has_owner", "severity": "HIGH"}
# A steward takes back a machine label (its finding resolves), then withdraws that (it returns).
REJECT = """
mutation($column: ID!, $label: String!) {
  decideLabel(input: {column: $column, label: $label, decision: REJECTED,
                      note: "an alias of the team, nobody's address"}) { errors { message } } }
"""
WITHDRAW = """
mutation($column: ID!, $label: String!) {
  withdrawLabelDecision(input: {column: $column, label: $label}) { errors { message } } }
"""


def case(name: str, category: str, owners: list[str], violations: list[dict[str, str]]) -> dict:
    label = {"name": f"{category}.Email", "category": category, "sensitivity": "confidential",
             "status": "confirmed"}  # fmt: skip
    asset = {"urn": "urn:c", "source": "s", "domains": [], "owners": owners, "tags": [],
             "labels": [label]}  # fmt: skip
    return {"name": name, "assets": [asset], "violations": violations}


class Admin:
    """A GraphQL client for one admin of the test (subject ``<name>-<who>``)."""

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
async def world(
    served: Served, settings: Settings, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[dict[str, Any]]:
    """Two admins, and a table of ``unique`` in domain ``<unique>-sales`` whose email column is
    confirmed PII (category ``<unique>``) without owner, and whose id column is owned."""
    db = settings.neo4j.database
    estate = Estate(unique)
    table = estate.table("people", ("id", "email"))
    estate.label(estate.column_urn("people", "email"), "Email")
    domain = estate.product("sales", table)
    await estate.write(neo4j, db)
    policy = f"urn:dw:policy:{unique}"
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:

        def admin(who: str) -> Admin:
            return Admin(http, mint_token(settings.auth, f"{unique}-{who}", ["admin"]))

        yield {"ada": admin("ada"), "bob": admin("bob"), "name": unique, "policy": policy,
               "domain": domain, "email": estate.column_urn("people", "email"),
               "token": mint_token(settings.auth, f"{unique}-eve", ["admin"]),
               "url": served.url, "served": served}  # fmt: skip
    await served.app.state.datawave.audit.drain()
    await write(neo4j, db, FORGET, name=unique, policy=policy)
    await drop_sources(settings, neo4j, unique)


async def draft(w: dict[str, Any]) -> None:
    ada, name = w["ada"], w["name"]
    created = await ada(CREATE, input={"name": name, "description": "PII has owners"})
    assert created["createPolicy"]["errors"] == []
    assert created["createPolicy"]["version"] == {"version": 1, "state": "DRAFT",
                                                  "authors": [f"{name}-ada"]}  # fmt: skip
    added = await ada(ADD_RULE, policy=w["policy"], rule={**RULE, "params": {"categories": [name]}})
    rules = added["addRule"]["version"]["rules"]
    assert rules[0]["params"] == {"categories": [name], "inherited": True}
    assert "urn:dw:control:gdpr/art-30" in rules[0]["controls"]
    tests = [
        case("no owner", name, [], [{"rule": "owner", "asset": "urn:c"}]),
        case("owned", name, ["crm"], []),
    ]
    updated = await ada(UPDATE, policy=w["policy"], tests=tests)
    assert updated["updatePolicyVersion"]["errors"] == []


async def release(w: dict[str, Any], version: int) -> dict[str, Any]:
    """Submit (by ada), approve and activate (by bob) the policy's latest version."""
    submitted = (await w["ada"](SUBMIT, policy=w["policy"]))["submitPolicyVersion"]
    assert submitted["errors"] == [], submitted
    approved = await w["bob"](APPROVE, policy=w["policy"], version=version)
    assert approved["approvePolicyVersion"]["errors"] == []
    activated = await w["bob"](ACTIVATE, policy=w["policy"], version=version)
    return activated["activatePolicyVersion"]


def findings_of(control: dict[str, Any]) -> list[dict[str, Any]]:
    """A report's control's findings: the first page."""
    return [e["node"] for e in control["findings"]["edges"]]


async def owner_finding(w: dict[str, Any]) -> dict[str, Any]:
    """The world's GDPR finding of its owner rule on the email column."""
    found = await w["ada"](FINDINGS, filter={"asset": w["email"], "framework": "gdpr"})
    rule = f"{w['name']}/owner"
    return next(e["node"] for e in found["findings"]["edges"] if e["node"]["rule"] == rule)
