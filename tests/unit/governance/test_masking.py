"""The masking policy's stored form and the rules that never apply (governance/masking.py)."""

from __future__ import annotations

from governance.masking import Problem, conflicts, document, from_document
from security.masking import MaskingPolicy, MaskingRule, Treatment

STEWARDS = frozenset({"steward"})


def test_a_version_stores_and_reads_back_its_rules() -> None:
    policy = MaskingPolicy(
        rules=(
            MaskingRule(Treatment.HASH, frozenset({"PII", "PCI.Card"}), roles=STEWARDS),
            MaskingRule(Treatment.CLEAR, permission="pii:read", domain="sales"),
            MaskingRule(Treatment.PARTIAL, sensitivity="confidential"),
        ),
        default=Treatment.REDACT,
    )
    stored = document(policy)
    assert stored["rules"][0] == {
        "treatment": "hash", "labels": ["PCI.Card", "PII"], "sensitivity": None,
        "roles": ["steward"], "permission": None, "domain": None,
    }  # fmt: skip
    assert from_document(stored, 4) == MaskingPolicy(policy.rules, policy.default, 4)


def test_a_rule_with_the_conditions_of_an_earlier_one_is_a_conflict() -> None:
    rules = (
        MaskingRule(Treatment.PARTIAL, frozenset({"PII"}), roles=STEWARDS),
        MaskingRule(Treatment.CLEAR, frozenset({"PII"}), roles=frozenset({"viewer"})),
        MaskingRule(Treatment.CLEAR, frozenset({"PII"}), roles=STEWARDS),
        MaskingRule(Treatment.PARTIAL, frozenset({"PII"}), roles=STEWARDS),
    )
    found = conflicts(rules)
    assert [(p.rule, p.problem, p.conflicts_with) for p in found] == [
        (2, Problem.CONFLICT, 0),
        (3, Problem.CONFLICT, 0),
    ]
    assert "contradicts" in found[0].message and "repeats" in found[1].message
