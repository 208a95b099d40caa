"""What an auditor reads in a compliance report, against the real graph, OPA and API: a
framework no rule covers, controls no rule in force checks, and a waiver that outlives a
finding's brief resolution."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph import compliance
from tests.factories import eventually
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    APPROVE_WAIVER,
    EVALUATE,
    REJECT,
    WAIVE,
    WITHDRAW,
    draft,
    findings_of,
    owner_finding,
    release,
)

REPORT = """
query($framework: String!, $domain: String) {
  complianceReport(framework: $framework, domain: $domain) {
    status score controls { control { code } status passed
                            findings { edges { node { asset status } } } }
    json: export(format: JSON) } }
"""


async def test_a_framework_no_rule_covers_reads_not_covered_without_a_score(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """The score an evaluation records for a framework none of whose controls a rule in force
    implements (no score: Neo4j keeps no null property) reads back as it was recorded. Written
    here because which frameworks the shared stack's rules cover is not this test's to choose."""
    w = world
    uncovered = {"framework": "hipaa", "domain": w["domain"], "status": "not_covered",
                 "score": None, "passed": 0, "failed": 0, "ruleSetVersion": 1}  # fmt: skip
    await compliance.record_scores(neo4j, settings.neo4j.database, [uncovered], datetime.now(UTC))
    report = (await w["ada"](REPORT, framework="hipaa", domain=w["domain"]))["complianceReport"]
    assert (report["status"], report["score"]) == ("NOT_COVERED", None)
    assert json.loads(report["json"])["score"] is None


async def test_controls_no_rule_in_force_checks_are_not_covered(world: dict[str, Any]) -> None:
    """With the world's owner rule in force (GDPR Art. 30), the report's controls agree with
    the score: those the score counts pass or fail, every other is not covered, never passed."""
    w = world
    await draft(w)
    await release(w, 1)
    evaluated = (await w["ada"](EVALUATE, source=w["name"]))["evaluateCompliance"]["evaluation"]
    [score] = [s for s in evaluated["scores"]
               if (s["framework"], s["domain"]) == ("gdpr", w["domain"])]  # fmt: skip
    report = (await w["ada"](REPORT, framework="gdpr", domain=w["domain"]))["complianceReport"]
    controls = {c["control"]["code"]: c for c in report["controls"]}
    assert (controls["art-30"]["status"], controls["art-30"]["passed"]) == ("FAILED", False)
    counted = Counter(c["status"] for c in controls.values())
    assert (counted["PASSED"], counted["FAILED"]) == (score["passed"], score["failed"])
    assert counted["NOT_COVERED"] == len(controls) - score["passed"] - score["failed"]
    exported = {c["id"]: c for c in json.loads(report["json"])["controls"]}
    for code, c in controls.items():
        if c["status"] == "NOT_COVERED":
            assert c["passed"] is None and findings_of(c) == [], c
            assert (exported[code]["status"], exported[code]["passed"]) == ("not_covered", None)


async def test_a_waived_finding_is_waived_again_when_its_cause_returns(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A steward rejects the email label of a column whose finding is waived (it resolves),
    then withdraws the rejection: the finding comes back waived, as the approved waiver still
    runs, and the report counts it as such rather than open."""
    w = world
    ada, name = w["ada"], w["name"]
    estate = Estate(name)
    label = estate.label(w["email"], "Email", status="suggested")  # the machine's: withdrawable
    await estate.write(neo4j, settings.neo4j.database)
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    waiver = (await ada(WAIVE, finding=finding))["requestWaiver"]["waiver"]["id"]
    assert (await w["bob"](APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    assert (await owner_finding(w))["status"] == "WAIVED"

    async def status_is_not(status: str) -> bool:
        return (await owner_finding(w))["status"] != status

    assert (await ada(REJECT, column=w["email"], label=label))["decideLabel"]["errors"] == []
    await eventually(lambda: status_is_not("WAIVED"), timeout_s=20)  # the watcher evaluates
    assert (await owner_finding(w))["status"] == "RESOLVED"
    withdrawn = await ada(WITHDRAW, column=w["email"], label=label)
    assert withdrawn["withdrawLabelDecision"]["errors"] == []
    await eventually(lambda: status_is_not("RESOLVED"), timeout_s=20)
    assert (await owner_finding(w))["status"] == "WAIVED"

    report = (await ada(REPORT, framework="gdpr", domain=w["domain"]))["complianceReport"]
    art30 = next(c for c in report["controls"] if c["control"]["code"] == "art-30")
    assert art30["status"] == "PASSED"
    assert findings_of(art30) == [{"asset": w["email"], "status": "WAIVED"}]
    exported = next(c for c in json.loads(report["json"])["controls"] if c["id"] == "art-30")
    assert [(f["status"], len(f["waivers"])) for f in exported["findings"]] == [("waived", 1)]
