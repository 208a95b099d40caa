"""Governance as GraphQL types: policies and their versions, rule templates, frameworks,
findings, waivers, compliance reports, and the typed errors of the policy workflow."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON

from governance import masking, policies, reports
from governance.frameworks import FRAMEWORKS
from governance.frameworks import Control as ControlSpec
from governance.frameworks import Framework as FrameworkSpec
from governance.opa import RegoProblem
from governance.templates import ScopeKind, Severity, Template
from graph.models import PolicyVersion as VersionNode
from graph.models import Rule as RuleNode
from graph.records import NodeRecord
from resolvers.common import Connection, Node, UserError
from resolvers.pagination import DEFAULT_PAGE_SIZE, number_after, read_page
from security.masking import MaskingPolicy, Treatment

strawberry.enum(Severity, description="How much a finding of a rule matters.")
strawberry.enum(ScopeKind, description="Where a rule applies.")
strawberry.enum(policies.State, name="PolicyState", description="Where a policy version stands.")
strawberry.enum(Treatment, name="MaskingTreatment", description="How a caller sees a value.")
strawberry.enum(
    masking.Problem, name="MaskingRuleProblem", description="What is wrong with a rule."
)
strawberry.enum(
    reports.ControlStatus,
    description="How a control stands in a report; NOT_COVERED: no rule in force checks it.",
)


@strawberry.enum(description="Sensitivities whose values are masked.")
class MaskedSensitivity(Enum):
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


@strawberry.enum(description="Where a finding stands.")
class FindingStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"
    WAIVED = "waived"


@strawberry.enum(description="How a framework stands in a domain; never compliant by default.")
class ComplianceStatus(Enum):
    COMPLIANT = "compliant"
    AT_RISK = "at_risk"
    NON_COMPLIANT = "non_compliant"
    NOT_COVERED = "not_covered"
    UNKNOWN = "unknown"


@strawberry.enum(description="Formats a compliance report exports to.")
class ExportFormat(Enum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def native(value: Any) -> datetime | None:
    """A Neo4j or Python datetime, or the ISO text of one (a lookup by URN's, graph/records.py),
    or None, as a Python datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value.to_native() if hasattr(value, "to_native") else value


@strawberry.type(description="A parameter of a rule template, with its type and default.")
class TemplateParameter:
    name: str
    type: str
    default: JSON | None


@strawberry.type(description="A shipped Rego module with typed parameters, versioned.")
class RuleTemplate:
    id: strawberry.ID
    version: int
    description: str
    parameters: list[TemplateParameter]
    controls: list[strawberry.ID] = strawberry.field(description="Controls it implements.")
    rego: str

    @classmethod
    def of(cls, t: Template) -> Self:
        schema = t.params.model_json_schema()["properties"]
        params = [
            TemplateParameter(
                name=name,
                type=json.dumps({k: v for k, v in spec.items() if k in ("type", "items")}),
                default=t.params().model_dump()[name],
            )
            for name, spec in schema.items()
        ]
        return cls(
            id=strawberry.ID(t.id),
            version=t.version,
            description=t.description,
            parameters=params,
            controls=[strawberry.ID(c) for c in t.controls],
            rego=t.module,
        )


@strawberry.type(description="A requirement of a framework, citing its article.")
class Control(Node):
    framework: str
    code: str
    title: str
    citation: str

    @classmethod
    def of(cls, c: ControlSpec) -> Self:
        return cls(
            id=strawberry.ID(c.urn), framework=c.framework, code=c.id, title=c.title,
            citation=c.citation,
        )  # fmt: skip

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        """As every full evaluation syncs it from the code (graph/compliance.py)."""
        p = record.props
        return cls.of(ControlSpec(p["framework"], p["id"], p["title"], p["citation"]))


@strawberry.type(description="A compliance framework (GDPR, PCI DSS, HIPAA, CCPA) as data.")
class Framework(Node):
    code: str
    name: str
    controls: list[Control]

    @classmethod
    def of(cls, f: FrameworkSpec) -> Self:
        return cls(
            id=strawberry.ID(f.urn),
            code=f.id,
            name=f.name,
            controls=[Control.of(c) for c in f.controls],
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        """The framework the code defines (the graph's copy, synced by every full evaluation,
        names it; one no longer in the code shows without controls)."""
        p = record.props
        return cls.of(FRAMEWORKS.get(p["id"]) or FrameworkSpec(p["id"], p["name"], ()))


@strawberry.type(description="A template applied with parameters, a severity and a scope.")
class Rule:
    id: str
    template: str
    template_version: int
    params: JSON
    severity: Severity
    scope: ScopeKind
    scope_value: str | None
    controls: list[strawberry.ID]

    @classmethod
    def of(cls, r: RuleNode) -> Self:
        return cls(
            id=r.name,
            template=r.template,
            template_version=r.template_version,
            params=r.params or {},
            severity=Severity(r.severity),
            scope=ScopeKind(r.scope_kind),
            scope_value=r.scope_value,
            controls=[strawberry.ID(c) for c in r.controls or []],
        )


@strawberry.type(description="A rule in force: `<policy>/<rule id>`, from the active rule set.")
class EffectiveRule:
    id: str
    template: str
    template_version: int
    params: JSON
    severity: Severity
    scope: ScopeKind
    scope_value: str | None
    controls: list[strawberry.ID]

    @classmethod
    def of(cls, r: dict[str, Any]) -> Self:
        return cls(
            id=r["id"],
            template=r["template"],
            template_version=r["templateVersion"],
            params=r["params"],
            severity=Severity(r["severity"]),
            scope=ScopeKind(r["scope"]["kind"]),
            scope_value=r["scope"]["value"],
            controls=[strawberry.ID(c) for c in r["controls"]],
        )


@strawberry.type(
    description="A masking rule: conditions that all must hold (empty ones match "
    "anything), and how a caller they match sees the values of a label."
)
class MaskingRule:
    labels: list[str] = strawberry.field(description="Label names or categories.")
    sensitivity: MaskedSensitivity | None
    roles: list[str] = strawberry.field(description="The caller has one of these roles.")
    permission: str | None = strawberry.field(
        description="The caller holds it (e.g. pii:read) in the column's scope."
    )
    domain: str | None = strawberry.field(description="The column is in this domain.")
    treatment: Treatment


@strawberry.type(
    description="Masking rules: for each sensitive label on a column, the first rule "
    "that matches decides, else the default; a column shows as the strictest of its labels."
)
class MaskingRules:
    version: int = strawberry.field(
        description="The masking policy version; 0: the shipped default (pii:read in scope "
        "sees clear, others by sensitivity)."
    )
    rules: list[MaskingRule]
    default: Treatment

    @classmethod
    def of(cls, p: MaskingPolicy) -> Self:
        rules = [
            MaskingRule(
                labels=sorted(r.labels),
                sensitivity=MaskedSensitivity(r.sensitivity) if r.sensitivity else None,
                roles=sorted(r.roles),
                permission=r.permission,
                domain=r.domain,
                treatment=r.treatment,
            )
            for r in p.rules
        ]
        return cls(version=p.version, rules=rules, default=p.default)


@strawberry.type(description="One version of a policy: rules, custom Rego, tests, approval.")
class PolicyVersion:
    policy: strawberry.ID
    version: int
    state: policies.State
    authors: list[str]
    custom_rego: str | None
    tests: JSON
    submitted_by: str | None
    returned_by: str | None = strawberry.field(
        description="Who last sent it back from review to draft (declined or withdrawn)."
    )
    return_note: str | None = strawberry.field(description="Why it was sent back.")
    approved_by: str | None
    activated_by: str | None
    activated_at: datetime | None
    node: strawberry.Private[VersionNode]

    @strawberry.field
    async def rules(self) -> list[Rule]:
        return [Rule.of(r) for r in await policies.rules_of(self.node)]

    @strawberry.field(description="The masking policy's versions only: their masking rules.")
    def masking(self) -> MaskingRules | None:
        doc = self.node.masking
        return None if doc is None else MaskingRules.of(masking.from_document(doc, self.version))

    @classmethod
    def of(cls, v: VersionNode) -> Self:
        return cls(
            policy=strawberry.ID(v.policy),
            version=v.version,
            state=policies.State(v.state),
            authors=list(v.authors or []),
            custom_rego=v.custom_rego,
            tests=v.tests or [],
            submitted_by=v.submitted_by,
            returned_by=v.returned_by,
            return_note=v.return_note,
            approved_by=v.approved_by,
            activated_by=v.activated_by,
            activated_at=native(v.activated_at),
            node=v,
        )


@strawberry.type(description="A named set of rules, global or local to one domain, versioned.")
class Policy(Node):
    name: str
    description: str
    domain: str | None = strawberry.field(description="Local to this domain; null: global.")

    @strawberry.field(description="Its versions, oldest first.")
    async def versions(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[PolicyVersion]:
        start = number_after(after, "versions")
        return await read_page(
            lambda limit: policies.versions_page(self.id, limit, start),
            lambda: policies.count_versions(self.id),
            PolicyVersion.of, lambda v: [str(v.version)], first,
        )  # fmt: skip

    @strawberry.field(description="The version in force, if any.")
    async def active_version(self) -> PolicyVersion | None:
        found = [v for v in await policies.versions_of(self.id) if v.state == "active"]
        return PolicyVersion.of(found[0]) if found else None

    @classmethod
    def of(cls, p: Any) -> Self:
        return cls(
            id=strawberry.ID(p.key), name=p.name, description=p.description or "",
            domain=p.domain,
        )  # fmt: skip

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        p = record.props
        return cls(
            id=strawberry.ID(p["urn"]), name=p["name"], description=p.get("description") or "",
            domain=p.get("domain"),
        )  # fmt: skip


@strawberry.type(description="A control an asset fails, by which rule of which rule set.")
class Finding(Node):
    asset: strawberry.ID
    control: strawberry.ID
    framework: str
    rule: str
    rule_set_version: int
    status: FindingStatus
    severity: Severity
    message: str
    evidence: JSON
    domains: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None
    escalated_at: datetime | None = strawberry.field(
        description="When it was escalated (critical and open longer than allowed)."
    )

    @classmethod
    def of(cls, f: dict[str, Any]) -> Self:
        return cls(
            id=strawberry.ID(f["urn"]),
            asset=strawberry.ID(f["asset"]),
            control=strawberry.ID(f["control"]),
            framework=f["framework"],
            rule=f["rule"],
            rule_set_version=f.get("ruleSetVersion") or 0,
            status=FindingStatus(f["status"]),
            severity=Severity(f["severity"]),
            message=f.get("message") or "",
            evidence=json.loads(f.get("evidence") or "{}"),
            domains=f.get("domains") or [],
            first_seen_at=native(f["firstSeenAt"]),
            last_seen_at=native(f["lastSeenAt"]),
            resolved_at=native(f.get("resolvedAt")),
            escalated_at=native(f.get("escalatedAt")),
        )

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.of(record.props)


@strawberry.enum(
    description="Where a waiver stands: a second person approves or declines it, its requester "
    "may withdraw it while it awaits approval; once approved it runs until it expires, unless "
    "revoked."
)
class WaiverStatus(Enum):
    REQUESTED = "requested"
    APPROVED = "approved"
    EXPIRED = "expired"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"


@strawberry.type(
    description="A time-limited exception for one finding; `id` is its URN, urn:dw:waiver:<uuid>."
)
class Waiver(Node):
    finding: strawberry.ID
    reason: str
    status: WaiverStatus
    requested_by: str
    expires_at: datetime
    approved_by: str | None

    requested_at: datetime
    closed_by: str | None = strawberry.field(
        default=None, description="Who declined, withdrew or revoked it."
    )
    closed_at: datetime | None = strawberry.field(
        default=None, description="When it was declined, withdrawn or revoked."
    )
    close_reason: str | None = strawberry.field(
        default=None, description="Why it was declined, withdrawn or revoked."
    )

    @classmethod
    def of(cls, w: Any) -> Self:
        return cls(
            id=strawberry.ID(w.urn), finding=strawberry.ID(w.finding), reason=w.reason,
            status=WaiverStatus(w.status), requested_by=w.requested_by,
            expires_at=native(w.expires_at), approved_by=w.approved_by,
            requested_at=native(w.requested_at), closed_by=w.closed_by,
            closed_at=native(w.closed_at), close_reason=w.close_reason,
        )  # fmt: skip

    @classmethod
    def of_row(cls, r: dict[str, Any]) -> Self:
        """From a waiver's properties as Cypher returns them (graph/compliance.py)."""
        return cls(
            id=strawberry.ID(r["urn"]), finding=strawberry.ID(r["finding"]), reason=r["reason"],
            status=WaiverStatus(r["status"]), requested_by=r["requestedBy"],
            expires_at=native(r["expiresAt"]), approved_by=r.get("approvedBy"),
            requested_at=native(r["requestedAt"]), closed_by=r.get("closedBy"),
            closed_at=native(r.get("closedAt")), close_reason=r.get("closeReason"),
        )  # fmt: skip

    @classmethod
    def from_record(cls, record: NodeRecord) -> Self:
        return cls.of_row(record.props)


@strawberry.type(description="How one test case of a policy version came out.")
class PolicyTestCaseResult:
    name: str
    passed: bool
    expected: JSON
    actual: JSON


@strawberry.type(description="A test run of a policy version through OPA.")
class PolicyTestRun:
    passed: bool
    summary: str
    cases: list[PolicyTestCaseResult]

    @classmethod
    def of(cls, run: policies.TestRun) -> Self:
        def listed(vs: list[policies.Violation]) -> list[dict[str, str]]:
            return [v.model_dump() for v in vs]

        return cls(
            passed=run.passed,
            summary=run.summary,
            cases=[
                PolicyTestCaseResult(
                    name=c.name,
                    passed=c.passed,
                    expected=listed(c.expected),
                    actual=listed(c.actual),
                )
                for c in run.cases
            ],
        )


# -- errors -----------------------------------------------------------------------------------


@strawberry.type(description="Custom Rego that OPA does not compile, at this line.")
class RegoError(UserError):
    line: int | None
    column: int | None

    @classmethod
    def of(cls, p: RegoProblem) -> Self:
        return cls(message=p.message, line=p.line, column=p.column)


@strawberry.type(description="A template refuses a parameter (unknown, or of the wrong type).")
class ParameterError(UserError):
    template: str
    parameter: str


@strawberry.type(description="A test case of the version failed, so it cannot be submitted.")
class PolicyTestFailedError(UserError):
    run: PolicyTestRun


@strawberry.type(description="Who wrote a version cannot approve it (four eyes).")
class SelfApprovalError(UserError):
    pass


@strawberry.type(description="The version (or finding, waiver) is not in a state that allows it.")
class WrongStateError(UserError):
    pass


@strawberry.type(
    description="The policy engine (OPA) did not answer: nothing was evaluated or changed."
)
class PolicyEngineUnavailableError(UserError):
    pass


@strawberry.type(description="A masking rule names what does not exist, or never applies.")
class MaskingRuleError(UserError):
    rule: int = strawberry.field(description="Its position in the rules sent, from 0.")
    field: str
    problem: masking.Problem
    conflicts_with: int | None = strawberry.field(description="The earlier rule it repeats.")

    @classmethod
    def of(cls, p: masking.RuleProblem) -> Self:
        return cls(
            message=p.message, rule=p.rule, field=p.field, problem=p.problem,
            conflicts_with=p.conflicts_with,
        )  # fmt: skip


ERROR_TYPES = [
    MaskingRuleError,
    RegoError,
    ParameterError,
    PolicyTestFailedError,
    SelfApprovalError,
    WrongStateError,
    PolicyEngineUnavailableError,
]
