"""The masking fact compliance rules read (governance/evaluation.py): how a column shows to
roles without ``pii:read``, judged by the labels reads mask it by (resolvers/masking.py)."""

from __future__ import annotations

from governance.evaluation import _masking
from security.masking import MaskingPolicy, MaskingRule, Treatment

# Stewards read e-mail addresses in clear; everything else confidential is partial.
POLICY = MaskingPolicy(
    rules=(
        MaskingRule(Treatment.CLEAR, frozenset({"PII.Email"}), roles=frozenset({"steward"})),
        MaskingRule(Treatment.PARTIAL, sensitivity="confidential"),
    ),
    default=Treatment.REDACT,
)
EMAIL = {"name": "PII.Email", "category": "PII", "sensitivity": "confidential"}


def test_a_column_that_only_inherits_a_label_shows_as_its_source_does() -> None:
    """A view's copy of an e-mail column reads in clear to stewards as the column does, so
    restricted_masked must see it in clear too (it saw it partial when the fact counted only
    the column's own labels)."""
    inherited = {"labels": [], "inheritedLabels": [{**EMAIL, "status": "inherited"}]}
    own = {"labels": [{**EMAIL, "status": "suggested"}]}
    assert _masking(POLICY, inherited)["confidential"] == "clear"
    assert _masking(POLICY, inherited) == _masking(POLICY, own)


def test_a_rejected_label_counts_for_nothing() -> None:
    rejected = {"labels": [{**EMAIL, "status": "rejected"}]}
    assert _masking(POLICY, rejected)["confidential"] == "partial"
