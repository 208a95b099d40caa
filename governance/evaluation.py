"""Compliance evaluation: facts from the graph, decisions from OPA in batches, findings back.

One OPA call per batch of columns (never one per asset), on the facts of the columns rules
can fail. Each finding OPA reports becomes one ``:Finding`` per control its rule implements;
only new and changed findings are written, and a batch's findings not reported again are
resolved. Reading, deciding and writing overlap (a pipeline of batches), and each batch's
finding changes are announced once written: on the Redis channels of ``complianceUpdates`` (per
domain, and ``*`` for the whole estate) and on ``datawave.compliance.v1``. Afterwards expired
waivers reopen their findings, scores per framework and domain are computed, appended
(history) and announced too. If OPA is unreachable the evaluation stops with
``PolicyEngineUnavailable``: nothing is resolved and no score is written, so nothing reads as
compliant because the engine was down.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from asyncio import FIRST_COMPLETED
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
from governance.policies import ActiveRuleSet, current_rule_set, ensure_loaded
from graph import compliance
from live.changes import ComplianceUpdate, publish_compliance_update
from live.state import AppState
from security.masking import PII_READ, Caller, Label, MaskingPolicy
from security.rbac import ROLES

log = logging.getLogger("datawave.compliance")

BATCH = 2000  # columns per batch: one facts query, one OPA call, one write transaction
IN_FLIGHT = 2  # batches being decided and written at once (two cores)
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
    # back while an approved waiver of them runs: waived again, not opened (announced so)
    waived: list[dict[str, Any]] = field(default_factory=list)
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


# The roles whose holders have no need to read sensitive values (no ``pii:read``), each with
# the permissions its holders have everywhere (security/rbac.py).
WITHOUT_NEED = {
    role: names
    for role, perms in ROLES.items()
    if PII_READ not in (names := frozenset(str(p) for p in perms))
}


def _masking(policy: MaskingPolicy, fact: dict[str, Any]) -> dict[str, str]:
    """How the column shows, per sensitivity, to the least protected holder of a role without
    ``pii:read``, under the masking policy in force (governance/masking.py): by its own labels
    and those it inherits, as reads mask it (resolvers/masking.py)."""
    held = [*(fact.get("labels") or ()), *(fact.get("inheritedLabels") or ())]
    labels = frozenset(
        Label.of(label["name"], label.get("sensitivity"), label.get("category"))
        for label in held
        if label.get("status") != "rejected"
    )
    return _exposure(policy, frozenset(fact.get("domains") or ()), labels)


@functools.lru_cache(maxsize=4096)
def _exposure(
    policy: MaskingPolicy, domains: frozenset[str], labels: frozenset[Label]
) -> dict[str, str]:
    """Memoised: a full evaluation asks for 10^5 columns, which share a few label sets and
    domains (deciding each anew cost ~35 us a column, on the event loop). Callers must not
    change the answer."""
    callers = [
        Caller(frozenset({role}), perms.__contains__, domains)
        for role, perms in WITHOUT_NEED.items()
    ]
    return policy.exposure(labels, callers)


async def _decide(
    engine: PolicyEngine, rule_set: ActiveRuleSet, facts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """OPA's findings over one batch's facts: one call per batch, made even for none, since
    its answer says whether the rule set is still the one in force."""
    decision = await engine.decide(FINDINGS, {"assets": facts}) or {}
    if decision.get("version", 0) != rule_set.version:
        raise StaleRuleSet
    return decision.get("findings", [])


def _controls(rule_set: ActiveRuleSet) -> set[str]:
    """The controls the rules in force implement: those a score counts."""
    return {c for rule in rule_set.rules for c in rule["controls"]}


class RuleSets:
    """The rule set in force, kept between evaluations: a watcher evaluates many small sets of
    columns under the same one, and reading its versions and rules is a round trip each. OPA
    names the version behind every decision (``_decide``): one that moved on (an activation)
    or went missing (a restarted OPA) is a ``StaleRuleSet``, after which the evaluation
    ``forget``s it and reads it again (pushed again if OPA lags, ``policies.ensure_loaded``)."""

    def __init__(self) -> None:
        self._known: ActiveRuleSet | None = None

    async def current(self, engine: PolicyEngine) -> ActiveRuleSet:
        if self._known is None:
            self._known = await ensure_loaded(engine)
        return self._known

    def forget(self) -> None:
        self._known = None


async def _pass(
    state: AppState,
    engine: PolicyEngine,
    rule_sets: RuleSets,
    source: str | None,
    urns: list[str] | None,
) -> Evaluation:
    """One pass over the columns as a pipeline: while the next batch's facts are read, up to
    ``IN_FLIGHT`` batches are decided by OPA, written and announced (each a query or request
    served by a thread of its own: on a busy machine that is a larger share of the CPU)."""
    driver, database = state.neo4j, state.settings.neo4j.database
    rule_set = await rule_sets.current(engine)
    result = Evaluation(rule_set=rule_set.version, controls=_controls(rule_set))
    masking = state.masker.policy  # the version in force when the pass starts

    def batch_after(after: str) -> asyncio.Task[tuple[list[str], list[dict[str, Any]]]]:
        return asyncio.create_task(
            compliance.column_facts(
                driver,
                database,
                after=after,
                limit=BATCH,
                source=source,
                urns=urns,
                labelled_only=rule_set.labelled_only,
            )
        )

    async def process(columns: list[str], facts: list[dict[str, Any]]) -> None:
        for f in facts:
            f["masking"] = _masking(masking, f)
        found = await _decide(engine, rule_set, facts)
        rows = _finding_rows(found, rule_set, {f["urn"]: f for f in facts})
        back, resolved = await compliance.record_findings(
            driver, database, version=rule_set.version, assets=columns, rows=rows,
            now=datetime.now(UTC),
        )  # fmt: skip
        result.assets += len(columns)
        result.opened += [f for f in back if f["status"] != "waived"]
        result.waived += [f for f in back if f["status"] == "waived"]
        result.resolved += resolved
        # each as it stands now: a finding back under a running waiver is announced waived
        await _publish(state, _finding_updates(rule_set.version, [*back, *resolved]))

    async def nothing() -> tuple[list[str], list[dict[str, Any]]]:
        return [], []

    upcoming = batch_after("")
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while (batch := await upcoming)[0]:
            # A short batch was the last one: no read for what cannot follow it.
            more = len(batch[0]) == BATCH
            upcoming = batch_after(batch[0][-1]) if more else asyncio.create_task(nothing())
            if len(in_flight) >= IN_FLIGHT:
                done, in_flight = await asyncio.wait(in_flight, return_when=FIRST_COMPLETED)
                for task in done:
                    task.result()  # a failed batch stops the pass
            in_flight.add(asyncio.create_task(process(*batch)))
        for task in asyncio.as_completed(in_flight):
            await task
    finally:
        pending = [upcoming, *in_flight]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return result


async def evaluate(
    state: AppState, *, source: str | None = None, urns: list[str] | None = None
) -> Evaluation:
    """Evaluate the live columns (of ``source``, or ``urns``, or all) under the rule set in
    force, then settle what follows; raises ``PolicyEngineUnavailable`` when OPA cannot
    answer."""
    result = await evaluate_columns(state, source=source, urns=urns)
    await settle(state, result)
    return result


async def evaluate_columns(
    state: AppState,
    *,
    source: str | None = None,
    urns: list[str] | None = None,
    rule_sets: RuleSets | None = None,
) -> Evaluation:
    """The findings part of ``evaluate``: each batch's opened and resolved findings are
    written and announced; waivers, escalations and scores are left to ``settle``."""
    engine = PolicyEngine(state.opa)
    rule_sets = rule_sets or RuleSets()
    if urns is None:  # frameworks are code: a full evaluation (every activation) syncs them
        driver, database = state.neo4j, state.settings.neo4j.database
        await compliance.sync_frameworks(driver, database, framework_rows())
    try:
        return await _pass(state, engine, rule_sets, source, urns)
    except StaleRuleSet:
        rule_sets.forget()
        return await _pass(state, engine, rule_sets, source, urns)


async def settle(state: AppState, result: Evaluation) -> None:
    """What follows an evaluation's findings: expired waivers reopen theirs, critical findings
    open too long escalate, scores are computed, appended and announced (into ``result``)."""
    if not result.rule_set:
        return  # no rule set was ever activated: nothing to score
    driver, database = state.neo4j, state.settings.neo4j.database
    now = datetime.now(UTC)
    reopened = await compliance.expire_waivers(driver, database, now)
    result.opened += reopened
    result.escalated = await escalate(state, now)
    await _score(state, result, now)
    # Each batch announced its findings as it wrote them (_pass); now the rest.
    await announce(state, Evaluation(result.rule_set, result.controls, opened=reopened,
                                     escalated=result.escalated, scores=result.scores))  # fmt: skip


async def _score(state: AppState, result: Evaluation, now: datetime) -> None:
    """Scores from the findings as they stand, into ``result`` and appended to the history."""
    driver, database = state.neo4j, state.settings.neo4j.database
    open_findings, waived_domains = await compliance.open_by_control(driver, database)
    result.scores = scores(open_findings, result, waived_domains)
    await compliance.record_scores(
        driver, database, [_score_row(s, result.rule_set) for s in result.scores], now
    )


async def rescore(state: AppState) -> None:
    """Scores after a finding changed outside an evaluation (its waiver approved), recorded
    and announced as an evaluation's: else a report would read non-compliant with every
    control passed until some change in the domain made an evaluation score it again."""
    rule_set = await current_rule_set()
    if not rule_set.version:
        return
    result = Evaluation(rule_set.version, _controls(rule_set))
    await _score(state, result, datetime.now(UTC))
    await announce(state, Evaluation(result.rule_set, result.controls, scores=result.scores))


async def warm_up(state: AppState, rule_sets: RuleSets) -> None:
    """What a watcher's first evaluation would otherwise wait for: the rule set read and in
    OPA, the connection to OPA open, the facts and findings queries planned by Neo4j."""
    engine = PolicyEngine(state.opa)
    driver, database = state.neo4j, state.settings.neo4j.database
    await rule_sets.current(engine)
    await engine.decide(FINDINGS, {"assets": []})
    await compliance.column_facts(driver, database, urns=[], limit=1)
    await compliance.prepare_findings(driver, database)


async def effective_rules(state: AppState, urn: str) -> tuple[int, list[dict[str, Any]]]:
    """The rule-set version in force and its rules that apply to the asset (a column, or any
    column of a table) by their scope, as OPA resolves them."""
    engine = PolicyEngine(state.opa)
    driver, database = state.neo4j, state.settings.neo4j.database
    rule_set = await ensure_loaded(engine)
    columns = await compliance.columns_of(driver, database, [urn])
    _, facts = await compliance.column_facts(driver, database, urns=columns, limit=len(columns) + 1)
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


def scores(
    open_findings: list[dict[str, Any]], result: Evaluation, waived_domains: Iterable[str] = ()
) -> list[Score]:
    """Per framework and domain: controls implemented by rules in force that have no open
    finding there, over all implemented controls. Any open high or critical finding makes the
    domain non-compliant; other open findings put it at risk; a framework no rule implements
    is ``not_covered``, never compliant. Scored are the estate and the domains of open, waived
    and just resolved findings: a domain whose last open finding was waived is scored again."""
    failing: dict[tuple[str, str], set[str]] = defaultdict(set)
    severe: set[tuple[str, str]] = set()
    domains = {ALL_DOMAINS, *waived_domains}
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
    escalated = [{**f, "status": ESCALATED} for f in result.escalated]
    findings = [*result.opened, *result.waived, *result.resolved, *escalated]
    await _publish(state, [*_score_updates(result), *_finding_updates(result.rule_set, findings)])


def _score_updates(result: Evaluation) -> list[ComplianceUpdate]:
    return [
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


async def announce_finding(state: AppState, finding: dict[str, Any]) -> None:
    """A finding whose status changed outside an evaluation (its waiver approved), under the
    rule-set version that last reported it."""
    await _publish(state, _finding_updates(finding.get("ruleSetVersion") or 0, [finding]))


def _finding_updates(rule_set: int, findings: list[dict[str, Any]]) -> list[ComplianceUpdate]:
    """One update per finding and domain it is in, and one for the estate (``*``)."""
    return [
        ComplianceUpdate(
            domain=domain,
            framework=f["framework"],
            status=f["status"],
            urn=f["urn"],
            rule_set_version=rule_set or None,
            message=f["message"],
        )
        for f in findings
        for domain in [ALL_DOMAINS, *(f.get("domains") or [])]
    ]


async def _publish(state: AppState, updates: list[ComplianceUpdate]) -> None:
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
