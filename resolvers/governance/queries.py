"""Governance reads: policies, rule templates, frameworks, findings, compliance reports."""

from __future__ import annotations

from datetime import datetime

import strawberry

from governance import evaluation, policies, reports
from governance.frameworks import FRAMEWORKS
from governance.opa import PolicyEngineUnavailable
from governance.templates import TEMPLATES
from graph import compliance
from resolvers.common import Connection
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.governance.types import (
    ComplianceStatus,
    Control,
    EffectiveRule,
    ExportFormat,
    Finding,
    FindingStatus,
    Framework,
    Policy,
    RuleTemplate,
    Waiver,
    WaiverStatus,
)
from resolvers.pagination import (
    DEFAULT_PAGE_SIZE,
    after_urn,
    check_page_size,
    keyset_page,
    timed_position,
    urn_page,
)
from resolvers.permissions import needs


@strawberry.input(description="Conditions that all must hold; omitted ones match anything.")
class FindingFilter:
    framework: str | None = None
    status: FindingStatus | None = None
    asset: strawberry.ID | None = None
    domain: str | None = None


@strawberry.input(description="Conditions that all must hold; omitted ones match anything.")
class WaiverFilter:
    status: WaiverStatus | None = None
    finding: strawberry.ID | None = None
    domain: str | None = None


@strawberry.type(
    description="One control in a report: passed, failed with the findings that fail it, or "
    "not covered by any rule in force."
)
class ControlReport:
    control: Control
    status: reports.ControlStatus
    passed: bool | None = strawberry.field(
        description="Null when no rule in force checks the control.",
        deprecation_reason="Use status, which tells a control no rule checks from one that passed.",
    )
    open_findings: int
    all_findings: strawberry.Private[list[Finding]]

    @strawberry.field(description="The findings that fail it, in URN order.")
    def findings(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Finding]:
        # The report is read whole (export needs all of it): only the answer is paged.
        return urn_page(self.all_findings, lambda f: f.id, first, after)


@strawberry.type(description="A framework's standing in a domain at a moment, for auditors.")
class ComplianceReport:
    framework: str
    domain: str = strawberry.field(description="`*`: the whole estate.")
    as_of: datetime
    status: ComplianceStatus
    score: float | None
    rule_set_versions: list[int]
    controls: list[ControlReport]
    report: strawberry.Private[reports.Report]

    @strawberry.field(description="The whole report as JSON, CSV or a printable HTML page.")
    def export(self, format: ExportFormat = ExportFormat.JSON) -> str:
        match format:
            case ExportFormat.JSON:
                return self.report.to_json()
            case ExportFormat.CSV:
                return self.report.to_csv()
        return self.report.to_html()

    @classmethod
    def of(cls, r: reports.Report) -> ComplianceReport:
        return cls(
            framework=r.framework,
            domain=r.domain,
            as_of=r.as_of,
            status=ComplianceStatus(r.status),
            score=r.score,
            rule_set_versions=r.rule_set_versions,
            controls=[
                ControlReport(
                    control=Control.of(c.control),
                    status=c.status,
                    passed=c.passed,
                    open_findings=c.open,
                    all_findings=[Finding.of(f["finding"]) for f in c.findings],
                )
                for c in r.controls
            ],
            report=r,
        )


def _scope(info: Info) -> dict[str, list[str] | None]:
    """The caller's domains and sources as the findings' Cypher filters them (None: all)."""
    domains, sources = info.context.guard.scope()
    return {
        "domains": sorted(domains) if domains is not None else None,
        "sources": sorted(sources) if sources is not None else None,
    }


@strawberry.type(description="The rules in force that apply to an asset, and their rule set.")
class EffectiveRuleSet:
    asset: strawberry.ID
    rule_set_version: int = strawberry.field(description="0: no rule set was ever activated.")
    rules: list[EffectiveRule]


@strawberry.type
class GovernanceQuery:
    @strawberry.field(description="Every policy, by URN.", extensions=needs("compliance:read"))
    async def policies(
        self, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Connection[Policy]:
        found = [Policy.of(p) for p in await policies.list_policies()]
        return urn_page(found, lambda p: p.id, first, after)

    @strawberry.field(description="A policy by URN.", extensions=needs("compliance:read"))
    async def policy(self, urn: strawberry.ID) -> Policy | None:
        try:
            return Policy.of(await policies.get_policy(urn))
        except policies.NotFound:
            return None

    @strawberry.field(
        description="The shipped rule templates.", extensions=needs("compliance:read")
    )
    def rule_templates(self) -> list[RuleTemplate]:
        return [RuleTemplate.of(t) for t in TEMPLATES.values()]

    @strawberry.field(
        description="Compliance frameworks and their controls.",
        extensions=needs("compliance:read"),
    )
    def frameworks(self) -> list[Framework]:
        return [Framework.of(f) for f in FRAMEWORKS.values()]

    @strawberry.field(
        description="Findings in URN order, within your domain and source scope.",
        extensions=needs("compliance:read"),
    )
    async def findings(
        self,
        info: Info,
        filter: FindingFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Finding]:
        f = filter or FindingFilter()
        where = {
            "framework": f.framework,
            "status": f.status.value if f.status else None,
            "asset": f.asset,
            "domain": f.domain,
            **_scope(info),
        }
        driver, database = info.context.graph
        rows = await compliance.findings_page(
            driver, database, after=after_urn(after, "findings") or "",
            limit=check_page_size(first) + 1, **where,
        )  # fmt: skip

        async def count() -> int:
            return await compliance.count_findings(driver, database, **where)

        nodes = [Finding.of(r) for r in rows]
        return keyset_page(nodes, [[r["urn"]] for r in rows], first, count)

    @strawberry.field(
        description="Waivers, oldest request first, of the findings within your domain and "
        "source scope: with `status: REQUESTED`, what awaits a second person's approval.",
        extensions=needs("compliance:read"),
    )
    async def waivers(
        self,
        info: Info,
        filter: WaiverFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Connection[Waiver]:
        f = filter or WaiverFilter()
        where = {
            "status": f.status.value if f.status else None,
            "finding": f.finding,
            "domain": f.domain,
            **_scope(info),
        }
        driver, database = info.context.graph
        rows = await compliance.waivers_page(
            driver,
            database,
            after=timed_position(after, "waivers"),
            limit=check_page_size(first) + 1,
            **where,
        )

        async def count() -> int:
            return await compliance.count_waivers(driver, database, **where)

        nodes = [Waiver.of_row(r) for r in rows]
        return keyset_page(nodes, [[r["requestedAt"], r["id"]] for r in rows], first, count)

    @strawberry.field(
        description="Global and domain rules in force that apply to a column (or a table's "
        "columns) by their scope, with the rule-set version; null if you may not see it.",
        extensions=needs("compliance:read"),
    )
    async def effective_rules(self, info: Info, asset: strawberry.ID) -> EffectiveRuleSet | None:
        if await info.context.loaders.find(asset) is None:
            return None
        try:
            version, rules = await evaluation.effective_rules(info.context.state, asset)
        except PolicyEngineUnavailable as err:
            raise ClientError(f"policy engine unavailable: {err}") from err
        return EffectiveRuleSet(
            asset=asset, rule_set_version=version, rules=[EffectiveRule.of(r) for r in rules]
        )

    @strawberry.field(
        description="A framework's controls, findings with evidence, waivers and rule-set "
        "versions in a domain (or the estate), now or as of a past moment.",
        extensions=needs("compliance:read", domain_arg="domain"),
    )
    async def compliance_report(
        self,
        info: Info,
        framework: str,
        domain: str | None = None,
        as_of: datetime | None = None,
    ) -> ComplianceReport:
        if domain is None and not info.context.guard.unrestricted:
            raise ClientError("name a domain: your scope does not cover the whole estate")
        try:
            report = await reports.build_report(info.context.state, framework, domain, as_of)
        except reports.UnknownFramework as err:
            raise ClientError(str(err)) from err
        return ComplianceReport.of(report)
