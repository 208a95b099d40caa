"""Compliance evaluation: facts from the graph, decisions from OPA in batches, findings back.

One OPA call per batch of columns (never one per asset). Each finding OPA reports becomes one
``:Finding`` per control its rule implements; a batch's findings not reported again are
resolved. Afterwards expired waivers reopen their findings, scores per framework and domain are
computed and appended (history), and every change is announced: on the Redis channels of
``complianceUpdates`` (per domain, and ``*`` for the whole estate) and on
``datawave.compliance.v1``. If OPA is unreachable the evaluation stops with
``PolicyEngineUnavailable``: nothing is resolved and no score is written, so nothing reads as
compliant because the engine was down.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from core.events import Event
from core.topics import COMPLIANCE
from core.urns import finding_urn, framework_urn
from governance.frameworks import CONTROLS, FRAMEWORKS
from governance.opa import FINDINGS, PolicyEngine
from governance.policies import ActiveRuleSet, ensure_loaded
from graph import compliance
from live.changes import ComplianceUpdate, publish_compliance_update
from live.state import AppState

log = logging.getLogger("datawave.compliance")

BATCH = 500
ALL_DOMAINS = "*"  # the complianceUpdates channel and score of the whole estate
ESCALATED = "escalated"  # the status of a finding's update when it is escalated


class StaleRuleSet(Exception):
    """A rule set was activated while this evaluation ran; it starts again."""


@dataclass(frozen=True)
class Score:
    framework: str
    domain: str
    status: str  # compliant, at_risk, non_compliant
    score: float | None
    passed: int
    failed: int


@dataclass
class Evaluation:
    rule_set: int = 0
    controls: set[str] = field(default_factory=set)  # implemented by the rules in force
    assets: int = 0
    opened: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    escalated: list[dict[str, Any]] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)


def _finding_rows(
    decisions: Iterable[dict[str, Any]], rule_set: ActiveRuleSet, facts: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    rules = {r["id"]: r for r in rule_set.rules}
    rows = []
    for d in decisions:
        rule = rules.get(d["rule"])
        if rule is None or d["asset"] not in facts:
            log.warning("decision for an unknown rule or asset skipped: %s", d)
            continue
        for control in rule["controls"]:
            framework = CONTROLS[control].framework if control in CONTROLS else ""
            digest = hashlib.sha256(f"{d['asset']}|{d['rule']}|{control}".encode()).hexdigest()
            rows.append(
                {
                    "urn": finding_urn(digest[:24]),
                    "name": f"{d['rule']} {control.rsplit(':', 1)[-1]}",
                    "asset": d["asset"],
                    "source": facts[d["asset"]]["source"],
                    "rule": d["rule"],
                    "control": control,
                    "framework": framework,
                    "severity": rule["severity"],
                    "message": d.get("message", ""),
                    "evidence": json.dumps(d.get("evidence", {}), sort_keys=True),
                    "domains": facts[d["asset"]]["domains"],
                }
            )
    return rows


async def escalate(state: AppState, now: datetime) -> list[dict[str, Any]]:
    """Critical findings open longer than ``escalate_after_h``, each escalated once."""
    before = now - timedelta(hours=state.settings.escalate_after_h)
    return await compliance.escalate(state.neo4j, state.settings.neo4j.database, before, now)


def _event_type(update: ComplianceUpdate) -> str:
    if update.urn is None:
        return "datawave.compliance.score.v1"
    if update.status == ESCALATED:
        return "datawave.compliance.escalation.v1"
    return "datawave.compliance.finding.v1"


def _masking(state: AppState) -> dict[str, str]:
    """How each sensitivity shows to roles without ``pii:read`` (security/masking.py)."""
    masking = state.settings.masking
    return {"confidential": masking.confidential.value, "restricted": masking.restricted.value}


async def _pass(
    state: AppState, engine: PolicyEngine, source: str | None, urns: list[str] | None
) -> Evaluation:
    """One pass over the columns; the next batch's facts are read while OPA decides on this
    one and its findings are written."""
    driver, database = state.neo4j, state.settings.neo4j.database
    rule_set = await ensure_loaded(engine)
    controls = {c for rule in rule_set.rules for c in rule["controls"]}
    result = Evaluation(rule_set=rule_set.version, controls=controls)
    masking = _masking(state)

    def batch_after(after: str) -> asyncio.Task[list[dict[str, Any]]]:
        return asyncio.create_task(
            compliance.column_facts(
                driver, database, after=after, limit=BATCH, source=source, urns=urns
            )
        )

    upcoming = batch_after("")
    try:
        while facts := await upcoming:
            upcoming = batch_after(facts[-1]["urn"])
            for f in facts:
                f["masking"] = masking
            decision = await engine.decide(FINDINGS, {"assets": facts}) or {}
            if decision.get("version", 0) != rule_set.version:
                raise StaleRuleSet
            by_urn = {f["urn"]: f for f in facts}
            rows = _finding_rows(decision.get("findings", []), rule_set, by_urn)
            opened, resolved = await compliance.record_findings(
                driver,
                database,
                version=rule_set.version,
                assets=list(by_urn),
                rows=rows,
                now=datetime.now(UTC),
            )
            result.assets += len(facts)
            result.opened += opened
            result.resolved += resolved
    finally:
        upcoming.cancel()
        await asyncio.gather(upcoming, return_exceptions=True)
    return result


async def evaluate(
    state: AppState, *, source: str | None = None, urns: list[str] | None = None
) -> Evaluation:
    """Evaluate the live columns (of ``source``, or ``urns``, or all) under the rule set in
    force; raises ``PolicyEngineUnavailable`` when OPA cannot answer."""
    engine = PolicyEngine(state.opa)
    driver, database = state.neo4j, state.settings.neo4j.database
    await compliance.sync_frameworks(driver, database, framework_rows())
    try:
        result = await _pass(state, engine, source, urns)
    except StaleRuleSet:
        result = await _pass(state, engine, source, urns)
    if not result.rule_set:
        return result  # no rule set was ever activated: nothing to score
    now = datetime.now(UTC)
    result.opened += await compliance.expire_waivers(driver, database, now)
    result.escalated = await escalate(state, now)
    result.scores = scores(await compliance.open_by_control(driver, database), result)
    await compliance.record_scores(
        driver, database, [_score_row(s, result.rule_set) for s in result.scores], now
    )
    await announce(state, result)
    return result


async def effective_rules(state: AppState, urn: str) -> tuple[int, list[dict[str, Any]]]:
    """The rule-set version in force and its rules that apply to the asset (a column, or any
    column of a table) by their scope, as OPA resolves them."""
    engine = PolicyEngine(state.opa)
    driver, database = state.neo4j, state.settings.neo4j.database
    rule_set = await ensure_loaded(engine)
    columns = await compliance.columns_of(driver, database, [urn])
    facts = await compliance.column_facts(driver, database, urns=columns, limit=len(columns) + 1)
    if not facts:
        return rule_set.version, []
    applicable = await engine.decide(f"{FINDINGS}/applicable", {"assets": facts}) or {}
    ids = {rule_id for ids in applicable.values() for rule_id in ids}
    return rule_set.version, [r for r in rule_set.rules if r["id"] in ids]


def framework_rows() -> list[dict[str, str]]:
    return [
        {
            "framework": f.urn,
            "frameworkId": f.id,
            "frameworkName": f.name,
            "urn": c.urn,
            "id": c.id,
            "name": f"{f.name} {c.citation}",
            "title": c.title,
            "citation": c.citation,
        }
        for f in FRAMEWORKS.values()
        for c in f.controls
    ]


def scores(open_findings: list[dict[str, Any]], result: Evaluation) -> list[Score]:
    """Per framework and domain: controls implemented by rules in force that have no open
    finding there, over all implemented controls. Any open high or critical finding makes the
    domain non-compliant; other open findings put it at risk; a framework no rule implements
    is ``not_covered``, never compliant."""
    failing: dict[tuple[str, str], set[str]] = defaultdict(set)
    severe: set[tuple[str, str]] = set()
    domains = {ALL_DOMAINS}
    for f in [*open_findings, *result.resolved]:
        domains.update(f.get("domains") or [])
    for f in open_findings:
        framework = f["framework"]
        for domain in [ALL_DOMAINS, *(f.get("domains") or [])]:
            failing[(framework, domain)].add(f["control"])
            if f["severity"] in ("high", "critical"):
                severe.add((framework, domain))
    out = []
    for fw in FRAMEWORKS.values():
        controls = [c.urn for c in fw.controls if c.urn in result.controls]
        for domain in sorted(domains):
            failed = len(failing[(fw.id, domain)])
            total = len(controls)
            if not total:
                status = "not_covered"
            elif failed:
                status = "non_compliant" if (fw.id, domain) in severe else "at_risk"
            else:
                status = "compliant"
            score = round((total - failed) / total, 4) if total else None
            out.append(Score(fw.id, domain, status, score, total - failed, failed))
    return out


def _score_row(score: Score, rule_set: int) -> dict[str, Any]:
    return {
        "framework": score.framework,
        "domain": score.domain,
        "status": score.status,
        "score": score.score,
        "passed": score.passed,
        "failed": score.failed,
        "ruleSetVersion": rule_set,
    }


async def announce(state: AppState, result: Evaluation) -> None:
    """Scores and finding changes to ``complianceUpdates`` subscribers and to Kafka."""
    updates = [
        ComplianceUpdate(
            domain=s.domain,
            framework=s.framework,
            status=s.status,
            score=s.score,
            rule_set_version=result.rule_set or None,
            message=f"{s.passed} control(s) pass, {s.failed} fail",
        )
        for s in result.scores
    ]
    escalated = [{**f, "status": ESCALATED} for f in result.escalated]
    for f in [*result.opened, *result.resolved, *escalated]:
        for domain in [ALL_DOMAINS, *(f.get("domains") or [])]:
            updates.append(
                ComplianceUpdate(
                    domain=domain,
                    framework=f["framework"],
                    status=f["status"],
                    urn=f["urn"],
                    rule_set_version=result.rule_set or None,
                    message=f["message"],
                )
            )
    # The findings and scores are written: a lost announcement is logged, not a failed evaluation.
    try:
        await publish_compliance_update(state.redis, *updates)
    except RedisError as err:
        log.warning("%d compliance update(s) not broadcast: %s", len(updates), err)
    events = [
        Event(
            source=framework_urn(u.framework),
            type=_event_type(u),
            subject=u.urn or framework_urn(u.framework),
            data=u.model_dump(mode="json"),
        )
        for u in updates
    ]
    try:  # queued together; the producer batches them
        sent = [await state.producer.send(COMPLIANCE, e.to_bytes(), key=e.key) for e in events]
        await asyncio.gather(*sent)
    except KafkaError as err:
        log.warning("compliance events not sent to %s: %s", COMPLIANCE, err)
