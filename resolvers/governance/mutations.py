"""The policy workflow and compliance evaluation through GraphQL.

Every mutation is authorized and audited (resolvers/audited.py) with the policy, finding or
waiver as its resource; expected refusals come back as typed payload errors (a compile error
with its line, an unknown parameter by name, four eyes, a failed test case, OPA unavailable).
Findings and waivers are held to the caller's domain and source scope as the ``findings``
query is: one out of scope reads as missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from core.urns import InvalidUrn, Urn, source_urn
from governance import evaluation, masking, policies, waivers
from governance.announce import announce_transition
from governance.evaluation import ALL_DOMAINS
from governance.opa import PolicyEngine, PolicyEngineUnavailable, RegoCompileError
from governance.templates import InvalidParams, ScopeKind, Severity, UnknownTemplate
from graph import catalog
from graph.catalog import AssetFilter, AssetKind
from graph.records import NodeRecord
from graph.sources import get_source
from resolvers.audited import guarded
from resolvers.common import InvalidInputError, NotFoundError, UserError
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.governance.types import (
    ComplianceStatus,
    MaskingRuleError,
    ParameterError,
    Policy,
    PolicyEngineUnavailableError,
    PolicyTestFailedError,
    PolicyTestRun,
    PolicyVersion,
    RegoError,
    SelfApprovalError,
    Waiver,
    WrongStateError,
)
from resolvers.guard import Guard
from resolvers.permissions import FORBIDDEN
from security.rbac import Permission, permission

POLICY_WRITE = permission("policy:write")
POLICY_APPROVE = permission("policy:approve")
COMPLIANCE_READ = permission("compliance:read")
COMPLIANCE_WRITE = permission("compliance:write")
P = TypeVar("P")


def user_errors(err: Exception) -> list[UserError]:
    """The typed payload errors of an expected refusal."""
    match err:
        case policies.SelfApproval():
            return [SelfApprovalError(message=str(err))]
        case policies.WrongState():
            return [WrongStateError(message=str(err))]
        case policies.NotFound():
            return [NotFoundError(urn=strawberry.ID(err.field), message=str(err))]
        case policies.TestsFailed():
            problems: list[UserError] = [RegoError.of(p) for p in err.run.problems]
            run = PolicyTestRun.of(err.run)
            return [*problems, PolicyTestFailedError(message=str(err), run=run)]
        case masking.InvalidRules():
            return [MaskingRuleError.of(p) for p in err.problems]
        case policies.WorkflowError():
            return [InvalidInputError(field=err.field, message=str(err))]
        case InvalidParams():
            return [
                ParameterError(message=f"{name}: {why}", template=err.template, parameter=name)
                for name, why in err.problems.items()
            ]
        case UnknownTemplate():
            return [InvalidInputError(field="template", message=str(err))]
        case RegoCompileError():
            return [RegoError.of(p) for p in err.problems]
        case PolicyEngineUnavailable():
            return [PolicyEngineUnavailableError(message=f"policy engine unavailable: {err}")]
    raise err


EXPECTED = (
    policies.WorkflowError,
    InvalidParams,
    UnknownTemplate,
    RegoCompileError,
    PolicyEngineUnavailable,
)


async def attempt(payload: Callable[..., P], work: Callable[[], Awaitable[dict[str, Any]]]) -> P:
    try:
        return payload(**await work())
    except EXPECTED as err:
        return payload(errors=user_errors(err))


def _policy(**kwargs: Any) -> str:
    if "input" in kwargs:
        return f"urn:dw:policy:{kwargs['input'].name}"
    return str(kwargs.get("policy", ""))


def _by(key: str) -> Callable[..., str]:
    return lambda **kwargs: str(kwargs.get(key, ""))


@strawberry.input(description="A new policy: global, or local to one domain.")
class CreatePolicyInput:
    name: str = strawberry.field(description="Lower-case letters, digits, dashes.")
    description: str = ""
    domain: str | None = None


@strawberry.input(description="A rule: a template (or `custom`) with parameters.")
class RuleInput:
    id: str
    template: str
    params: JSON = strawberry.field(default_factory=dict)
    severity: Severity = Severity.MEDIUM
    scope: ScopeKind = ScopeKind.GLOBAL
    scope_value: str | None = None
    controls: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Control URNs; omitted: the template's."
    )


@strawberry.type
class PolicyPayload:
    policy: Policy | None = None
    version: PolicyVersion | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PolicyTestPayload:
    run: PolicyTestRun | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="Scores of a framework in a domain (`*`: the whole estate).")
class ComplianceScore:
    framework: str
    domain: str
    status: ComplianceStatus
    score: float | None
    passed: int
    failed: int


@strawberry.type(description="What an evaluation did.")
class EvaluationSummary:
    rule_set_version: int
    assets: int
    opened: int = strawberry.field(
        description="Findings new or back (resolved before), or opened by a waiver's end."
    )
    waived: int = strawberry.field(
        description="Findings back while an approved waiver of them runs: waived, not opened."
    )
    resolved: int
    escalated: int = strawberry.field(description="Critical findings open too long, now.")
    scores: list[ComplianceScore]

    @classmethod
    def of(cls, e: evaluation.Evaluation, guard: Guard) -> EvaluationSummary:
        """What the caller may see of it: findings and scores of their scope (the estate's
        scores only without a restriction, as ``complianceReport`` has them)."""

        def seen(findings: list[dict[str, Any]]) -> int:
            return sum(1 for f in findings if _reaches(guard, COMPLIANCE_READ, f))

        return cls(
            rule_set_version=e.rule_set,
            assets=e.assets,
            opened=seen(e.opened),
            waived=seen(e.waived),
            resolved=seen(e.resolved),
            escalated=seen(e.escalated),
            scores=[
                ComplianceScore(**(vars(s) | {"status": ComplianceStatus(s.status)}))
                for s in e.scores
                if guard.unrestricted
                or (s.domain != ALL_DOMAINS and guard.can(COMPLIANCE_READ, domain=s.domain))
            ],
        )


@strawberry.type
class ActivationPayload:
    version: PolicyVersion | None = None
    rule_set_version: int | None = None
    evaluation: EvaluationSummary | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EvaluationPayload:
    evaluation: EvaluationSummary | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WaiverPayload:
    waiver: Waiver | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _reaches(guard: Guard, perm: Permission, finding: Mapping[str, Any]) -> bool:
    """``perm`` on a finding, by the guard's rule for findings (``Scope.FINDING``: every domain
    of its column, none when unassigned, and its source in the caller's scope), as ``node(id:)``
    and the ``findings`` query decide."""
    source = finding.get("source") or Urn.parse(finding["asset"]).source or ""
    props = {**finding, "source": source}
    record = NodeRecord(labels=["Finding"], props=props, domains=list(finding.get("domains") or ()))
    return guard.reaches(record, perm)


async def _waiver_step(
    info: Info, perm: Permission, step: Callable[..., Awaitable[Any]], *args: Any
) -> WaiverPayload:
    """One step of a waiver's life (governance/waivers.py: ``step(state, actor, *args,
    reaches)``) for the caller, within ``perm``'s scope of findings, as a payload."""

    async def work() -> dict[str, Any]:
        reaches = _within(info, perm)
        waiver = await step(info.context.state, _actor(info), *args, reaches)
        return {"waiver": Waiver.of(waiver)}

    return await attempt(WaiverPayload, work)


def _within(info: Info, perm: Permission) -> Callable[[Mapping[str, Any]], bool]:
    """``_reaches`` for the caller, a refusal audited (the finding then reads as missing)."""
    guard = info.context.guard

    def reaches(finding: Mapping[str, Any]) -> bool:
        if _reaches(guard, perm, finding):
            return True
        guard.audit.note(str(perm), finding["urn"], "denied", "out of scope")
        return False

    return reaches


async def _covers(info: Info, source: str) -> bool:
    """Whether the caller reaches every live column of ``source`` (as many as anyone does)."""
    domains, sources = info.context.guard.scope()
    driver, database = info.context.graph
    every = AssetFilter(source=source, kind=AssetKind.COLUMN)
    mine = replace(every, domains=domains, sources=sources)
    total, reached = await asyncio.gather(
        catalog.count_assets(driver, database, every),
        catalog.count_assets(driver, database, mine),
    )
    return total == reached


async def _known_source(info: Info, source: str) -> None:
    """Evaluating a source nobody registered would evaluate nothing and succeed: refuse it,
    and a name no source can have (empty) alike, rather than fail on its URN."""
    try:
        urn = source_urn(source)
    except InvalidUrn:
        urn = source
    else:
        if await get_source(*info.context.graph, source) is not None:
            return
    raise policies.NotFound(f"no data source {source}", urn)


async def _may_evaluate(info: Info, source: str | None) -> None:
    """An evaluation writes and announces the findings of every live column it reads: a
    scoped caller may evaluate a source only if all of its columns are in their scope."""
    guard = info.context.guard
    if guard.unrestricted:
        return
    if source is None:
        why = "name a source: your scope does not cover the whole estate"
    elif not (guard.can(COMPLIANCE_WRITE, source=source) and await _covers(info, source)):
        why = f"your scope does not cover every column of source {source!r}"
    else:
        return
    guard.audit.note(str(COMPLIANCE_WRITE), source or ALL_DOMAINS, "denied", "out of scope")
    raise coded(FORBIDDEN, f"forbidden: {why}")


async def _may_edit(info: Info, policy: str) -> None:
    """A domain-local policy is its domain's to write; a global one needs no domain limit."""
    try:
        domain = (await policies.get_policy(policy)).domain
    except policies.NotFound:
        return  # the workflow reports it as a payload error
    guard = info.context.guard
    if not (guard.can(POLICY_WRITE, domain=domain) if domain else guard.unrestricted):
        guard.audit.note(str(POLICY_WRITE), policy, "denied", "out of scope")
        raise coded(FORBIDDEN, f"forbidden: {policy} is outside your policy:write scope")


def _actor(info: Info) -> str:
    principal = info.context.guard.principal
    assert principal is not None  # the permission check ran first
    return principal.subject


def _database(info: Info) -> str:
    return info.context.state.settings.neo4j.database


def _engine(info: Info) -> PolicyEngine:
    return PolicyEngine(info.context.state.opa)


async def _latest(policy: str) -> dict[str, Any]:
    version = await policies.get_version(policy)
    return {"version": PolicyVersion.of(version)}


async def _announce(
    info: Info, policy: str, version: int, to: policies.State, rule_set: int | None = None
) -> None:
    await announce_transition(info.context.state, _actor(info), policy, version, to.value, rule_set)


async def _activated(info: Info, rule_set: policies.ActiveRuleSet, policy: str) -> dict[str, Any]:
    """After a switch of rule set: announce it (a masking policy to every API process too),
    then evaluate everything under it."""
    active = [v for v in rule_set.versions if v.policy == policy]
    # None in force (rolled back past its first version) is "version 0"; for the masking
    # policy, the shipped default.
    in_force = active[0].version if active else 0
    await _announce(info, policy, in_force, policies.State.ACTIVE, rule_set.version)
    if policy == policies.MASKING:
        await masking.announce(info.context.state)
    try:
        result = await evaluation.evaluate(info.context.state)
        summary = EvaluationSummary.of(result, info.context.guard)
    except PolicyEngineUnavailable:
        summary = None  # the next evaluation catches up
    return {
        "version": PolicyVersion.of(active[0]) if active else None,
        "rule_set_version": rule_set.version,
        "evaluation": summary,
    }


@strawberry.type
class GovernanceMutation:
    @strawberry.mutation(
        description="Create a policy with an empty draft v1.",
        extensions=guarded("policy:write", _policy),
    )
    async def create_policy(self, info: Info, input: CreatePolicyInput) -> PolicyPayload:
        guard, domain = info.context.guard, input.domain
        if not (guard.can(POLICY_WRITE, domain=domain) if domain else guard.unrestricted):
            raise coded(FORBIDDEN, "forbidden: global policies need policy:write everywhere")

        async def work() -> dict[str, Any]:
            await policies.check_domain(*info.context.graph, input.domain)
            p = await policies.create_policy(
                _database(info), _actor(info), input.name, input.description, input.domain
            )
            await _announce(info, p.key, 1, policies.State.DRAFT)
            return {"policy": Policy.of(p), **await _latest(p.key)}

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Add (or replace by id) a rule in the policy's draft version.",
        extensions=guarded("policy:write", _by("policy")),
    )
    async def add_rule(self, info: Info, policy: strawberry.ID, rule: RuleInput) -> PolicyPayload:
        await _may_edit(info, policy)
        spec = policies.RuleSpec(
            id=rule.id,
            template=rule.template,
            params=dict(rule.params or {}),
            severity=rule.severity,
            scope=rule.scope,
            scope_value=rule.scope_value,
            controls=[str(c) for c in rule.controls] if rule.controls is not None else None,
        )

        async def work() -> dict[str, Any]:
            await policies.check_scope(*info.context.graph, spec)
            v = await policies.add_rule(_database(info), _actor(info), policy, spec)
            return {"version": PolicyVersion.of(v)}

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Set the draft's custom Rego and/or its test cases "
        "([{name, assets, violations: [{rule, asset}]}]).",
        extensions=guarded("policy:write", _by("policy")),
    )
    async def update_policy_version(
        self,
        info: Info,
        policy: strawberry.ID,
        custom_rego: str | None = None,
        tests: JSON | None = None,
    ) -> PolicyPayload:
        await _may_edit(info, policy)

        async def work() -> dict[str, Any]:
            if tests is not None and not isinstance(tests, list):
                raise policies.WorkflowError("tests is a list of test cases", "tests")
            v = await policies.update_version(
                _database(info), _actor(info), policy, custom_rego=custom_rego, tests=tests
            )
            return {"version": PolicyVersion.of(v)}

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Run a version's test cases through OPA (its latest version by default).",
        extensions=guarded("policy:write", _by("policy")),
    )
    async def test_policy_version(
        self, info: Info, policy: strawberry.ID, version: int | None = None
    ) -> PolicyTestPayload:
        await _may_edit(info, policy)  # it loads the version's modules into OPA

        async def work() -> dict[str, Any]:
            v = await policies.get_version(policy, version)
            return {"run": PolicyTestRun.of(await policies.test_version(_engine(info), v))}

        return await attempt(PolicyTestPayload, work)

    @strawberry.mutation(
        description="Test the draft and, if every case passes, send it to review.",
        extensions=guarded("policy:write", _by("policy")),
    )
    async def submit_policy_version(self, info: Info, policy: strawberry.ID) -> PolicyPayload:
        await _may_edit(info, policy)

        async def work() -> dict[str, Any]:
            await policies.submit(_database(info), _engine(info), _actor(info), policy)
            latest = await _latest(policy)
            await _announce(info, policy, latest["version"].version, policies.State.IN_REVIEW)
            return latest

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Send a version in review back to draft, saying why: its reviewer "
        "declines it, or its authors withdraw it to change it.",
        extensions=guarded("policy:write", _by("policy")),
    )
    async def return_policy_version(
        self, info: Info, policy: strawberry.ID, version: int, note: str
    ) -> PolicyPayload:
        await _may_edit(info, policy)

        async def work() -> dict[str, Any]:
            v = await policies.send_back(_actor(info), policy, version, note)
            await _announce(info, policy, version, policies.State.DRAFT)
            return {"version": PolicyVersion.of(v)}

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Approve a version in review; its authors cannot (four eyes).",
        extensions=guarded("policy:approve", _by("policy")),
    )
    async def approve_policy_version(
        self, info: Info, policy: strawberry.ID, version: int
    ) -> PolicyPayload:
        async def work() -> dict[str, Any]:
            v = await policies.approve(_actor(info), policy, version)
            await _announce(info, policy, version, policies.State.APPROVED)
            return {"version": PolicyVersion.of(v)}

        return await attempt(PolicyPayload, work)

    @strawberry.mutation(
        description="Put an approved version in force (OPA first), then evaluate everything.",
        extensions=guarded("policy:approve", _by("policy")),
    )
    async def activate_policy_version(
        self, info: Info, policy: strawberry.ID, version: int
    ) -> ActivationPayload:
        async def work() -> dict[str, Any]:
            rule_set = await policies.activate(
                _database(info), _engine(info), _actor(info), policy, version
            )
            return await _activated(info, rule_set, policy)

        return await attempt(ActivationPayload, work)

    @strawberry.mutation(
        description="Retire the active version and reactivate the previous one; after the "
        "first version, none of the policy stays in force.",
        extensions=guarded("policy:approve", _by("policy")),
    )
    async def rollback_policy(self, info: Info, policy: strawberry.ID) -> ActivationPayload:
        async def work() -> dict[str, Any]:
            rule_set = await policies.rollback(_database(info), _engine(info), _actor(info), policy)
            return await _activated(info, rule_set, policy)

        return await attempt(ActivationPayload, work)

    @strawberry.mutation(
        description="Evaluate the live columns (of one source, or all) under the rule set in "
        "force; findings and scores are announced on complianceUpdates.",
        extensions=guarded("compliance:write", lambda **kw: str(kw.get("source") or "*")),
    )
    async def evaluate_compliance(self, info: Info, source: str | None = None) -> EvaluationPayload:
        await _may_evaluate(info, source)

        async def work() -> dict[str, Any]:
            if source is not None:
                await _known_source(info, source)
            result = await evaluation.evaluate(info.context.state, source=source)
            return {"evaluation": EvaluationSummary.of(result, info.context.guard)}

        return await attempt(EvaluationPayload, work)

    @strawberry.mutation(
        description="Ask to accept an open finding for a number of days.",
        extensions=guarded("compliance:write", _by("finding")),
    )
    async def request_waiver(
        self, info: Info, finding: strawberry.ID, reason: str, days: int = 30
    ) -> WaiverPayload:
        return await _waiver_step(
            info, COMPLIANCE_WRITE, waivers.request_waiver, finding, reason, days
        )

    @strawberry.mutation(
        description="Approve a waiver (by its URN) someone else requested; its finding becomes "
        "waived, announced on complianceUpdates.",
        extensions=guarded("policy:approve", _by("waiver")),
    )
    async def approve_waiver(self, info: Info, waiver: strawberry.ID) -> WaiverPayload:
        return await _waiver_step(info, POLICY_APPROVE, waivers.approve_waiver, waiver)

    @strawberry.mutation(
        description="Decline a waiver request (by its URN) awaiting approval, saying why; its "
        "requester withdraws it instead.",
        extensions=guarded("policy:approve", _by("waiver")),
    )
    async def decline_waiver(self, info: Info, waiver: strawberry.ID, reason: str) -> WaiverPayload:
        return await _waiver_step(info, POLICY_APPROVE, waivers.decline_waiver, waiver, reason)

    @strawberry.mutation(
        description="Withdraw your own waiver request (by its URN) awaiting approval, saying why.",
        extensions=guarded("compliance:write", _by("waiver")),
    )
    async def withdraw_waiver(
        self, info: Info, waiver: strawberry.ID, reason: str
    ) -> WaiverPayload:
        return await _waiver_step(info, COMPLIANCE_WRITE, waivers.withdraw_waiver, waiver, reason)

    @strawberry.mutation(
        description="Revoke an approved waiver (by its URN) before its end, saying why; its "
        "finding, if still waived, is open again at once, announced on complianceUpdates.",
        extensions=guarded("policy:approve", _by("waiver")),
    )
    async def revoke_waiver(self, info: Info, waiver: strawberry.ID, reason: str) -> WaiverPayload:
        return await _waiver_step(info, POLICY_APPROVE, waivers.revoke_waiver, waiver, reason)
