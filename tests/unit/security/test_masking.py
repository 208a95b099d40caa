"""Masking strategies: what a caller without pii:read sees of a sensitive value."""

from __future__ import annotations

from core.settings import MaskingSettings, Strategy
from security.masking import REDACTED, Masker, most_sensitive, partial


def test_the_most_sensitive_label_decides() -> None:
    assert most_sensitive(["public", "confidential", None]) == "confidential"
    assert most_sensitive(["confidential", "restricted"]) == "restricted"
    assert most_sensitive(["public", "internal", None]) is None
    assert most_sensitive([]) is None


def test_partial_keeps_the_shape_only() -> None:
    assert partial("alice@example.com") == "a****@*******.**m"
    assert partial("4111-1111-1111-1111") == "4***-****-****-***1"
    assert partial("abcd") == "****"
    assert partial("") == ""


def test_each_sensitivity_has_its_strategy() -> None:
    masker = Masker(MaskingSettings())
    assert masker.mask("alice@example.com", "confidential") == partial("alice@example.com")
    assert masker.mask("4111111111111111", "restricted") == REDACTED


def test_hashes_are_keyed_and_stable() -> None:
    def hashed(key: str) -> Masker:
        return Masker(MaskingSettings(confidential=Strategy.HASH, hash_key=key))

    one, other = hashed("k" * 32), hashed("q" * 32)
    value = one.mask("alice@example.com", "confidential")
    assert value.startswith("hmac:") and len(value) == 21
    assert value == one.mask("alice@example.com", "confidential"), "equal values stay equal"
    assert value != one.mask("bob@example.com", "confidential")
    assert value != other.mask("alice@example.com", "confidential"), "no key, no dictionary"


def test_production_refuses_the_default_hash_key_only_when_hashing() -> None:
    assert MaskingSettings().production_problems() == []
    assert MaskingSettings(restricted=Strategy.HASH).production_problems() == [
        "DATAWAVE_MASKING__HASH_KEY is the development default"
    ]
    assert MaskingSettings(restricted=Strategy.HASH, hash_key="x" * 32).production_problems() == []
