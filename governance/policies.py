"""Policies as code: versions, their rules and tests, four-eyes approval, activation in OPA.

A version moves draft -> in_review -> approved -> active -> retired. Only a draft is edited
(editing a policy whose latest version is approved, active or retired starts the next draft
from it); submitting runs the version's test cases through OPA and refuses on a compile error
or a failing case; nobody who wrote a version may approve it; activation pushes the modules and
the new rule set to OPA (one data write switches it) and then records the rule set, numbered,
in the graph; rollback reactivates the version that was active before.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from neo4j import AsyncDriver
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.urns import policy_urn
from governance.frameworks import CONTROLS
from governance.opa import (
    ACTIVE,
    FINDINGS,
    PolicyEngine,
    RegoCompileError,
    RegoProblem,
)
from governance.templates import TEMPLATES, ScopeKind, Severity, check_params
from graph import masking as stored
from graph import sources
from graph.models import Policy, PolicyVersion, Rule, RuleSet, unit_of_work
from ml.taxonomy import BUILTIN


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ACTIVE = "active"
    RETIRED = "retired"


NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
# The one masking policy: its versions carry masking rules, not rule templates or Rego
# (governance/masking.py); with no version active, the shipped default masks.
MASKING_NAME = "masking"
MASKING = policy_urn(MASKING_NAME)


class WorkflowError(Exception):
    """An expected refusal; ``field`` names the argument at fault, if one is."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotFound(WorkflowError):
    """``field`` is what was not found (a NotFoundError names it), not the argument."""


class WrongState(WorkflowError):
    pass


class SelfApproval(WorkflowError):
    pass


class TestsFailed(WorkflowError):
    def __init__(self, run: TestRun) -> None:
        super().__init__(run.summary, "tests")
        self.run = run


class Violation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: str = Field(min_length=1)
    asset: str = Field(min_length=1)


class TestCase(BaseModel):
    """Asset facts in, the violations (rule id, asset URN) expected out; none: compliant."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=200)
    assets: list[dict[str, Any]]
    violations: list[Violation] = Field(default_factory=list)


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    expected: list[Violation]
    actual: list[Violation]


@dataclass(frozen=True)
class TestRun:
    passed: bool
    cases: list[CaseResult] = field(default_factory=list)
    problems: list[RegoProblem] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.problems:
            first = self.problems[0]
            return f"custom Rego does not compile: line {first.line}: {first.message}"
        failed = [c.name for c in self.cases if not c.passed]
        if failed:
            return f"{len(failed)} of {len(self.cases)} test case(s) failed: {', '.join(failed)}"
        return f"{len(self.cases)} test case(s) passed"


def _now() -> datetime:
    return datetime.now(UTC)


def version_key(policy: str, version: int) -> str:
    return f"{policy}@v{version}"


def custom_package(policy: PolicyVersion) -> str:
    """The Rego package a version's custom module is loaded as (its own, so versions coexist)."""
    name = policy.policy.rsplit(":", 1)[-1].replace("-", "_")
    return f"p_{name}_v{policy.version}"


PACKAGE = re.compile(r"^\s*package\s+\S+.*$", re.MULTILINE)


def custom_module(version: PolicyVersion) -> str:
    """The custom Rego with its package line replaced (same line count: errors keep lines)."""
    text = version.custom_rego or ""
    if not PACKAGE.search(text):
        raise RegoCompileError([RegoProblem("custom Rego must declare a package", 1, 1)])
    return PACKAGE.sub(f"package datawave.custom.{custom_package(version)}", text, count=1)


def module_id(version: PolicyVersion) -> str:
    return f"datawave/custom/{custom_package(version)}"


# -- reading ---------------------------------------------------------------------------------


async def get_policy(urn: str) -> Policy:
    policy = await Policy.nodes.get_or_none(key=urn)
    if policy is None:
        raise NotFound(f"no policy {urn}", urn)
    return policy


async def list_policies() -> list[Policy]:
    return await Policy.nodes.order_by("name").all()


async def versions_of(policy: str) -> list[PolicyVersion]:
    return await PolicyVersion.nodes.filter(policy=policy).order_by("version").all()


async def versions_page(policy: str, limit: int, after: int | None = None) -> list[PolicyVersion]:
    """Up to ``limit`` of a policy's versions, oldest first, after version ``after``: a policy
    gains a version each time it is edited after a release, so its history is read a page at
    a time."""
    found = PolicyVersion.nodes.filter(policy=policy)
    if after is not None:
        found = found.filter(version__gt=after)
    return await (await found.order_by("version").get_item(slice(None, limit))).all()


async def count_versions(policy: str) -> int:
    return await PolicyVersion.nodes.filter(policy=policy).get_len()


async def get_version(policy: str, version: int | None = None) -> PolicyVersion:
    """The given version of a policy, or its latest."""
    versions = await versions_of(policy)
    if not versions:
        raise NotFound(f"no policy {policy}", policy)
    if version is None:
        return versions[-1]
    for v in versions:
        if v.version == version:
            return v
    raise NotFound(f"{policy} has no version {version}", version_key(policy, version))


async def rules_of(version: PolicyVersion) -> list[Rule]:
    return sorted(await version.rules.all(), key=lambda r: r.name)


def rule_document(policy_name: str, rule: Rule) -> dict[str, Any]:
    """A rule as OPA sees it (``data.datawave.active.rules`` or a test's ``input.rules``)."""
    return {
        "id": f"{policy_name}/{rule.name}",
        "template": rule.template,
        "templateVersion": rule.template_version,
        "params": rule.params or {},
        "severity": rule.severity,
        "scope": {"kind": rule.scope_kind, "value": rule.scope_value},
        "controls": list(rule.controls or []),
    }


def policy_name(version: PolicyVersion) -> str:
    return version.policy.rsplit(":", 1)[-1]


async def content_hash(version: PolicyVersion) -> str:
    rules = [rule_document(policy_name(version), r) for r in await rules_of(version)]
    content = {"rules": rules, "custom": version.custom_rego, "tests": version.tests}
    if version.masking is not None:
        content["masking"] = version.masking
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


# -- editing ----------------------------------------------------------------------------------


async def create_policy(
    database: str,
    actor: str,
    name: str,
    description: str,
    domain: str | None,
    *,
    masking: bool = False,
) -> Policy:
    """A policy with an empty draft v1 written by ``actor``."""
    if (name == MASKING_NAME) != masking:
        raise WorkflowError("the masking policy is edited with setMaskingRules", "name")
    if not NAME.match(name):
        raise WorkflowError(
            "a policy name is 1-63 lower-case letters, digits and dashes, starting with a letter",
            "name",
        )
    urn = policy_urn(name)
    if await Policy.nodes.get_or_none(key=urn) is not None:
        raise WorkflowError(f"policy {name!r} exists already", "name")
    async with unit_of_work(database):
        policy = await Policy(
            key=urn, name=name, description=description, domain=domain, created_by=actor
        ).save()
        version = await _new_version(urn, 1, actor)
        await policy.versions.connect(version)
    return policy


async def _new_version(policy: str, number: int, actor: str) -> PolicyVersion:
    name = policy.rsplit(":", 1)[-1]
    return await PolicyVersion(
        key=version_key(policy, number),
        name=f"{name} v{number}",
        policy=policy,
        version=number,
        state=State.DRAFT,
        authors=[actor],
    ).save()


async def editable(database: str, policy: Policy, actor: str) -> PolicyVersion:
    """The version to edit: the draft, or a new draft copied from an approved, active or retired
    latest version. A version in review is frozen."""
    latest = await get_version(policy.key)
    if latest.state == State.DRAFT:
        if actor not in latest.authors:
            latest.authors = [*latest.authors, actor]
            await latest.save()
        return latest
    if latest.state == State.IN_REVIEW:
        raise WrongState(
            f"{latest.name} is in review: approve it, or send it back (returnPolicyVersion)",
            "policy",
        )
    async with unit_of_work(database):
        draft = await _new_version(policy.key, latest.version + 1, actor)
        draft.custom_rego, draft.tests = latest.custom_rego, latest.tests
        draft.masking = latest.masking
        await draft.save()
        await policy.versions.connect(draft)
        for rule in await rules_of(latest):
            await draft.rules.connect(await _copy_rule(rule, draft))
    return draft


async def _copy_rule(rule: Rule, version: PolicyVersion) -> Rule:
    return await Rule(
        key=f"{version.key}#{rule.name}",
        name=rule.name,
        template=rule.template,
        template_version=rule.template_version,
        params=rule.params,
        severity=rule.severity,
        scope_kind=rule.scope_kind,
        scope_value=rule.scope_value,
        controls=rule.controls,
    ).save()


@dataclass(frozen=True)
class RuleSpec:
    id: str
    template: str
    params: dict[str, Any]
    severity: Severity
    scope: ScopeKind = ScopeKind.GLOBAL
    scope_value: str | None = None
    controls: list[str] | None = None  # control URNs; None: the template's


def _checked_rule(policy: Policy, spec: RuleSpec) -> tuple[dict[str, Any], int, list[str]]:
    """Parameters with defaults, template version and controls of a rule; or why not."""
    if not NAME.match(spec.id):
        raise WorkflowError("a rule id is lower-case letters, digits and dashes", "id")
    params = check_params(spec.template, spec.params)  # UnknownTemplate, InvalidParams
    if (spec.scope is ScopeKind.GLOBAL) != (spec.scope_value is None):
        raise WorkflowError("a global rule has no scope value; other scopes need one", "scope")
    if policy.domain and (spec.scope, spec.scope_value) != (ScopeKind.DOMAIN, policy.domain):
        raise WorkflowError(
            f"rules of a policy of domain {policy.domain!r} are scoped to that domain", "scope"
        )
    unknown = [c for c in spec.controls or [] if c not in CONTROLS]
    if unknown:
        raise WorkflowError(f"unknown control(s) {', '.join(unknown)}", "controls")
    template = TEMPLATES.get(spec.template)
    defaults = list(template.controls) if template else []
    controls = defaults if spec.controls is None else spec.controls
    if not controls and not (template and template.operation):
        message = "name at least one control: findings are recorded per control a rule implements"
        raise WorkflowError(message, "controls")
    return params, template.version if template else 1, controls


# The taxonomy's label categories; those of labels in the catalog are looked up.
CATEGORIES = frozenset(label.category for label in BUILTIN)


async def check_scope(driver: AsyncDriver, database: str, spec: RuleSpec) -> None:
    """Refuse a scope value naming no domain, data source or label category: the rule would
    apply to nothing, and a framework it implements would read compliant."""
    value = spec.scope_value
    if value is None:
        return  # refused by ``_checked_rule`` unless global
    match spec.scope:
        case ScopeKind.DOMAIN:
            known = await _domain_exists(driver, database, value)
        case ScopeKind.SOURCE:
            known = await sources.get_source(driver, database, value) is not None
        case ScopeKind.CATEGORY:  # the part of a label's name before its first dot
            known = "." not in value and (
                value in CATEGORIES
                or value in (await stored.known(driver, database, [value], []))[0]
            )
        case _:
            return  # a global rule with a value: refused by ``_checked_rule``
    if not known:
        raise WorkflowError(
            f"no {spec.scope.value} {value!r}: the rule would apply to nothing", "scopeValue"
        )


async def _domain_exists(driver: AsyncDriver, database: str, domain: str) -> bool:
    return domain in (await stored.known(driver, database, [], [domain]))[1]


async def check_domain(driver: AsyncDriver, database: str, domain: str | None) -> None:
    """Refuse a policy of a domain that does not exist: its rules must be scoped to it, which
    ``check_scope`` refuses, so it could never hold one, and would keep its name for good."""
    if domain is not None and not await _domain_exists(driver, database, domain):
        raise WorkflowError(f"no domain {domain!r}", "domain")


async def _rules_policy(urn: str) -> Policy:
    """A policy of rule templates and Rego: any but the masking policy."""
    if urn == MASKING:
        raise WorkflowError("the masking policy holds masking rules: use setMaskingRules", "policy")
    return await get_policy(urn)


# The rules one policy version may hold. A version is reviewed and approved whole, and its
# rules are listed whole (PolicyVersion.rules, EffectiveRuleSet.rules): a real policy holds a
# few dozen (one per template and scope it enforces), so 200 is never reached by one a person
# reviews, while it keeps a version's document, its OPA data and its answers small.
MAX_RULES = 200


async def add_rule(database: str, actor: str, policy_urn_: str, spec: RuleSpec) -> PolicyVersion:
    """Add (or replace, by id) a rule in the policy's draft, which holds ``MAX_RULES`` at most."""
    policy = await _rules_policy(policy_urn_)
    params, template_version, controls = _checked_rule(policy, spec)
    draft = await editable(database, policy, actor)
    async with unit_of_work(database):
        old = await Rule.nodes.get_or_none(key=f"{draft.key}#{spec.id}")
        if old is not None:
            await old.delete()
        elif len(await draft.rules.all()) >= MAX_RULES:
            raise WorkflowError(
                f"{draft.name} holds {MAX_RULES} rules, the most a version may: replace one "
                "(by its id) or split the policy",
                "rule",
            )
        rule = await Rule(
            key=f"{draft.key}#{spec.id}",
            name=spec.id,
            template=spec.template,
            template_version=template_version,
            params=params,
            severity=spec.severity.value,
            scope_kind=spec.scope.value,
            scope_value=spec.scope_value,
            controls=controls,
        ).save()
        await draft.rules.connect(rule)
    return draft


async def update_version(
    database: str,
    actor: str,
    policy_urn_: str,
    *,
    custom_rego: str | None,
    tests: list[dict[str, Any]] | None,
) -> PolicyVersion:
    """Set the draft's custom Rego and/or test cases (None leaves one alone, '' clears Rego)."""
    if tests is not None:
        try:
            tests = [TestCase.model_validate(t).model_dump() for t in tests]
        except ValidationError as err:
            raise WorkflowError(f"invalid test case: {err.errors()[0]['msg']}", "tests") from err
    policy = await _rules_policy(policy_urn_)
    draft = await editable(database, policy, actor)
    if custom_rego is not None:
        draft.custom_rego = custom_rego or None
    if tests is not None:
        draft.tests = tests
    return await draft.save()


# -- testing and review -------------------------------------------------------------------------


async def test_version(engine: PolicyEngine, version: PolicyVersion) -> TestRun:
    """Compile the version's custom Rego in OPA and run each test case against its rules."""
    name = policy_name(version)
    rules = [rule_document(name, r) for r in await rules_of(version)]
    await engine.load_shipped()
    custom: list[dict[str, str]] = []
    loaded = bool(version.custom_rego) and version.state != State.ACTIVE
    try:
        if version.custom_rego:
            await engine.put_module(module_id(version), custom_module(version))
            custom = [{"package": custom_package(version), "policy": name}]
        cases = []
        for raw in version.tests or []:
            case = TestCase.model_validate(raw)
            decision = await engine.decide(
                f"{FINDINGS}/findings", {"assets": case.assets, "rules": rules, "custom": custom}
            )
            actual = sorted(
                {
                    Violation(rule=f["rule"].split("/", 1)[-1], asset=f["asset"])
                    for f in decision or []
                },
                key=lambda v: (v.rule, v.asset),
            )
            expected = sorted(set(case.violations), key=lambda v: (v.rule, v.asset))
            cases.append(CaseResult(case.name, actual == expected, expected, actual))
    except RegoCompileError as err:
        return TestRun(False, problems=err.problems)
    finally:
        if loaded:  # a draft's module is not in force: do not leave it in OPA
            await engine.delete_module(module_id(version))
    return TestRun(all(c.passed for c in cases), cases)


async def submit(database: str, engine: PolicyEngine, actor: str, policy_urn_: str) -> TestRun:
    """Run the draft's tests; if they pass, it goes to review."""
    draft = await get_version(policy_urn_)
    if draft.state != State.DRAFT:
        raise WrongState(f"{draft.name} is {draft.state}, not a draft", "policy")
    if not await rules_of(draft) and not draft.custom_rego and draft.masking is None:
        raise WorkflowError(f"{draft.name} has no rules", "policy")
    run = await test_version(engine, draft)
    if not run.passed:
        raise TestsFailed(run)
    draft.tested = await content_hash(draft)
    draft.state, draft.submitted_by, draft.submitted_at = State.IN_REVIEW, actor, _now()
    await draft.save()
    return run


MAX_NOTE = 2000


async def send_back(actor: str, policy_urn_: str, version: int, note: str) -> PolicyVersion:
    """A version in review goes back to draft, with why: its reviewer declines it, or its
    authors withdraw it to change it (it could only be approved before: in review, nothing
    edits it)."""
    if not 0 < len(note.strip()) <= MAX_NOTE:
        raise WorkflowError(f"say why, in 1 to {MAX_NOTE} characters", "note")
    v = await get_version(policy_urn_, version)
    if v.state != State.IN_REVIEW:
        raise WrongState(f"{v.name} is {v.state}, not in review", "version")
    v.state, v.returned_by, v.returned_at = State.DRAFT, actor, _now()
    v.return_note, v.submitted_by, v.submitted_at = note.strip(), None, None
    return await v.save()


async def approve(actor: str, policy_urn_: str, version: int) -> PolicyVersion:
    """Four eyes: no author of the version may approve it."""
    v = await get_version(policy_urn_, version)
    if v.state != State.IN_REVIEW:
        raise WrongState(f"{v.name} is {v.state}, not in review", "version")
    if actor in v.authors:
        raise SelfApproval(f"{actor} wrote {v.name}; someone else must approve it", "version")
    if v.tested != await content_hash(v):
        raise WrongState(f"{v.name} changed since its tests ran; submit it again", "version")
    v.state, v.approved_by, v.approved_at = State.APPROVED, actor, _now()
    return await v.save()


# -- activation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveRuleSet:
    version: int
    versions: list[PolicyVersion]
    rules: list[dict[str, Any]]
    custom: list[dict[str, str]]

    def document(self) -> dict[str, Any]:
        return {"version": self.version, "rules": self.rules, "custom": self.custom}

    @property
    def labelled_only(self) -> bool:
        """Only shipped templates are in force, none of which fails a column without counted
        labels (own or upstream): evaluation then skips the facts of such columns."""
        return not self.custom and all(r["template"] in TEMPLATES for r in self.rules)


async def _rule_set(version: int, versions: list[PolicyVersion]) -> ActiveRuleSet:
    rules, custom = [], []
    for v in sorted(versions, key=lambda v: v.key):
        rules += [rule_document(policy_name(v), r) for r in await rules_of(v)]
        if v.custom_rego:
            custom.append({"package": custom_package(v), "policy": policy_name(v)})
    return ActiveRuleSet(version, versions, rules, custom)


async def current_rule_set() -> ActiveRuleSet:
    """The latest recorded rule set (version 0 and no rules before any activation)."""
    latest = await RuleSet.nodes.order_by("-version").first_or_none()
    if latest is None:
        return ActiveRuleSet(0, [], [], [])
    return await _rule_set(latest.version, await latest.includes.all())


async def push(engine: PolicyEngine, rule_set: ActiveRuleSet) -> None:
    """Load the modules the rule set needs, then switch ``data.datawave.active`` in one write."""
    await engine.load_shipped()
    for v in rule_set.versions:
        if v.custom_rego:
            await engine.put_module(module_id(v), custom_module(v))
    await engine.put_data(ACTIVE, rule_set.document())


async def ensure_loaded(engine: PolicyEngine) -> ActiveRuleSet:
    """The rule set in force, pushed again if OPA lost it (restarted) or lags behind."""
    rule_set = await current_rule_set()
    loaded = await engine.get_data(f"{ACTIVE}/version")
    if loaded != rule_set.version:
        await push(engine, rule_set)
    return rule_set


async def ensure_version(engine: PolicyEngine) -> int:
    """The rule-set version in force, pushed again if OPA lags; cheaper than ``ensure_loaded``
    when OPA is current (one graph read, one OPA read), for checks on every governed call."""
    latest = await RuleSet.nodes.order_by("-version").first_or_none()
    version = latest.version if latest else 0
    if version and await engine.get_data(f"{ACTIVE}/version") != version:
        await push(engine, await current_rule_set())
    return version


async def _switch(
    database: str,
    engine: PolicyEngine,
    actor: str,
    policy: str,
    on: PolicyVersion | None,
    off: PolicyVersion | None,
) -> ActiveRuleSet:
    """Make ``on`` active (and ``off`` retired), both of ``policy``, in OPA, then the graph;
    no ``on``: no version of ``policy`` is in force any more."""
    current = await current_rule_set()
    versions = [v for v in current.versions if v.policy != policy] + ([on] if on else [])
    rule_set = await _rule_set(current.version + 1, versions)
    await push(engine, rule_set)  # OPA first: if it is down, nothing changed anywhere
    now = _now()
    async with unit_of_work(database):
        if off is not None:
            off.state, off.retired_at = State.RETIRED, now
            await off.save()
        if on is not None:
            on.state, on.activated_by, on.activated_at = State.ACTIVE, actor, now
            on.retired_at = None
            await on.save()
        node = await RuleSet(
            version=rule_set.version,
            name=f"rule set v{rule_set.version}",
            activated_by=actor,
            activated_at=now,
        ).save()
        for v in versions:
            await node.includes.connect(v)
    return rule_set


async def activate(
    database: str, engine: PolicyEngine, actor: str, policy_urn_: str, version: int
) -> ActiveRuleSet:
    v = await get_version(policy_urn_, version)
    if v.state != State.APPROVED:
        raise WrongState(f"{v.name} is {v.state}, not approved", "version")
    active = [x for x in await versions_of(policy_urn_) if x.state == State.ACTIVE]
    v.replaced = active[0].version if active else 0  # saved with the switch
    return await _switch(database, engine, actor, v.policy, v, active[0] if active else None)


async def rollback(
    database: str, engine: PolicyEngine, actor: str, policy_urn_: str
) -> ActiveRuleSet:
    """Retire the active version and reactivate the one its activation replaced: rollbacks
    undo activations in turn, never bringing back a version rolled back before. If none was
    in force before it, none is now (the masking policy's shipped default masks again)."""
    versions = await versions_of(policy_urn_)
    active = [v for v in versions if v.state == State.ACTIVE]
    if not active:
        raise WrongState(f"{policy_urn_} has no active version", "policy")
    current = active[0]
    if current.replaced is None:  # activated before activations recorded it: the latest before
        earlier = [v for v in versions if v.state == State.RETIRED and v.version < current.version]
    else:
        earlier = [v for v in versions if (v.version, v.state) == (current.replaced, State.RETIRED)]
    on = earlier[-1] if earlier else None
    return await _switch(database, engine, actor, policy_urn_, on, current)
