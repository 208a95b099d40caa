"""What a finding was, and since when it is open, as a compliance officer reads them through
GraphQL against the real graph, OPA and API: a report as of a past moment shows each finding's
severity, message, evidence and domains of then (it showed the current ones, and a domain's
past report listed findings of assets moved into it since), a finding whose values flap keeps
only its last changes; and a critical finding reopened by its waiver's revocation or expiry
counts its age from then (it was escalated at once, its first sighting being old), as does one
reopened so before migration 0021 dated it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph import compliance
from graph.driver import read, write
from graph.migrations import load_migrations, run_statements
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    ADD_RULE,
    APPROVE_WAIVER,
    EVALUATE,
    RULE,
    WAIVE,
    draft,
    owner_finding,
    release,
)
from tests.integration.governance.test_officer_journeys import ENDED
from tests.integration.governance.test_waiver_lifecycle import REVOKE

REPORT = """
query($domain: String, $asOf: DateTime) {
  complianceReport(framework: "gdpr", domain: $domain, asOf: $asOf) {
    controls { control { code } findings { totalCount
      edges { node { id severity message evidence domains } } } }
    json: export(format: JSON) } }
"""
# The source's findings, first seen (and, if reopened by a waiver's end, back) ``hours`` ago.
AGED = """
MATCH (f:Finding {source: $name})
SET f.firstSeenAt = datetime() - duration({hours: $hours}),
    f.unwaivedAt = CASE WHEN f.unwaivedAt IS NULL THEN null
                        ELSE datetime() - duration({hours: $hours}) END
"""
HISTORY = "MATCH (f:Finding {urn: $urn}) RETURN f.changedAt AS at, f.priorMessage AS messages"
# The flapping finding, and the scores of its domains other evaluations may have recorded.
FORGET = """
CALL () { MATCH (f:Finding {source: $name}) DETACH DELETE f }
CALL () { MATCH (s:ComplianceScore) WHERE s.domain STARTS WITH $name DELETE s }
"""


def art30(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's Art. 30 findings."""
    control = next(c for c in report["controls"] if c["control"]["code"] == "art-30")
    return [e["node"] for e in control["findings"]["edges"]]


async def moment() -> str:
    """Now, between two instants that differ from it."""
    await asyncio.sleep(0.05)
    then = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    return then


async def test_a_past_report_shows_the_values_findings_had_then(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """The owner rule, re-released as LOW, fails the email column again once it also holds a
    phone label and a second domain exposes its table: a report as of before shows the
    finding HIGH, about the email label alone, in sales only (in every field and export);
    the support domain's report of then does not list it."""
    w = world
    ada, name = w["ada"], w["name"]
    await draft(w)
    await release(w, 1)
    then = await moment()
    estate = Estate(name)
    estate.label(w["email"], "Phone")
    support = estate.product("support", estate.table_urn("people"))
    await estate.write(neo4j, settings.neo4j.database)
    low = {**RULE, "severity": "LOW", "params": {"categories": [name]}}
    await ada(ADD_RULE, policy=w["policy"], rule=low)
    assert (await release(w, 2))["errors"] == []
    now = await owner_finding(w)
    assert (now["severity"], now["evidence"]) == ("LOW", {"labels": [f"{name}.Email",
                                                                     f"{name}.Phone"]})  # fmt: skip
    assert sorted(now["domains"]) == sorted([w["domain"], support])

    past = (await ada(REPORT, domain=w["domain"], asOf=then))["complianceReport"]
    (shown,) = [f for f in art30(past) if f["id"] == now["id"]]
    was = {"id": now["id"], "severity": "HIGH", "evidence": {"labels": [f"{name}.Email"]},
           "message": f"{w['email']} holds {name}.Email and has no owner",
           "domains": [w["domain"]]}  # fmt: skip
    assert shown == was
    exported = json.loads(past["json"])
    (found,) = [f for c in exported["controls"] for f in c["findings"]
                if f["urn"] == now["id"] and c["id"] == "art-30"]  # fmt: skip
    assert (found["severity"], found["message"], found["domains"]) == (
        "high", was["message"], [w["domain"]]
    )  # fmt: skip
    assert not [key for key in found if key.startswith("prior") or key == "changedAt"]
    elsewhere = (await ada(REPORT, domain=support, asOf=then))["complianceReport"]
    assert art30(elsewhere) == []
    today = (await ada(REPORT, domain=support))["complianceReport"]
    assert [(f["id"], f["severity"]) for f in art30(today)] == [(now["id"], "LOW")]


async def test_a_finding_whose_values_flap_keeps_its_last_changes(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """An evaluation rewording a finding (and moving it between two domains) at every pass:
    its history holds the last ``KEPT_CHANGES`` changes, a past moment within them reads the
    values of then, one before them the oldest kept; seen again unchanged, under another
    rule-set version or by an evaluation that read it before the last change, it adds
    nothing."""
    db = settings.neo4j.database
    urn, asset, kept = f"urn:dw:finding:{unique}", f"urn:{unique}:c", compliance.KEPT_CHANGES
    start = datetime.now(UTC) - timedelta(days=1)
    passes = kept + 5
    at = [start + timedelta(minutes=i) for i in range(passes)]

    def row(i: int) -> dict[str, Any]:
        return {"urn": urn, "name": unique, "asset": asset, "source": unique, "rule": unique,
                "control": "urn:dw:control:gdpr/art-30", "framework": unique,
                "severity": "high", "message": f"m{i}", "evidence": "{}",
                "domains": [f"{unique}-{i % 2}"]}  # fmt: skip

    async def as_of(moment: datetime, domain: str | None = None) -> list[str]:
        rows = await compliance.findings_as_of(neo4j, db, unique, domain, moment)
        return [r["finding"]["message"] for r in rows]

    try:
        for i in range(passes):
            await compliance.record_findings(
                neo4j, db, version=1, assets=[asset], rows=[row(i)], now=at[i]
            )
        await compliance.record_findings(
            neo4j, db, version=2, assets=[asset], rows=[row(passes - 1)], now=datetime.now(UTC)
        )
        # A second evaluation that read the finding before the last one wrote it: its change
        # is written already, and its old values kept once.
        late = {**row(passes - 1), "was": {**row(passes - 2), "domains": "[]"}}
        await write(neo4j, db, compliance.MERGE_FINDINGS, rows=[late], now=datetime.now(UTC),
                    version=2, kept=kept)  # fmt: skip
        (stored,) = await read(neo4j, db, HISTORY, urn=urn)
        assert len(stored["at"]) == kept
        oldest = passes - 1 - kept  # the first change kept replaced this pass's values
        assert stored["messages"] == [f"m{i}" for i in range(oldest, passes - 1)]
        for i in range(oldest, passes):
            half = at[i] + timedelta(seconds=30)
            assert await as_of(half) == [f"m{i}"]
            assert await as_of(half, f"{unique}-{i % 2}") == [f"m{i}"]
            assert await as_of(half, f"{unique}-{(i + 1) % 2}") == []
        assert await as_of(at[0] + timedelta(seconds=30)) == [f"m{oldest}"]
    finally:
        await write(neo4j, db, FORGET, name=unique)


async def critical_waived(w: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The world under a critical owner rule, its GDPR finding waived: the finding, the
    waiver."""
    ada, bob = w["ada"], w["bob"]
    await draft(w)
    critical = {**RULE, "severity": "CRITICAL", "params": {"categories": [w["name"]]}}
    await ada(ADD_RULE, policy=w["policy"], rule=critical)
    await release(w, 1)
    finding = await owner_finding(w)
    waiver = (await ada(WAIVE, finding=finding["id"]))["requestWaiver"]["waiver"]["id"]
    assert (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    assert (await owner_finding(w))["status"] == "WAIVED"
    return finding, waiver


async def test_a_critical_finding_back_from_an_expired_waiver_is_not_escalated_at_once(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """First seen longer ago than the escalation delay, waived since, its waiver expires: it
    has been open again for a moment, and escalates once that delay has passed since."""
    w = world
    db, hours = settings.neo4j.database, settings.escalate_after_h + 1
    _, waiver = await critical_waived(w)
    await write(neo4j, db, AGED, name=w["name"], hours=hours)
    await write(neo4j, db, ENDED, urn=waiver)
    await w["ada"](EVALUATE, source=w["name"])  # expires the waiver, then escalates
    back = await owner_finding(w)
    assert (back["status"], back["escalatedAt"]) == ("OPEN", None)
    await write(neo4j, db, AGED, name=w["name"], hours=hours)
    await w["ada"](EVALUATE, source=w["name"])
    assert (await owner_finding(w))["escalatedAt"] is not None


async def test_a_critical_finding_back_from_a_revoked_waiver_is_not_escalated_at_once(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """As after an expiry: revoked, its finding is open again from now on."""
    w = world
    db, hours = settings.neo4j.database, settings.escalate_after_h + 1
    _, waiver = await critical_waived(w)
    await write(neo4j, db, AGED, name=w["name"], hours=hours)
    revoked = await w["bob"](REVOKE, waiver=waiver, reason="the owners will not move")
    assert revoked["revokeWaiver"]["errors"] == []
    await w["ada"](EVALUATE, source=w["name"])
    back = await owner_finding(w)
    assert (back["status"], back["escalatedAt"]) == ("OPEN", None)
    await write(neo4j, db, AGED, name=w["name"], hours=hours)
    await w["ada"](EVALUATE, source=w["name"])
    assert (await owner_finding(w))["escalatedAt"] is not None


# A waiver revoked before 0021: the finding open again, with no note of when.
REVOKED_BEFORE = """
MATCH (w:Waiver {urn: $waiver})-[:WAIVES]->(f:Finding)
SET w.status = 'revoked', w.closedAt = datetime() - duration({minutes: 5}),
    w.closedBy = w.approvedBy, w.closeReason = 'revoked before 0021', f.status = 'open'
REMOVE f.unwaivedAt
"""
UNWAIVED = "MATCH (f:Finding {urn: $urn}) RETURN f.unwaivedAt AS at"


async def test_migration_0021_dates_reopenings_by_a_waivers_end_made_before_it(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A critical finding its waiver's revocation reopened before 0021 (no ``unwaivedAt``) gets
    the revocation's time, and is not escalated at once; run again, the migration keeps it."""
    w = world
    db, hours = settings.neo4j.database, settings.escalate_after_h + 1
    finding, waiver = await critical_waived(w)
    await write(neo4j, db, AGED, name=w["name"], hours=hours)
    await write(neo4j, db, REVOKED_BEFORE, waiver=waiver)
    (migration,) = [m for m in load_migrations() if m.id == "0021_finding_unwaived_at"]
    await run_statements(neo4j, db, migration)
    (dated,) = await read(neo4j, db, UNWAIVED, urn=finding["id"])
    assert dated["at"] is not None
    await w["ada"](EVALUATE, source=w["name"])
    back = await owner_finding(w)
    assert (back["status"], back["escalatedAt"]) == ("OPEN", None)
    await run_statements(neo4j, db, migration)
    assert await read(neo4j, db, UNWAIVED, urn=finding["id"]) == [dated]
