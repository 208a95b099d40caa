"""Scores per framework and domain: a control fails where it has an open finding; a framework no
rule in force implements is not covered (never compliant); severity decides at risk or not."""

from __future__ import annotations

from governance import policies
from governance.evaluation import Evaluation, scores
from graph.models import PolicyVersion

ART30 = "urn:dw:control:gdpr/art-30"
ART5 = "urn:dw:control:gdpr/art-5-1-e"


def by(result, framework, domain):
    return next(s for s in result if s.framework == framework and s.domain == domain)


def test_open_findings_fail_their_controls_in_their_domains() -> None:
    run = Evaluation(controls={ART30, ART5})
    open_ = [{"framework": "gdpr", "control": ART30, "domains": ["sales"], "severity": "high"}]
    result = scores(open_, run)
    sales, estate = by(result, "gdpr", "sales"), by(result, "gdpr", "*")
    assert (sales.status, sales.passed, sales.failed, sales.score) == ("non_compliant", 1, 1, 0.5)
    assert estate.failed == 1
    assert by(result, "pci-dss-4", "*").status == "not_covered"
    assert by(result, "pci-dss-4", "*").score is None


def test_low_severity_findings_put_at_risk_and_none_is_compliant() -> None:
    run = Evaluation(controls={ART30, ART5})
    low = [{"framework": "gdpr", "control": ART5, "domains": [], "severity": "low"}]
    assert by(scores(low, run), "gdpr", "*").status == "at_risk"
    assert by(scores([], run), "gdpr", "*").status == "compliant"


def test_custom_rego_gets_its_own_package_and_keeps_its_lines() -> None:
    version = PolicyVersion(
        policy="urn:dw:policy:my-rules",
        version=3,
        custom_rego=("package anything.at_all\n\nimport rego.v1\n\ndeny contains {} if false\n"),
    )
    module = policies.custom_module(version)
    assert module.splitlines()[0] == "package datawave.custom.p_my_rules_v3"
    assert len(module.splitlines()) == len(version.custom_rego.splitlines())


def test_a_test_case_names_expected_violations() -> None:
    case = policies.TestCase.model_validate(
        {"name": "x", "assets": [], "violations": [{"rule": "owner", "asset": "urn:c"}]}
    )
    assert case.violations[0].rule == "owner"
