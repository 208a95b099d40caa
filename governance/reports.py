"""Compliance reports an auditor can hand on: controls passed, failed or not covered by the
rule set in force, findings with evidence, waivers, the rule-set versions they came from, and
the score; as of now or a past moment (the rule set in force then, findings seen by then and
not yet resolved, with the severity, message, evidence and domains they had then, the last
score recorded by then)."""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from governance.evaluation import ALL_DOMAINS
from governance.frameworks import FRAMEWORKS, Control
from graph import compliance
from live.state import AppState


class UnknownFramework(ValueError):
    pass


class ControlStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_COVERED = "not_covered"  # no rule in force checks it: neither passed nor failed


@dataclass
class ControlResult:
    control: Control
    covered: bool  # a rule of the rule set in force implements it
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> int:
        return sum(1 for f in self.findings if not f["waivers"])

    @property
    def status(self) -> ControlStatus:
        if not self.covered:
            return ControlStatus.NOT_COVERED
        return ControlStatus.FAILED if self.open else ControlStatus.PASSED

    @property
    def passed(self) -> bool | None:
        """The older yes/no of ``status``: None when no rule checks the control."""
        return self.open == 0 if self.covered else None


@dataclass
class Report:
    framework: str
    domain: str
    as_of: datetime
    status: str  # from the last score recorded by then; unknown before any evaluation
    score: float | None
    rule_set_versions: list[int]
    controls: list[ControlResult]

    def rows(self) -> list[dict[str, Any]]:
        """One row per finding (or per control without findings), for CSV."""
        out = []
        for c in self.controls:
            base = {"framework": self.framework, "domain": self.domain,
                    "control": c.control.id, "citation": c.control.citation,
                    "controlStatus": c.status.value, "controlPassed": c.passed}  # fmt: skip
            if not c.findings:
                out.append(base | {"finding": "", "asset": "", "status": "", "severity": "",
                                   "message": "", "evidence": "", "waiver": "",
                                   "ruleSetVersion": ""})  # fmt: skip
            for f in c.findings:
                waiver = f["waivers"][0] if f["waivers"] else None
                out.append(
                    base
                    | {
                        "finding": f["finding"]["urn"],
                        "asset": f["finding"]["asset"],
                        "status": "waived" if waiver else "open",
                        "severity": f["finding"]["severity"],
                        "message": f["finding"]["message"],
                        "evidence": f["finding"]["evidence"],
                        "waiver": waiver["reason"] if waiver else "",
                        "ruleSetVersion": f["finding"]["ruleSetVersion"],
                    }
                )
        return out

    def to_json(self) -> str:
        body = {
            "framework": self.framework, "domain": self.domain,
            "asOf": self.as_of.isoformat(), "status": self.status, "score": self.score,
            "ruleSetVersions": self.rule_set_versions,
            "controls": [
                {**asdict(c.control), "status": c.status.value, "passed": c.passed,
                 "openFindings": c.open,
                 "findings": [{**f["finding"], "waivers": f["waivers"]} for f in c.findings]}
                for c in self.controls
            ],
        }  # fmt: skip
        return json.dumps(body, default=str, indent=2)

    def to_html(self) -> str:
        """A printable page: the summary, then each control with its findings."""
        e = html.escape
        score = "n/a" if self.score is None else f"{self.score:.0%}"
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'>",
            f"<title>{e(self.framework)} compliance, {e(self.domain)}</title>",
            "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:4px 8px;text-align:left}"
            ".failed{color:#a00}.passed{color:#070}.not_covered{color:#777}</style></head><body>",
            f"<h1>{e(self.framework)} — {e(self.domain)}</h1>",
            f"<p>As of {e(self.as_of.isoformat())}: <b>{e(self.status)}</b>, score {score}; "
            f"rule-set versions {e(', '.join(map(str, self.rule_set_versions)) or 'none')}.</p>",
            "<table><tr><th>control</th><th>citation</th><th>result</th><th>asset</th>"
            "<th>status</th><th>severity</th><th>finding</th><th>evidence</th><th>waiver</th></tr>",
        ]
        for row in self.rows():
            result = row["controlStatus"]
            cells = [row["control"], row["citation"], result.replace("_", " "), row["asset"],
                     row["status"], row["severity"], row["message"], row["evidence"],
                     row["waiver"]]  # fmt: skip
            parts.append(
                f"<tr class='{result}'>" + "".join(f"<td>{e(str(c))}</td>" for c in cells) + "</tr>"
            )
        parts.append("</table></body></html>")
        return "\n".join(parts)

    def to_csv(self) -> str:
        rows = self.rows()
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["framework"])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()


async def build_report(
    state: AppState, framework: str, domain: str | None, as_of: datetime | None
) -> Report:
    spec = FRAMEWORKS.get(framework)
    if spec is None:
        raise UnknownFramework(f"no framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    as_of = as_of or datetime.now(UTC)
    driver, database = state.neo4j, state.settings.neo4j.database
    rows = await compliance.findings_as_of(driver, database, framework, domain, as_of)
    rule_set, covered = await compliance.controls_in_force(driver, database, as_of)
    by_control = {c.urn: ControlResult(c, covered=c.urn in covered) for c in spec.controls}
    for row in rows:
        if row["finding"]["control"] in by_control:
            by_control[row["finding"]["control"]].findings.append(row)
    score = await compliance.score_as_of(driver, database, framework, domain or ALL_DOMAINS, as_of)
    versions = {r["finding"]["ruleSetVersion"] for r in rows}
    if rule_set:  # the one that decided which controls are covered
        versions.add(rule_set)
    if score is not None:
        versions.add(score["ruleSetVersion"])
    return Report(
        framework=framework,
        domain=domain or ALL_DOMAINS,
        as_of=as_of,
        status=score["status"] if score else "unknown",
        score=score["score"] if score else None,
        rule_set_versions=sorted(versions),
        controls=list(by_control.values()),
    )
