"""A report's controls: one no rule in force checks is not covered (neither passed nor failed),
in the GraphQL fields and in every export an auditor hands on."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from governance.frameworks import GDPR
from governance.reports import ControlResult, ControlStatus, Report

ART5, ART30, ART32 = GDPR.controls[0], GDPR.controls[1], GDPR.controls[2]
OPEN = {
    "finding": {"urn": "urn:dw:finding:1", "asset": "urn:c", "severity": "high",
                "message": "no owner", "evidence": "{}", "ruleSetVersion": 3},
    "waivers": [],
}  # fmt: skip


def report() -> Report:
    """Art. 30 checked and failing, Art. 32 checked and passing, Art. 5(1)(e) checked by none."""
    return Report(
        framework="gdpr", domain="*", as_of=datetime(2026, 12, 1, tzinfo=UTC),
        status="non_compliant", score=0.5, rule_set_versions=[3],
        controls=[ControlResult(ART5, covered=False), ControlResult(ART30, covered=True,
                  findings=[OPEN]), ControlResult(ART32, covered=True)],
    )  # fmt: skip


def test_a_control_no_rule_checks_is_not_covered_rather_than_passed() -> None:
    art5, art30, art32 = report().controls
    assert (art5.status, art5.passed) == (ControlStatus.NOT_COVERED, None)
    assert (art30.status, art30.passed) == (ControlStatus.FAILED, False)
    assert (art32.status, art32.passed) == (ControlStatus.PASSED, True)


def test_exports_say_which_controls_no_rule_checks() -> None:
    r = report()
    controls = {c["id"]: c for c in json.loads(r.to_json())["controls"]}
    assert (controls["art-5-1-e"]["status"], controls["art-5-1-e"]["passed"]) == (
        "not_covered",
        None,
    )
    assert controls["art-32"]["status"] == "passed"
    rows = {row["control"]: row for row in csv.DictReader(io.StringIO(r.to_csv()))}
    assert [rows[c]["controlStatus"] for c in ("art-5-1-e", "art-30", "art-32")] == [
        "not_covered",
        "failed",
        "passed",
    ]
    assert rows["art-5-1-e"]["controlPassed"] == ""
    assert "<tr class='not_covered'><td>art-5-1-e</td><td>Art. 5(1)(e)</td><td>not covered" in (
        r.to_html()
    )
