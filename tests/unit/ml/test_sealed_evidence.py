"""Evidence examples as stored on a label edge: sealed, bound to their edge, readable after a
key rotation as long as the old key stays in the keyring; evidence stored as shapes stays so."""

from __future__ import annotations

import json
import os

from core.sample_cipher import SampleCipher
from ml.detectors import Evidence, Tier
from ml.evidence import examples, restored, stored

OLD, NEW = os.urandom(32), os.urandom(32)
CARDS = ("4111111111111111", "5500005555555559")
FOUND = Evidence("pattern", 1.0, "valid card number", 20, 20, CARDS, Tier.SPECIFIC)
COLUMN, LABEL = "urn:dw:column:s/db/public/pay/pan", "PCI.CardNumber"


def test_only_shapes_are_in_clear_and_the_values_come_back() -> None:
    cipher = SampleCipher({"k1": OLD}, "k1")
    summary = stored(FOUND, cipher, COLUMN, LABEL)
    assert not any(card in json.dumps(summary) for card in CARDS)
    assert summary["examples"] == ["4**************1", "5**************9"]
    assert restored(summary, cipher, COLUMN, LABEL) == FOUND


def test_a_block_moved_to_another_edge_does_not_open() -> None:
    cipher = SampleCipher({"k1": OLD}, "k1")
    summary = stored(FOUND, cipher, COLUMN, LABEL)
    assert examples(summary, cipher, COLUMN + "x", LABEL) is None
    assert examples(summary, cipher, COLUMN, "PII.Phone") is None
    assert examples(summary, SampleCipher({"k1": NEW}, "k1"), COLUMN, LABEL) is None


def test_rotation_reseals_under_the_new_key() -> None:
    summary = stored(FOUND, SampleCipher({"k1": OLD}, "k1"), COLUMN, LABEL)
    rotated = SampleCipher({"k1": OLD, "k2": NEW}, "k2")
    resealed = stored(restored(summary, rotated, COLUMN, LABEL), rotated, COLUMN, LABEL)
    assert resealed["sealed"]["kid"] == "k2"
    assert examples(resealed, SampleCipher({"k2": NEW}, "k2"), COLUMN, LABEL) == list(CARDS)


def test_shapes_only_evidence_stays_masked() -> None:
    cipher = SampleCipher({"k1": OLD}, "k1")
    legacy = stored(FOUND, None, COLUMN, LABEL)
    assert "sealed" not in legacy
    back = restored(legacy, cipher, COLUMN, LABEL)
    assert back.masked and back.examples == ("4**************1", "5**************9")
    assert stored(back, cipher, COLUMN, LABEL) == legacy
