"""Masking decisions and strategies: what a caller sees of a sensitive value, by the policy."""

from __future__ import annotations

from core.settings import MaskingSettings, Strategy
from security.masking import (
    REDACTED,
    Caller,
    Label,
    Masker,
    MaskingPolicy,
    MaskingRule,
    Treatment,
    partial,
    shipped,
)

EMAIL = Label.of("PII.Email", "confidential")
NAME = Label.of("PII.PersonName", "confidential")
CARD = Label.of("PCI.CardNumber", "restricted")
CITY = Label.of("Geo.City", "internal")


def caller(*roles: str, holds: tuple[str, ...] = (), domains: tuple[str, ...] = ()) -> Caller:
    return Caller(frozenset(roles), lambda p: p in holds, frozenset(domains))


def test_the_shipped_default_is_the_pii_read_rule() -> None:
    policy = shipped(MaskingSettings())
    reader = caller("steward", holds=("pii:read",))
    assert policy.decide([EMAIL], reader) is Treatment.CLEAR
    assert policy.decide([CARD], reader) is Treatment.CLEAR
    for role in ("viewer", "steward", "admin"):  # admins see clear through pii:read only
        assert policy.decide([EMAIL], caller(role)) is Treatment.PARTIAL
        assert policy.decide([CARD], caller(role)) is Treatment.REDACT
    assert policy.decide([CITY], caller("viewer")) is None, "internal labels do not mask"
    assert policy.decide([], caller("viewer")) is None


def test_the_shipped_default_follows_the_configured_strategies() -> None:
    policy = shipped(MaskingSettings(confidential=Strategy.HASH, restricted=Strategy.PARTIAL))
    assert policy.decide([EMAIL], caller("viewer")) is Treatment.HASH
    assert policy.decide([CARD], caller("viewer")) is Treatment.PARTIAL


def test_the_first_matching_rule_decides_else_the_default() -> None:
    policy = MaskingPolicy(
        rules=(
            MaskingRule(Treatment.PARTIAL, frozenset({"PII.Email"}), roles=frozenset({"steward"})),
            MaskingRule(Treatment.HASH, frozenset({"PII"}), roles=frozenset({"viewer"})),
            MaskingRule(Treatment.CLEAR, frozenset({"PII"})),
        ),
        default=Treatment.REDACT,
        version=3,
    )
    assert policy.decide([EMAIL], caller("steward")) is Treatment.PARTIAL
    assert policy.decide([NAME], caller("steward")) is Treatment.CLEAR, "by category"
    assert policy.decide([EMAIL], caller("viewer")) is Treatment.HASH
    assert policy.decide([EMAIL], caller("auditor")) is Treatment.CLEAR
    assert policy.decide([CARD], caller("steward")) is Treatment.REDACT, "no rule: the default"


def test_a_column_shows_as_the_strictest_of_its_labels() -> None:
    policy = MaskingPolicy(
        rules=(MaskingRule(Treatment.CLEAR, sensitivity="confidential"),),
        default=Treatment.HASH,
    )
    assert policy.decide([EMAIL, CITY], caller("viewer")) is Treatment.CLEAR
    assert policy.decide([EMAIL, CARD], caller("viewer")) is Treatment.HASH


def test_domains_and_permissions_narrow_a_rule() -> None:
    asked: list[str] = []

    def holds(p: str) -> bool:
        asked.append(p)
        return p == "pii:read"

    rule = MaskingRule(Treatment.CLEAR, domain="sales", permission="pii:read")
    policy = MaskingPolicy((rule,), Treatment.REDACT)
    assert policy.decide([EMAIL], Caller(frozenset(), holds, frozenset({"hr"}))) is Treatment.REDACT
    assert asked == [], "a permission is looked up only when the other conditions hold"
    sales = Caller(frozenset(), holds, frozenset({"sales", "hr"}))
    assert policy.decide([EMAIL], sales) is Treatment.CLEAR
    assert policy.decide([EMAIL], caller(domains=("sales",))) is Treatment.REDACT


def test_partial_keeps_the_shape_only() -> None:
    assert partial("alice@example.com") == "a****@*******.**m"
    assert partial("4111-1111-1111-1111") == "4***-****-****-***1"
    assert partial("abcd") == "****"
    assert partial("") == ""


def test_each_treatment_applies() -> None:
    masker = Masker(MaskingSettings())
    assert masker.apply("alice@example.com", Treatment.CLEAR) == "alice@example.com"
    assert masker.apply("alice@example.com", Treatment.PARTIAL) == partial("alice@example.com")
    assert masker.apply("4111111111111111", Treatment.REDACT) == REDACTED


def test_the_masker_holds_the_policy_in_force() -> None:
    masker = Masker(MaskingSettings())
    assert masker.policy == masker.shipped == shipped(MaskingSettings())
    other = MaskingPolicy((), Treatment.HASH, version=2)
    masker.use(other)
    assert masker.policy is other
    masker.use(None)
    assert masker.policy is masker.shipped


def test_hashes_are_keyed_and_stable() -> None:
    def hashed(key: str) -> Masker:
        return Masker(MaskingSettings(hash_key=key))

    one, other = hashed("k" * 32), hashed("q" * 32)
    value = one.apply("alice@example.com", Treatment.HASH)
    assert value.startswith("hmac:") and len(value) == 21
    assert value == one.apply("alice@example.com", Treatment.HASH), "equal values stay equal"
    assert value != one.apply("bob@example.com", Treatment.HASH)
    assert value != other.apply("alice@example.com", Treatment.HASH), "no key, no dictionary"


def test_production_refuses_the_default_hash_key_only_when_hashing() -> None:
    assert MaskingSettings().production_problems() == []
    assert MaskingSettings(restricted=Strategy.HASH).production_problems() == [
        "DATAWAVE_MASKING__HASH_KEY is the development default"
    ]
    assert MaskingSettings(restricted=Strategy.HASH, hash_key="x" * 32).production_problems() == []


def test_exposure_is_the_weakest_treatment_of_anyone_without_need() -> None:
    """What compliance holds a column to: the most any caller without pii:read sees."""
    without_need = [caller("viewer"), caller("steward", domains=("sales",))]
    assert shipped(MaskingSettings()).exposure([EMAIL], without_need) == {
        "confidential": "partial",
        "restricted": "redact",
    }
    stewards_see_cards = MaskingPolicy(
        rules=(
            MaskingRule(Treatment.CLEAR, labels=frozenset({"PCI"}), roles=frozenset({"steward"})),
        ),
        default=Treatment.HASH,
    )
    assert stewards_see_cards.exposure([CARD], without_need)["restricted"] == "clear"
    assert stewards_see_cards.exposure([CARD], [caller("viewer")])["restricted"] == "hash"
    in_sales = MaskingPolicy(
        rules=(MaskingRule(Treatment.PARTIAL, domain="sales"),), default=Treatment.REDACT
    )
    assert in_sales.exposure([CARD], [caller("viewer")])["restricted"] == "redact"
    assert in_sales.exposure([CARD], without_need)["restricted"] == "partial"
