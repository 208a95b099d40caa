"""The pure parts of ingest: fingerprints and diffs, version planning, batch rounds, URN checks,
offsets to commit and dead-letter headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from core.events import Event, ForeignKey, InvalidEvent, LineageEdge
from core.settings import load_settings
from graph.batch import prepare, rounds
from graph.layouts import diff, fingerprint, signature
from graph.snapshots import snapshot
from graph.timestamps import event_time
from graph.versions import TableState, plan
from ingest.offsets import commit_offsets
from ingest.worker import Batch, decode, dlq_headers, independent
from tests.factories import Source, columns

SRC = Source("pg-sales")
LATER = SRC.at(10)


def planned(
    events: list[Event], states: dict[str, TableState]
) -> tuple[list[Event], list[dict[str, Any]]]:
    """``plan`` on the events' snapshots, giving back the fresh events."""
    fresh, versions = plan([snapshot(e) for e in events], states)
    return [s.event for s in fresh], versions


def test_fingerprint_follows_the_layout_not_the_listing_order() -> None:
    cols = columns("id:int", "email:varchar?")
    assert fingerprint(signature(cols)) == fingerprint(signature(list(reversed(cols))))
    assert fingerprint(signature(cols)) != fingerprint(signature(columns("id:int", "email:text?")))
    assert fingerprint(signature(cols)) != fingerprint(
        signature(columns("email:varchar?", "id:int"))
    )


def test_diff_names_added_removed_and_changed_attributes() -> None:
    old = signature(columns("id:int", "email:varchar?", "name:varchar"))
    new = signature(columns("id:bigint", "email:varchar?", "phone:varchar?"))
    assert diff(old, new) == {
        "added": ["phone"],
        "removed": ["name"],
        "changed": [{"name": "id", "from": {"dataType": "int"}, "to": {"dataType": "bigint"}}],
    }
    assert diff(new, new) == {"added": [], "removed": [], "changed": []}


def test_first_snapshot_is_version_one_with_every_column_added() -> None:
    event = SRC.table("orders", columns("id:int", "total:numeric?"))
    fresh, versions = planned([event], {})
    assert fresh == [event]
    [v] = versions
    assert (v["version"], v["name"], v["capturedAt"]) == (1, "orders v1", SRC.time.isoformat())
    assert v["urn"] == "urn:dw:version:pg-sales/db/public/orders/1"
    assert '"added":["id","total"]' in v["diff"]


def test_unchanged_rescan_is_applied_without_a_version() -> None:
    cols = columns("id:int")
    state = TableState(SRC.time, None, 1, fingerprint(signature(cols)), signature(cols))
    rescan = LATER.table("orders", cols)
    assert planned([rescan], {rescan.subject: state}) == ([rescan], [])


def test_changed_layout_makes_the_next_version_and_stale_snapshots_are_skipped() -> None:
    cols = columns("id:int")
    state = TableState(LATER.time, None, 3, fingerprint(signature(cols)), signature(cols))
    changed = LATER.at(20).table("orders", columns("id:int", "note:text?"))
    stale = SRC.table("orders", columns("id:int", "gone:text"))
    fresh, versions = planned([changed], {changed.subject: state})
    assert fresh == [changed] and [v["version"] for v in versions] == [4]
    assert planned([stale], {stale.subject: state}) == ([], [])


def test_of_two_snapshots_with_the_same_time_the_first_applied_wins() -> None:
    cols = columns("id:int")
    applied = LATER.table("orders", cols)
    state = TableState(LATER.time, applied.id, 1, fingerprint(signature(cols)), signature(cols))
    rival = LATER.table("orders", columns("id:int", "x:text"))
    assert planned([rival], {rival.subject: state}) == ([], [])
    assert planned([applied], {applied.subject: state}) == ([applied], [])


def test_event_times_are_utc_and_naive_ones_are_taken_as_utc() -> None:
    naive = SRC.checked().model_copy(update={"time": datetime(2026, 1, 1, 12)})
    paris = SRC.checked().model_copy(
        update={"time": datetime(2026, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))}
    )
    assert event_time(naive) == event_time(paris) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert event_time(paris).tzinfo is UTC


def test_rounds_hold_each_subject_once_and_keep_its_order() -> None:
    a1, b1 = SRC.table("a", columns("id:int")), SRC.table("b", columns("id:int"))
    a2 = LATER.table("a", columns("id:int"))
    a3 = LATER.at(20).table("a", columns("id:int"))
    assert rounds([a1, a2, b1, a3]) == [[a1, b1], [a2], [a3]]


def with_data(event: Event, **changes: Any) -> Event:
    return event.model_copy(update={"data": event.data.model_copy(update=changes)})


TABLE = SRC.table("t", columns("id:int"))
BAD_FK = ForeignKey(
    name="fk", columns=["a", "b"], ref_table_urn=SRC.table_urn("u"), ref_columns=["a"]
)
BAD_EDGE = LineageEdge(upstream_urn=SRC.schema_urn, downstream_urn=SRC.table_urn("t"))
OTHER = Source("pg-other")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (TABLE.model_copy(update={"subject": SRC.urn}), "subject: expected a table URN"),
        (SRC.containers()[0].model_copy(update={"subject": SRC.schema_urn}), "data.kind"),
        (with_data(TABLE, schema_urn=SRC.urn), "data.schema_urn"),
        (with_data(TABLE, foreign_keys=[BAD_FK]), "foreign key fk"),
        (with_data(TABLE, lineage=[BAD_EDGE]), "lineage upstream"),
        (with_data(SRC.scanned("t"), children=[SRC.schema_urn]), "data.children"),
        # A URN of the right kind that is not the subject's own container (or child): another
        # source's schema would lend the table its domains.
        (with_data(TABLE, schema_urn=OTHER.schema_urn), "does not contain"),
        (
            with_data(SRC.containers()[1], parent_urn=OTHER.containers()[0].subject),
            "does not contain",
        ),
        (with_data(SRC.scanned("t"), children=[OTHER.table_urn("t")]), "does not contain"),
    ],
)
def test_urns_of_the_wrong_kind_or_place_are_invalid(event: Event, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        decode(event.to_bytes())


def test_factory_events_decode_to_themselves() -> None:
    event = SRC.table("t", columns("id:int", "x:text?"), fks={"id": ("u", "id")})
    assert decode(event.to_bytes()).event == event


def record(partition: int, offset: int) -> ConsumerRecord:
    return ConsumerRecord("topic", partition, offset, 0, 0, b"k", b"v", None, 1, 1, [("h", b"1")])


def test_only_snapshots_of_different_tables_are_written_while_another_commits() -> None:
    def batch(*events: Event) -> Batch:
        return Batch([], [(record(0, i), prepare(e)) for i, e in enumerate(events)], [])

    a, b = SRC.table("a", columns("id:int")), SRC.table("b", columns("id:int"))
    assert independent(batch(a), batch(b))
    assert not independent(batch(a), batch(b, LATER.table("a", columns("id:int"))))
    assert not independent(batch(a), batch(b, SRC.scanned("a", "b")))
    assert not independent(batch(SRC.checked()), batch(b))


def test_commit_offsets_are_the_next_offset_per_partition() -> None:
    records = [record(0, 5), record(1, 2), record(0, 7), record(0, 6)]
    assert commit_offsets(records) == {TopicPartition("topic", 0): 8, TopicPartition("topic", 1): 3}


def test_dead_letter_headers_keep_the_origin_and_the_original_headers() -> None:
    headers = dict(dlq_headers(record(2, 41), "invalid JSON: x", "g"))
    assert headers == {
        "dlq.reason": b"invalid JSON: x",
        "dlq.topic": b"topic",
        "dlq.partition": b"2",
        "dlq.offset": b"41",
        "dlq.group": b"g",
        "h": b"1",
    }


def test_ingest_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAWAVE_INGEST__TOPICS", '["a", "b"]')
    monkeypatch.setenv("DATAWAVE_INGEST__GROUP_ID", "g")
    cfg = load_settings(_env_file=None).ingest
    assert (cfg.topics, cfg.group_id, cfg.dlq_topic) == (["a", "b"], "g", "datawave.dlq.v1")
    assert (cfg.batch_size, cfg.batch_timeout_ms) == (100, 200)
