"""Sealed samples: only a holder of the named key opens them, and only on their own event."""

from __future__ import annotations

import os

import pytest

from core.events import TABLE_DISCOVERED, ColumnInfo, Event, TableDiscovered, make_event
from core.sample_cipher import SampleCipher, UnreadableSamples, sealed_size
from core.urns import schema_urn, source_urn, table_urn

EMAILS = [f"person{i}@example.org" for i in range(5)]
OLD, NEW = os.urandom(32), os.urandom(32)


def table_event(name: str = "people", samples: list[str] = EMAILS) -> Event:
    data = TableDiscovered(
        name=name,
        kind="table",
        schema_urn=schema_urn("src", "db", "public"),
        columns=[
            ColumnInfo(name="email", data_type="text", ordinal=1, samples=samples),
            ColumnInfo(name="id", data_type="int", ordinal=2),
        ],
    )
    return make_event(
        TABLE_DISCOVERED, source_urn("src"), table_urn("src", "db", "public", name), data
    )


def test_sealed_samples_are_not_in_the_event_and_open_again() -> None:
    cipher = SampleCipher({"k1": OLD}, "k1")
    event = table_event()
    sealed = cipher.seal(event)
    wire = sealed.to_bytes()
    assert not any(e.encode() in wire for e in EMAILS)
    assert [c.samples for c in sealed.data.columns] == [[], []]
    assert sealed.data.sealed_samples.kid == "k1"
    assert cipher.open(sealed) == event
    assert cipher.open(event) == event, "an event without sealed samples passes as it is"


def test_keys_rotate_by_id() -> None:
    sealed_before = SampleCipher({"k1": OLD}, "k1").seal(table_event())
    rotated = SampleCipher({"k1": OLD, "k2": NEW}, "k2")
    sealed_after = rotated.seal(table_event())
    assert sealed_after.data.sealed_samples.kid == "k2"
    assert rotated.open(sealed_before).data.columns[0].samples == EMAILS
    assert rotated.open(sealed_after).data.columns[0].samples == EMAILS
    with pytest.raises(UnreadableSamples, match="'k2', not in the keyring"):
        SampleCipher({"k1": OLD}, "k1").open(sealed_after)


def test_a_wrong_key_a_tampered_block_or_another_subject_do_not_open() -> None:
    cipher = SampleCipher({"k1": OLD}, "k1")
    sealed = cipher.seal(table_event())
    with pytest.raises(UnreadableSamples):
        SampleCipher({"k1": NEW}, "k1").open(sealed)
    block = sealed.data.sealed_samples
    flipped = block.model_copy(update={"ciphertext": "A" + block.ciphertext[1:]})
    with pytest.raises(UnreadableSamples):
        cipher.open(sealed.model_copy(update={"data": sealed.data.model_copy(
            update={"sealed_samples": flipped})}))  # fmt: skip
    moved = table_event("other").model_copy(update={"data": sealed.data})
    with pytest.raises(UnreadableSamples):
        cipher.open(moved)
    fewer = sealed.data.model_copy(update={"columns": sealed.data.columns[:1]})
    with pytest.raises(UnreadableSamples, match="do not match its columns"):
        cipher.open(sealed.model_copy(update={"data": fewer}))


@pytest.mark.parametrize("count", [0, 1, 10, 1000])
def test_sealed_size_bounds_the_sealed_event(count: int) -> None:
    event = table_event(samples=[f'value-{i}-é"\\' for i in range(count)])
    sealed = SampleCipher({"k" * 64: OLD}, "k" * 64).seal(event)
    assert sealed_size(event.data) >= len(sealed.data.model_dump_json())
