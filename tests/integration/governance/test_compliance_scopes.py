"""Compliance mutations held to the caller's scope and rules that would apply to nothing: a
domain owner waives and evaluates only what their domains hold, sees only their domains'
scores, and cannot add a rule scoped to a domain, source or category that does not exist, or
a rule of the estate that implements no control."""

from __future__ import annotations

from typing import Any

import httpx
from neo4j import AsyncDriver

from core.settings import Settings
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    CREATE,
    EVALUATE,
    FINDINGS,
    WAIVE,
    Admin,
    draft,
    release,
)
from tests.integration.graphql.conftest import bearer

ADD_RULE = """
mutation($policy: ID!, $rule: RuleInput!) { addRule(policy: $policy, rule: $rule) {
  version { rules { id } } errors { __typename message ... on InvalidInputError { field } } } }
"""


def owner(w: dict[str, Any], settings: Settings, domain: str) -> str:
    """A token of a domain owner of ``domain`` (subject ``<name>-owner-<domain>``)."""
    return mint_token(settings.auth, f"{w['name']}-owner-{domain}", ["domain_owner"],
                      domains=[domain])  # fmt: skip


async def post(w: dict[str, Any], token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=w["url"], timeout=60) as http:
        body = {"query": query, "variables": variables}
        return (await http.post("/graphql", json=body, headers=bearer(token))).json()


async def test_a_domain_owner_waives_only_findings_of_their_domain(
    world: dict[str, Any], settings: Settings
) -> None:
    """Another domain's finding reads as missing to a waiver request (as to the ``findings``
    query); the owner of the finding's domain may ask."""
    w = world
    await draft(w)
    await release(w, 1)
    found = await w["ada"](FINDINGS, filter={"asset": w["email"], "framework": "gdpr"})
    finding = found["findings"]["edges"][0]["node"]["id"]
    stranger = owner(w, settings, f"{w['name']}-finance")
    assert (await post(w, stranger, FINDINGS))["data"]["findings"]["totalCount"] == 0
    refused = (await post(w, stranger, WAIVE, finding=finding))["data"]["requestWaiver"]
    missing = (await post(w, stranger, WAIVE, finding=f"{finding}0"))["data"]["requestWaiver"]
    assert refused["waiver"] is None
    assert refused["errors"] == [
        {"__typename": "NotFoundError", "message": f"no finding {finding}"}
    ]
    assert missing["errors"] == [
        {"__typename": "NotFoundError", "message": f"no finding {finding}0"}
    ]
    mine = owner(w, settings, w["domain"])
    asked = (await post(w, mine, WAIVE, finding=finding))["data"]["requestWaiver"]
    assert asked["errors"] == [] and asked["waiver"]["status"] == "REQUESTED"
    # Waivers are listed by their findings' scope too.
    listed = "query($f: ID) { waivers(filter: {finding: $f}) { totalCount } }"
    assert (await post(w, stranger, listed, f=finding))["data"]["waivers"]["totalCount"] == 0
    assert (await post(w, mine, listed, f=finding))["data"]["waivers"]["totalCount"] == 1


async def test_a_domain_owner_evaluates_only_sources_their_domains_hold(
    world: dict[str, Any], settings: Settings, neo4j: AsyncDriver
) -> None:
    """The whole estate, or a source with a column outside the caller's domains, is refused;
    a source the caller's domain holds whole is evaluated, with that domain's scores only."""
    w = world
    await draft(w)
    await release(w, 1)
    stranger = owner(w, settings, f"{w['name']}-finance")
    mine = owner(w, settings, w["domain"])
    for token, source in ((stranger, w["name"]), (mine, None)):
        refused = await post(w, token, EVALUATE, source=source)
        assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN"}, source
    evaluated = (await post(w, mine, EVALUATE, source=w["name"]))["data"]["evaluateCompliance"]
    assert evaluated["errors"] == [] and evaluated["evaluation"]["assets"] == 2
    assert {s["domain"] for s in evaluated["evaluation"]["scores"]} == {w["domain"]}

    estate = Estate(w["name"])
    estate.table("loose", ("id",))  # in no domain: the sales owner no longer holds the source
    await estate.write(neo4j, settings.neo4j.database)
    refused = await post(w, mine, EVALUATE, source=w["name"])
    assert refused["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def test_rules_that_would_apply_to_nothing_are_refused(world: dict[str, Any]) -> None:
    """A scope naming no domain, source or category, or a custom rule without controls, is
    refused by field; what exists is accepted."""
    w = world
    ada: Admin = w["ada"]
    await ada(CREATE, input={"name": w["name"]})
    nowhere = f"{w['name']}-nowhere"
    refused = [
        ({"scope": "DOMAIN", "scopeValue": nowhere}, "scopeValue"),
        ({"scope": "SOURCE", "scopeValue": nowhere}, "scopeValue"),
        ({"scope": "CATEGORY", "scopeValue": nowhere}, "scopeValue"),
        ({"scope": "CATEGORY", "scopeValue": "PII.Email"}, "scopeValue"),  # a label, no category
        ({"template": "custom"}, "controls"),
        ({"template": "custom", "controls": []}, "controls"),
    ]
    for fields, field in refused:
        rule = {"id": "noop", "template": "pii_has_owner", **fields}
        errors = (await ada(ADD_RULE, policy=w["policy"], rule=rule))["addRule"]["errors"]
        assert [(e["__typename"], e["field"]) for e in errors] == [("InvalidInputError", field)]
    accepted = [
        {"scope": "DOMAIN", "scopeValue": w["domain"]},
        {"scope": "SOURCE", "scopeValue": w["name"]},
        {"scope": "CATEGORY", "scopeValue": "PII"},  # the taxonomy's
        {"scope": "CATEGORY", "scopeValue": w["name"]},  # of the estate's labels
        {"template": "custom", "controls": ["urn:dw:control:gdpr/art-32"]},
    ]
    for i, fields in enumerate(accepted):
        rule = {"id": f"rule-{i}", "template": "pii_has_owner", **fields}
        assert (await ada(ADD_RULE, policy=w["policy"], rule=rule))["addRule"]["errors"] == []
