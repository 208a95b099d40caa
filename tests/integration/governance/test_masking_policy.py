"""Masking as a policy, through GraphQL against the real services: an admin drafts masking
rules (stewards of the test's domain see its emails in clear, viewers a hash), a second admin
approves and activates them, and what a steward and a viewer read of the column's profile
(``min``, ``max``) changes on this API and on a second replica; rollback restores the shipped
default (``pii:read`` in scope sees clear, others the configured strategy). The author cannot
approve their own version; rules naming what does not exist, or repeating a rule, are typed
errors, and the masking policy takes masking rules only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from security.auth import mint_token
from security.masking import partial
from tests.integration.governance.flow import (
    ADD_RULE,
    APPROVE,
    CREATE,
    FINDINGS,
    RULE,
    SUBMIT,
    release,
)
from tests.integration.graphql.conftest import Served, bearer, serve

MASKING = "urn:dw:policy:masking"
EMAIL = "alice@example.com"
PROFILE = "MATCH (c:Column {urn: $urn}) SET c.min = $value, c.max = $value"
FORGET = """
MATCH (n:Policy|PolicyVersion) WHERE coalesce(n.urn, n.key) STARTS WITH $policy
DETACH DELETE n
"""
SENSITIVE_READS = """
MATCH (e:AuditEvent {actor: $actor, action: 'read:sensitive'}) RETURN e.resource AS resource
"""
TRANSITIONS = """
MATCH (e:AuditEvent {resource: $policy, outcome: 'succeeded'}) WHERE e.actor STARTS WITH $name
RETURN e.actor AS actor, e.action AS action ORDER BY e.at
"""
RULES = """
mutation($input: MaskingRulesInput!) { setMaskingRules(input: $input) {
  version { policy version state authors
            masking { rules { labels roles domain permission sensitivity treatment } default } }
  errors { __typename message
           ... on MaskingRuleError { rule field problem conflictsWith } } } }
"""
IN_FORCE = "{ maskingRules { version default rules { treatment permission sensitivity } } }"
ACTIVATE = """
mutation($policy: ID!, $version: Int!) { activatePolicyVersion(policy: $policy, version: $version) {
  version { state } errors { __typename message } } }
"""
ROLLBACK = """
mutation($policy: ID!) { rollbackPolicy(policy: $policy) {
  version { version } errors { __typename message } } }
"""
PROFILE_QUERY = """
query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { name min max } } } }
"""
SHIPPED = [
    {"treatment": "CLEAR", "permission": "pii:read", "sensitivity": None},
    {"treatment": "PARTIAL", "permission": None, "sensitivity": "CONFIDENTIAL"},
    {"treatment": "REDACT", "permission": None, "sensitivity": "RESTRICTED"},
]


async def _rollback_all(w: dict[str, Any]) -> None:
    """Back to the shipped default, whatever a failed run left active."""
    for _ in range(20):
        if (await w["bob"](IN_FORCE))["maskingRules"]["version"] == 0:
            return
        await w["bob"](ROLLBACK, policy=MASKING)


@pytest.fixture
async def masked(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> AsyncIterator[dict[str, Any]]:
    """The world's email column with a profile, the masking policy rolled back and removed
    afterwards (it is global: nothing of this test stays in force)."""
    db = settings.neo4j.database
    await write(neo4j, db, PROFILE, urn=world["email"], value=EMAIL)
    await _rollback_all(world)
    yield world
    await _rollback_all(world)
    await write(neo4j, db, FORGET, policy=MASKING)


@pytest.fixture
async def replica(settings: Settings) -> AsyncIterator[Served]:
    """A second API process (without the consumers the session's API runs)."""
    quiet = {"relay_changes": False, "watch_compliance": False, "watch_contracts": False}
    async with serve(settings.model_copy(update=quiet)) as served:
        yield served


async def _seen(url: str, token: str, table: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        r = await http.post(
            "/graphql", json={"query": PROFILE_QUERY, "variables": {"urn": table}},
            headers=bearer(token),
        )  # fmt: skip
    body = r.json()
    assert "errors" not in body, body
    email = {c["name"]: c for c in body["data"]["asset"]["columns"]}["email"]
    return email["min"], email["max"]


async def _eventually(url: str, token: str, table: str, expected: str) -> None:
    """A replica other than the one activating follows within seconds (Redis broadcast)."""
    async with asyncio.timeout(20):
        while True:
            if (await _seen(url, token, table))[0] == expected:
                return
            await asyncio.sleep(0.2)


async def test_a_masking_version_changes_what_each_role_reads_and_rolls_back(
    masked: dict[str, Any], replica: Served, settings: Settings, neo4j: AsyncDriver
) -> None:
    w, db = masked, settings.neo4j.database
    name, domain, table = w["name"], w["domain"], w["email"].rsplit("/", 1)[0]
    table = table.replace("urn:dw:column:", "urn:dw:table:")
    steward = mint_token(settings.auth, f"{name}-sam", ["steward"], domains=[domain])
    viewer = mint_token(settings.auth, f"{name}-val", ["viewer"], domains=[domain])
    auditor = mint_token(settings.auth, f"{name}-aud", ["auditor"], domains=[domain])
    api = w["url"]

    shipped = (await w["ada"](IN_FORCE))["maskingRules"]
    assert shipped == {"version": 0, "default": "REDACT", "rules": SHIPPED}
    for token in (steward, viewer):
        assert await _seen(api, token, table) == (partial(EMAIL), partial(EMAIL))

    rules = [
        {"labels": [f"{name}.Email"], "roles": ["steward"], "domain": domain, "treatment": "CLEAR"},
        {"labels": [name], "roles": ["viewer"], "domain": domain, "treatment": "HASH"},
        {"permission": "pii:read", "treatment": "CLEAR"},
        {"sensitivity": "CONFIDENTIAL", "treatment": "PARTIAL"},
        {"sensitivity": "RESTRICTED", "treatment": "REDACT"},
    ]
    drafted = (await w["ada"](RULES, input={"rules": rules}))["setMaskingRules"]
    assert drafted["errors"] == [], drafted
    version = drafted["version"]
    assert (version["policy"], version["state"]) == (MASKING, "DRAFT")
    assert version["authors"][-1] == f"{name}-ada"
    assert [r["treatment"] for r in version["masking"]["rules"]] == [
        "CLEAR", "HASH", "CLEAR", "PARTIAL", "REDACT"
    ]  # fmt: skip

    submitted = (await w["ada"](SUBMIT, policy=MASKING))["submitPolicyVersion"]
    assert submitted["errors"] == [] and submitted["version"]["state"] == "IN_REVIEW"
    own = await w["ada"](APPROVE, policy=MASKING, version=version["version"])
    assert [e["__typename"] for e in own["approvePolicyVersion"]["errors"]] == ["SelfApprovalError"]
    approved = await w["bob"](APPROVE, policy=MASKING, version=version["version"])
    assert approved["approvePolicyVersion"]["errors"] == []
    assert await _seen(api, steward, table) == (partial(EMAIL), partial(EMAIL)), (
        "approved is not active"
    )

    activated = await w["bob"](ACTIVATE, policy=MASKING, version=version["version"])
    assert activated["activatePolicyVersion"] == {"version": {"state": "ACTIVE"}, "errors": []}
    assert (await w["ada"](IN_FORCE))["maskingRules"]["version"] == version["version"]
    assert await _seen(api, steward, table) == (EMAIL, EMAIL)
    hashed = (await _seen(api, viewer, table))[0]
    assert hashed.startswith("hmac:") and EMAIL not in hashed
    assert await _seen(api, auditor, table) == (partial(EMAIL), partial(EMAIL)), (
        "no rule for auditors: the shipped rules still apply"
    )
    await _eventually(replica.url, steward, table, EMAIL)
    reads = await read(neo4j, db, SENSITIVE_READS, actor=f"{name}-sam")
    assert {r["resource"] for r in reads} == {w["email"]}, "a read in clear is audited"

    rolled = (await w["bob"](ROLLBACK, policy=MASKING))["rollbackPolicy"]
    assert rolled["errors"] == [], rolled
    assert (await w["ada"](IN_FORCE))["maskingRules"] == shipped
    for token in (steward, viewer):
        assert await _seen(api, token, table) == (partial(EMAIL), partial(EMAIL))
    await _eventually(replica.url, steward, table, partial(EMAIL))

    steps = [(r["actor"], r["action"]) for r in await read(
        neo4j, db, TRANSITIONS, policy=MASKING, name=name)]  # fmt: skip
    assert steps == [
        (f"{name}-ada", "setMaskingRules"),
        (f"{name}-ada", "submitPolicyVersion"),
        (f"{name}-bob", "approvePolicyVersion"),
        (f"{name}-bob", "activatePolicyVersion"),
        (f"{name}-bob", "rollbackPolicy"),
    ]


async def test_invalid_masking_rules_are_typed_errors(masked: dict[str, Any]) -> None:
    w = masked
    rules = [
        {"labels": ["NoSuch.Label"], "treatment": "CLEAR"},
        {"roles": ["analyst"], "treatment": "HASH"},
        {"sensitivity": "CONFIDENTIAL", "treatment": "PARTIAL"},
        {"sensitivity": "CONFIDENTIAL", "treatment": "CLEAR"},
        {"domain": f"{w['name']}-nowhere", "permission": "pii:write", "treatment": "CLEAR"},
    ]
    refused = (await w["ada"](RULES, input={"rules": rules}))["setMaskingRules"]
    assert refused["version"] is None
    assert {
        (e["__typename"], e["rule"], e["field"], e["problem"], e["conflictsWith"])
        for e in refused["errors"]
    } == {
        ("MaskingRuleError", 0, "labels", "UNKNOWN_LABEL", None),
        ("MaskingRuleError", 1, "roles", "UNKNOWN_ROLE", None),
        ("MaskingRuleError", 3, "rules", "CONFLICT", 2),
        ("MaskingRuleError", 4, "permission", "UNKNOWN_PERMISSION", None),
        ("MaskingRuleError", 4, "domain", "UNKNOWN_DOMAIN", None),
    }
    assert (await w["ada"](IN_FORCE))["maskingRules"]["version"] == 0, "nothing changed"

    taken = (await w["ada"](CREATE, input={"name": "masking"}))["createPolicy"]
    assert [(e["__typename"], e["field"]) for e in taken["errors"]] == [
        ("InvalidInputError", "name")
    ]
    templated = (await w["ada"](ADD_RULE, policy=MASKING, rule=RULE))["addRule"]
    assert templated["version"] is None and templated["errors"], "masking rules only"


async def test_compliance_judges_masking_by_the_version_in_force(masked: dict[str, Any]) -> None:
    """A rule that wants confidential data masked to those without need (restricted_masked)
    passes under the shipped default (partial), fails once a masking version shows the column
    in clear to stewards of its domain (they hold no pii:read), and passes again on rollback:
    a compliance report cannot call a column masked that a role reads in clear."""
    w = masked
    name, domain, email = w["name"], w["domain"], w["email"]
    assert (await w["ada"](CREATE, input={"name": name}))["createPolicy"]["errors"] == []
    rule = {"id": "masked", "template": "restricted_masked", "scope": "SOURCE",
            "scopeValue": name, "severity": "HIGH",
            "params": {"sensitivities": ["confidential"],
                       "strategies": ["partial", "hash", "redact"]}}  # fmt: skip
    assert (await w["ada"](ADD_RULE, policy=w["policy"], rule=rule))["addRule"]["errors"] == []

    async def open_findings() -> list[str]:
        found = await w["ada"](FINDINGS, filter={"asset": email, "status": "OPEN"})
        return [
            e["node"]["message"]
            for e in found["findings"]["edges"]
            if e["node"]["rule"] == f"{name}/masked"
        ]

    assert (await release(w, 1))["errors"] == []
    assert await open_findings() == [], "the shipped default shows it partially"

    clear = [{"labels": [f"{name}.Email"], "roles": ["steward"], "domain": domain,
              "treatment": "CLEAR"}]  # fmt: skip
    drafted = (await w["ada"](RULES, input={"rules": clear}))["setMaskingRules"]
    assert drafted["errors"] == [], drafted
    version = drafted["version"]["version"]
    assert (await w["ada"](SUBMIT, policy=MASKING))["submitPolicyVersion"]["errors"] == []
    assert (await w["bob"](APPROVE, policy=MASKING, version=version))["approvePolicyVersion"][
        "errors"
    ] == []
    activated = await w["bob"](ACTIVATE, policy=MASKING, version=version)
    assert activated["activatePolicyVersion"]["errors"] == []
    messages = await open_findings()  # one per control the rule implements
    assert messages and all(m.endswith("shows it as clear") for m in messages), messages

    assert (await w["bob"](ROLLBACK, policy=MASKING))["rollbackPolicy"]["errors"] == []
    assert await open_findings() == []
