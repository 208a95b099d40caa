"""What a compliance officer and a steward noticed walking the governance journeys through
GraphQL against the real services: a rollback that brought back a version rolled back before,
a domain whose findings were all waived left non-compliant, a waiver request nobody approved in
time blocking every other, an empty source name failing as an internal error, a past report
that changed when a finding reopened, a critical finding escalated the moment it reopened, and
a policy created for a domain that does not exist."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import write
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    ADD_RULE,
    APPROVE_WAIVER,
    CREATE,
    EVALUATE,
    FINDINGS,
    REJECT,
    RULE,
    WAIVE,
    WITHDRAW,
    draft,
    owner_finding,
    release,
)
from tests.integration.governance.test_policy_workflow import BACKDATE

ROLLBACK = """
mutation($policy: ID!) { rollbackPolicy(policy: $policy) {
  version { version state } errors { __typename message } } }
"""
VERSIONS = """
query($urn: ID!) { policy(urn: $urn) { activeVersion { version }
  versions { edges { node { version state } } } } }
"""
REPORT = """
query($domain: String, $asOf: DateTime) {
  complianceReport(framework: "gdpr", domain: $domain, asOf: $asOf) {
    status score controls { control { code } status openFindings findings { totalCount } } } }
"""
# A waiver's end, a minute ago.
ENDED = "MATCH (w:Waiver {urn: $urn}) SET w.expiresAt = datetime() - duration({minutes: 1})"


def art30(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["controls"] if c["control"]["code"] == "art-30")


async def test_rollbacks_undo_activations_in_turn(world: dict[str, Any]) -> None:
    """v1, then v2, rolled back to v1; v3 (a copy of v2) goes live and is rolled back: v1,
    which was in force before it, comes back, not v2, which was rolled back already."""
    w = world
    ada, bob = w["ada"], w["bob"]
    await draft(w)
    await release(w, 1)
    for version, severity in ((2, "LOW"), (3, "MEDIUM")):
        rule = {**RULE, "severity": severity, "params": {"categories": [w["name"]]}}
        await ada(ADD_RULE, policy=w["policy"], rule=rule)
        assert (await release(w, version))["errors"] == []
        if version == 2:
            back = (await bob(ROLLBACK, policy=w["policy"]))["rollbackPolicy"]
            assert back["version"] == {"version": 1, "state": "ACTIVE"}
    rolled = (await bob(ROLLBACK, policy=w["policy"]))["rollbackPolicy"]
    assert rolled == {"version": {"version": 1, "state": "ACTIVE"}, "errors": []}
    policy = (await ada(VERSIONS, urn=w["policy"]))["policy"]
    assert policy["activeVersion"] == {"version": 1}
    assert [e["node"]["state"] for e in policy["versions"]["edges"]] == [
        "ACTIVE", "RETIRED", "RETIRED"
    ]  # fmt: skip
    # And before v1 nothing of the policy was in force.
    out = (await bob(ROLLBACK, policy=w["policy"]))["rollbackPolicy"]
    assert out == {"version": None, "errors": []}


async def test_a_domain_whose_findings_are_all_waived_is_compliant(world: dict[str, Any]) -> None:
    """Approving the waivers of a domain's every finding scores it again at once (the report
    said NON_COMPLIANT, score 0, with every control passed), and evaluations keep scoring it
    (they scored only domains with open or just resolved findings)."""
    w = world
    ada, bob = w["ada"], w["bob"]
    await draft(w)
    await release(w, 1)
    before = (await ada(REPORT, domain=w["domain"]))["complianceReport"]
    assert (before["status"], art30(before)["status"]) == ("NON_COMPLIANT", "FAILED")
    found = (await ada(FINDINGS, filter={"asset": w["email"]}))["findings"]["edges"]
    assert len(found) == 2  # GDPR Art. 30, CCPA 1798.100
    for edge in found:
        waiver = (await ada(WAIVE, finding=edge["node"]["id"]))["requestWaiver"]["waiver"]["id"]
        assert (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    waived = (await ada(REPORT, domain=w["domain"]))["complianceReport"]
    assert art30(waived)["status"] == "PASSED" and art30(waived)["openFindings"] == 0
    assert (waived["status"], waived["score"]) == ("COMPLIANT", 1.0)
    evaluated = (await ada(EVALUATE, source=w["name"]))["evaluateCompliance"]["evaluation"]
    mine = {(s["framework"], s["status"]) for s in evaluated["scores"]
            if s["domain"] == w["domain"] and s["framework"] in ("gdpr", "ccpa")}  # fmt: skip
    assert mine == {("gdpr", "COMPLIANT"), ("ccpa", "COMPLIANT")}


async def test_a_waiver_request_nobody_approved_in_time_expires(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A request whose end passed unapproved can no longer be approved (it would have waived
    the finding while the report counted it open) and no longer blocks a new request."""
    w = world
    ada, bob = w["ada"], w["bob"]
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    stale = (await ada(WAIVE, finding=finding))["requestWaiver"]["waiver"]["id"]
    await write(neo4j, settings.neo4j.database, ENDED, urn=stale)
    late = (await bob(APPROVE_WAIVER, waiver=stale))["approveWaiver"]
    ended = "the waiver ended before anyone approved it; request another"
    assert late == {"waiver": None, "errors": [{"__typename": "WrongStateError",
                                                "message": ended}]}  # fmt: skip
    assert (await owner_finding(w))["status"] == "OPEN"
    await ada(EVALUATE, source=w["name"])  # which marks it expired
    listed = "query($f: ID) { waivers(filter: {finding: $f}) { edges { node { id status } } } }"
    assert (await ada(listed, f=finding))["waivers"]["edges"] == [
        {"node": {"id": stale, "status": "EXPIRED"}}
    ]
    again = (await ada(WAIVE, finding=finding))["requestWaiver"]
    assert again["errors"] == [] and again["waiver"]["status"] == "REQUESTED"
    approved = (await bob(APPROVE_WAIVER, waiver=again["waiver"]["id"]))["approveWaiver"]
    assert approved["errors"] == [] and (await owner_finding(w))["status"] == "WAIVED"


async def test_evaluating_an_empty_source_name_is_a_typed_error(world: dict[str, Any]) -> None:
    body = await world["ada"].raw(
        'mutation { evaluateCompliance(source: "") { errors { __typename message } } }'
    )
    assert "errors" not in body, body["errors"]  # it was an internal error, without a code
    assert body["data"]["evaluateCompliance"]["errors"] == [
        {"__typename": "NotFoundError", "message": "no data source "}
    ]


async def test_a_past_report_stays_as_it_was_after_a_finding_reopens(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A steward rejects the machine's email label (the finding resolves); a report as of then
    reads compliant, and still does after the rejection is withdrawn and the finding reopens
    (it showed the reopened finding failing Art. 30 under a compliant score)."""
    w = world
    ada = w["ada"]
    estate = Estate(w["name"])
    label = estate.label(w["email"], "Email", status="suggested")  # the machine's: withdrawable
    await estate.write(neo4j, settings.neo4j.database)
    await draft(w)
    await release(w, 1)
    assert (await ada(REJECT, column=w["email"], label=label))["decideLabel"]["errors"] == []
    await ada(EVALUATE, source=w["name"])
    assert (await owner_finding(w))["status"] == "RESOLVED"
    await asyncio.sleep(0.05)
    then = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    past = (await ada(REPORT, domain=w["domain"], asOf=then))["complianceReport"]
    assert (past["status"], art30(past)["status"], art30(past)["openFindings"]) == (
        "COMPLIANT", "PASSED", 0
    )  # fmt: skip
    assert (await ada(WITHDRAW, column=w["email"], label=label))["withdrawLabelDecision"][
        "errors"
    ] == []
    await ada(EVALUATE, source=w["name"])
    assert (await owner_finding(w))["status"] == "OPEN"
    assert (await ada(REPORT, domain=w["domain"], asOf=then))["complianceReport"] == past
    now = (await ada(REPORT, domain=w["domain"]))["complianceReport"]
    assert (now["status"], art30(now)["status"]) == ("NON_COMPLIANT", "FAILED")


async def test_a_critical_finding_back_a_moment_ago_is_not_escalated(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A critical finding first seen a day ago, resolved since, is back: it has been open for
    a moment, not longer than the escalation delay (it was escalated at once)."""
    w = world
    ada = w["ada"]
    estate = Estate(w["name"])
    label = estate.label(w["email"], "Email", status="suggested")
    await estate.write(neo4j, settings.neo4j.database)
    await draft(w)
    critical = {**RULE, "severity": "CRITICAL", "params": {"categories": [w["name"]]}}
    await ada(ADD_RULE, policy=w["policy"], rule=critical)
    await release(w, 1)
    await ada(REJECT, column=w["email"], label=label)
    await ada(EVALUATE, source=w["name"])
    assert (await owner_finding(w))["status"] == "RESOLVED"
    await write(neo4j, settings.neo4j.database, BACKDATE, name=w["name"])  # seen a day ago
    await ada(WITHDRAW, column=w["email"], label=label)
    await ada(EVALUATE, source=w["name"])
    await ada(EVALUATE, source=w["name"])
    back = await owner_finding(w)
    assert (back["status"], back["escalatedAt"]) == ("OPEN", None)


async def test_a_policy_of_a_domain_that_does_not_exist_is_refused(world: dict[str, Any]) -> None:
    """A typo in the domain made a policy that could never hold a rule (each must be scoped to
    a domain that exists) and kept its name for good."""
    w = world
    mistyped = {"name": f"{w['name']}-local", "domain": f"{w['domain']}x"}
    refused = (await w["ada"](CREATE, input=mistyped))["createPolicy"]
    assert (refused["policy"], refused["errors"]) == (None, [
        {"__typename": "InvalidInputError", "message": f"no domain '{w['domain']}x'",
         "field": "domain"}
    ])  # fmt: skip
    created = (await w["ada"](CREATE, input={**mistyped, "domain": w["domain"]}))["createPolicy"]
    assert created["errors"] == [] and created["version"]["state"] == "DRAFT"
