"""An evaluation writes only what changed: a finding seen again as it was is left alone, a new,
reopened or altered one is written, and an open or waived one not seen again is resolved."""

from __future__ import annotations

from graph.compliance import changes


def row(urn: str, message: str = "no owner") -> dict:
    return {"urn": urn, "severity": "high", "message": message, "evidence": "{}", "domains": []}


def stored(urn: str, status: str, version: int = 3, message: str = "no owner") -> dict:
    return {**row(urn, message), "status": status, "ruleSetVersion": version}


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
