"""Rule templates: Rego modules shipped with DataWave, each with typed parameters and a version.

A rule is a template applied with parameter values, a severity and a scope; its parameters are
validated by the template's pydantic model (unknown ones are refused by name), and the values
travel to OPA as data, apart from the logic. A template's Rego filters the rules in force by its
id and version, so two versions of a template can be in force side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.sources import TlsMode
from governance.frameworks import CCPA, GDPR, HIPAA, PCI_DSS


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ScopeKind(StrEnum):
    GLOBAL = "global"
    DOMAIN = "domain"
    SOURCE = "source"
    CATEGORY = "category"  # a label category, e.g. PII


PERSONAL = ["PII", "PHI"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelParams(Params):
    """``inherited``: labels a column inherits along lineage (graph/inheritance.py) count like
    its own. Rules stored before the parameter existed lack it and count their own only, as
    approved (lib.rego ``counted``)."""

    inherited: bool = True


class PiiHasOwnerParams(LabelParams):
    categories: list[str] = Field(default_factory=lambda: list(PERSONAL), min_length=1)


class RetentionRequiredParams(LabelParams):
    categories: list[str] = Field(default_factory=lambda: list(PERSONAL), min_length=1)
    tag_prefix: str = Field("retention:", min_length=1)


class RestrictedMaskedParams(LabelParams):
    sensitivities: list[str] = Field(default_factory=lambda: ["restricted"], min_length=1)
    strategies: list[str] = Field(default_factory=lambda: ["redact", "hash"], min_length=1)


class NoCvvStoredParams(Params):
    labels: list[str] = Field(default_factory=lambda: ["PCI.CVV"], min_length=1)


class PiiNoCrossRegionFlowParams(Params):
    categories: list[str] = Field(default_factory=lambda: list(PERSONAL), min_length=1)
    allowed_regions: list[str] = Field(default_factory=lambda: ["eu"], min_length=1)
    tag_prefix: str = Field("region:", min_length=1)
    unknown_is_violation: bool = False


class LabelDecisionNoteParams(Params):
    categories: list[str] = Field(default_factory=lambda: ["PII", "PHI", "PCI"], min_length=1)
    min_note: int = Field(10, ge=1, le=1000)


class AssetTagsAllowedParams(Params):
    prefixes: list[str] = Field(
        default_factory=lambda: ["retention:", "region:", "purpose:"], min_length=1
    )


class SourceTlsRequiredParams(Params):
    tls_modes: list[TlsMode] = Field(
        default_factory=lambda: [TlsMode.REQUIRE, TlsMode.VERIFY], min_length=1
    )
    exempt_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])


class MeshProductWorkspaceParams(Params):
    require_owner_team: bool = True
    min_description: int = Field(10, ge=0, le=1000)


class MeshContractOwnerSlaParams(Params):
    sla_properties: list[str] = Field(default_factory=lambda: ["freshness"])


class MeshContractPiiPurposeParams(Params):
    categories: list[str] = Field(default_factory=lambda: list(PERSONAL), min_length=1)
    min_purpose: int = Field(20, ge=1, le=2000)


class MeshAccessRequestParams(Params):
    min_purpose: int = Field(20, ge=1, le=2000)
    max_days: int = Field(90, ge=1, le=3650)


@dataclass(frozen=True)
class Template:
    """``controls``: control URNs its rules implement unless a rule names others. An
    ``operation`` template checks governed mutations (governance/operations.py) instead of
    finding anything in the estate. No shipped template fails a column without counted labels
    of its own or upstream, so evaluation leaves such columns out of what it sends OPA unless
    custom Rego is in force (policies.ActiveRuleSet.labelled_only)."""

    id: str
    version: int
    description: str
    params: type[Params]
    controls: tuple[str, ...]
    operation: bool = False

    @property
    def module(self) -> str:
        return _rego(f"templates/{self.id}.rego")


CUSTOM = "custom"  # a rule whose findings come from its policy version's own Rego

TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template(
            "pii_has_owner",
            1,
            "Columns with labels of the given categories (own or inherited) have an owning team.",
            PiiHasOwnerParams,
            (GDPR.controls[1].urn, CCPA.controls[0].urn),
        ),
        Template(
            "retention_required",
            1,
            "Columns with labels of the given categories (or their tables) carry a retention tag.",
            RetentionRequiredParams,
            (GDPR.controls[0].urn,),
        ),
        Template(
            "restricted_masked",
            1,
            "Labels of the given sensitivities are masked with one of the allowed strategies.",
            RestrictedMaskedParams,
            (GDPR.controls[2].urn, PCI_DSS.controls[1].urn, HIPAA.controls[0].urn),
        ),
        Template(
            "pii_no_cross_region_flow",
            1,
            "Columns holding or inheriting labels of the given categories are tagged with an "
            "allowed region, and those labels flow into no column tagged outside one.",
            PiiNoCrossRegionFlowParams,
            (GDPR.controls[3].urn,),
        ),
        Template(
            "label_decision_note",
            1,
            "Decisions (decideLabel) on labels of the given categories carry a note.",
            LabelDecisionNoteParams,
            (),
            operation=True,
        ),
        Template(
            "asset_tags_allowed",
            1,
            "Tags set by describeAsset start with one of the allowed prefixes.",
            AssetTagsAllowedParams,
            (),
            operation=True,
        ),
        Template(
            "source_tls_required",
            1,
            "Sources are registered with TLS (registerDataSource), unless their host is exempt.",
            SourceTlsRequiredParams,
            (),
            operation=True,
        ),
        # Data-mesh steps (mesh/, resolvers/mesh/policy.py; docs/mesh.md).
        Template(
            "mesh_product_workspace",
            1,
            "A product workspace (createDataProduct) names an owner team and a description.",
            MeshProductWorkspaceParams,
            (),
            operation=True,
        ),
        Template(
            "mesh_contract_owner_sla",
            1,
            "A contract imported or published has an owner and states the SLA properties given.",
            MeshContractOwnerSlaParams,
            (),
            operation=True,
        ),
        Template(
            "mesh_contract_pii_purpose",
            1,
            "A contract of a product exposing labels of the given categories states its purpose.",
            MeshContractPiiPurposeParams,
            (),
            operation=True,
        ),
        Template(
            "mesh_access_request",
            1,
            "An access request states a purpose and asks for at most max_days.",
            MeshAccessRequestParams,
            (),
            operation=True,
        ),
        Template(
            "no_cvv_stored",
            1,
            "No column carries a card verification code label.",
            NoCvvStoredParams,
            (PCI_DSS.controls[0].urn,),
        ),
    )
}


def _rego(name: str) -> str:
    return resources.files(__package__).joinpath("rego", name).read_text()


def shipped_modules() -> dict[str, str]:
    """OPA module id -> Rego text of everything DataWave ships (helpers, entry point, templates)."""
    modules = {"datawave/lib": _rego("lib.rego"), "datawave/main": _rego("main.rego")}
    modules.update({f"datawave/templates/{t.id}": t.module for t in TEMPLATES.values()})
    return modules


class UnknownTemplate(ValueError):
    pass


class InvalidParams(ValueError):
    """Parameter values a template refuses; ``problems`` maps each parameter to why."""

    def __init__(self, template: str, problems: dict[str, str]) -> None:
        self.template, self.problems = template, problems
        listed = "; ".join(f"{k}: {v}" for k, v in problems.items())
        super().__init__(f"invalid parameters for {template}: {listed}")


def check_params(template: str, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in, or ``InvalidParams`` naming each bad one."""
    if template == CUSTOM:
        if values:
            raise InvalidParams(CUSTOM, {k: "custom rules take no parameters" for k in values})
        return {}
    spec = TEMPLATES.get(template)
    if spec is None:
        known = ", ".join([*TEMPLATES, CUSTOM])
        raise UnknownTemplate(f"no rule template {template!r}; known: {known}")
    try:
        return spec.params(**values).model_dump()
    except ValidationError as err:
        problems = {}
        for e in err.errors():
            name = ".".join(str(p) for p in e["loc"])
            problems[name] = "unknown parameter" if e["type"] == "extra_forbidden" else e["msg"]
        raise InvalidParams(template, problems) from err
