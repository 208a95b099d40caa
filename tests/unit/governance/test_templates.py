"""Rule templates: typed parameters refused by name, defaults filled in, shipped Rego present;
frameworks whose controls the templates implement."""

from __future__ import annotations

import pytest

from governance.frameworks import CONTROLS, FRAMEWORKS
from governance.policies import ActiveRuleSet
from governance.templates import (
    CUSTOM,
    TEMPLATES,
    InvalidParams,
    UnknownTemplate,
    check_params,
    shipped_modules,
)


def test_defaults_are_filled_in() -> None:
    assert check_params("pii_has_owner", {}) == {"categories": ["PII", "PHI"], "inherited": True}
    assert check_params("no_cvv_stored", {"labels": ["X.Cvc"]}) == {"labels": ["X.Cvc"]}


def test_unknown_and_mistyped_parameters_are_named() -> None:
    with pytest.raises(InvalidParams) as err:
        check_params("retention_required", {"owners": 1, "categories": "PII"})
    assert err.value.template == "retention_required"
    assert err.value.problems["owners"] == "unknown parameter"
    assert "categories" in err.value.problems


def test_unknown_template_lists_the_known_ones() -> None:
    with pytest.raises(UnknownTemplate, match="pii_has_owner"):
        check_params("no_such_thing", {})


def test_custom_rules_take_no_parameters() -> None:
    assert check_params(CUSTOM, {}) == {}
    with pytest.raises(InvalidParams):
        check_params(CUSTOM, {"x": 1})


def test_every_template_ships_its_rego_and_implements_known_controls() -> None:
    modules = shipped_modules()
    for t in TEMPLATES.values():
        assert f"package datawave.templates.{t.id}" in modules[f"datawave/templates/{t.id}"]
        assert f'lib.rules_of("{t.id}", {t.version})' in t.module
        assert all(c in CONTROLS for c in t.controls)
        assert bool(t.controls) != t.operation  # estate rules serve controls, checks do not


def test_frameworks_cite_their_articles() -> None:
    assert set(FRAMEWORKS) == {"gdpr", "pci-dss-4", "hipaa", "ccpa"}
    gdpr = {c.citation for c in FRAMEWORKS["gdpr"].controls}
    assert {"Art. 5(1)(e)", "Art. 30", "Art. 32", "Art. 44"} <= gdpr
    assert CONTROLS["urn:dw:control:pci-dss-4/3.3.1"].citation == "Req. 3.3.1"


def test_only_shipped_templates_let_evaluation_skip_unlabelled_columns() -> None:
    shipped = [{"template": "pii_has_owner"}, {"template": "source_tls_required"}]
    assert ActiveRuleSet(1, [], shipped, []).labelled_only
    assert not ActiveRuleSet(1, [], [*shipped, {"template": CUSTOM}], []).labelled_only
    custom = [{"package": "datawave.custom.p_x_v1", "policy": "x"}]
    assert not ActiveRuleSet(1, [], shipped, custom).labelled_only


def test_source_tls_required_takes_tls_modes_by_name() -> None:
    assert check_params("source_tls_required", {})["tls_modes"] == ["require", "verify"]
    with pytest.raises(InvalidParams) as err:
        check_params("source_tls_required", {"tls_modes": ["tls1.3"]})
    assert "tls_modes.0" in err.value.problems
