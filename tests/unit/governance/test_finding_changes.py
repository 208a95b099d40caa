"""An evaluation writes only what changed: a finding seen again as it was is left alone, a new,
reopened or altered one is written, and an open or waived one not seen again is resolved. An
altered one keeps the values it had, which a report of a past moment reads."""

from __future__ import annotations

import json

from graph.compliance import changes, values_at


def row(urn: str, message: str = "no owner", domains: list[str] | None = None) -> dict:
    return {"urn": urn, "severity": "high", "message": message, "evidence": "{}",
            "domains": domains or []}  # fmt: skip


def stored(
    urn: str, status: str, version: int = 3, message: str = "no owner",
    domains: list[str] | None = None,
) -> dict:  # fmt: skip
    return {**row(urn, message, domains), "status": status, "ruleSetVersion": version}


def test_only_new_reopened_and_altered_findings_are_written() -> None:
    existing = [
        stored("same", "open"),
        stored("waived", "waived"),
        stored("back", "resolved"),
        stored("reworded", "open", message="old text"),
        stored("older", "open", version=2),
    ]
    rows = [row(u) for u in ("same", "waived", "back", "reworded", "older", "new")]
    changed, gone = changes(rows, existing, version=3)
    assert [r["urn"] for r in changed] == ["back", "reworded", "older", "new"]
    assert gone == []


def test_open_and_waived_findings_not_seen_again_are_resolved() -> None:
    existing = [stored("fixed", "open"), stored("accepted", "waived"), stored("done", "resolved")]
    changed, gone = changes([], existing, version=3)
    assert changed == [] and sorted(gone) == ["accepted", "fixed"]


def test_only_real_changes_carry_the_values_they_replace() -> None:
    """A reworded or moved finding carries what it was; one reopened, or seen under a new
    rule-set version, with the same values carries nothing (its history would grow at every
    activation)."""
    existing = [
        stored("reworded", "open", message="old text", domains=["sales"]),
        stored("moved", "resolved", domains=["sales"]),
        stored("back", "resolved"),
        stored("older", "open", version=2),
    ]
    rows = [row("reworded", domains=["sales"]), row("moved", domains=["support"]),
            row("back"), row("older")]  # fmt: skip
    changed = {r["urn"]: r.get("was") for r in changes(rows, existing, version=3)[0]}
    assert changed == {
        "reworded": {"severity": "high", "message": "old text", "evidence": "{}",
                     "domains": '["sales"]'},
        "moved": {"severity": "high", "message": "no owner", "evidence": "{}",
                  "domains": '["sales"]'},
        "back": None,
        "older": None,
    }  # fmt: skip


def test_a_past_moment_reads_the_values_that_held_then_without_the_history() -> None:
    finding = {
        **stored("f", "open", message="now", domains=["support"]),
        "changedAt": ["t1", "t2"],
        "priorSeverity": ["critical", "high"],
        "priorMessage": ["first", "second"],
        "priorEvidence": ['{"a": 1}', "{}"],
        "priorDomains": [json.dumps(["sales", "é"], ensure_ascii=False), "[]"],
    }
    first = values_at(finding, 0)
    assert (first["severity"], first["message"], first["evidence"], first["domains"]) == (
        "critical", "first", '{"a": 1}', ["sales", "é"]
    )  # fmt: skip
    assert values_at(finding, 1)["domains"] == []
    current = values_at(finding, None)
    assert (current["message"], current["domains"]) == ("now", ["support"])
    assert not {"changedAt", "priorSeverity", "priorDomains"} & (set(current) | set(first))
