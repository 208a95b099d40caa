"""Folding a batch's OpenLineage rows: one row per run or job gives what the rows one by one
give (graph/runs_merge.py); the graph-level check is tests/integration/lineage/test_batches.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from graph.runs_merge import fold_closes, fold_feeds, fold_runs

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event(kind: str, rank: int, minutes: int, error: str | None = None) -> dict[str, object]:
    time = T0 + timedelta(minutes=minutes)
    return {
        "urn": "urn:dw:run:ns/job/1", "type": kind, "rank": rank, "time": time,
        "key": f"{kind}@{time.isoformat()}", "errorMessage": error, "stackTrace": None,
        "nominalStart": None,
    }  # fmt: skip


def test_a_run_sent_out_of_order_folds_to_its_furthest_state() -> None:
    (run,) = fold_runs([event("COMPLETE", 3, 9), event("RUNNING", 2, 5), event("START", 1, 0)])
    assert (run["type"], run["time"]) == ("COMPLETE", T0 + timedelta(minutes=9))
    assert (run["started"], run["ended"]) == (T0, T0 + timedelta(minutes=9))
    assert len(run["keys"]) == 3


def test_between_terminal_states_the_latest_wins_and_keeps_earlier_facets() -> None:
    (run,) = fold_runs([event("FAIL", 3, 5, error="boom"), event("COMPLETE", 3, 9)])
    assert (run["type"], run["errorMessage"]) == ("COMPLETE", "boom")


def test_an_edge_keeps_its_first_declaration_and_its_latest_transformations() -> None:
    def declared(minutes: int, how: str) -> dict[str, object]:
        return {"from": "a", "to": "b", "via": "j", "time": T0 + timedelta(minutes=minutes),
                "transformations": [how], "masking": None}  # fmt: skip

    (edge,) = fold_feeds([declared(5, "DIRECT/AGGREGATION"), declared(1, "DIRECT/IDENTITY")])
    assert (edge["since"], edge["time"]) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=5))
    assert edge["transformations"] == ["DIRECT/AGGREGATION"]


def test_a_jobs_complete_runs_close_grouped_by_what_they_declared() -> None:
    late, early = T0 + timedelta(minutes=9), T0
    (row,) = fold_closes([{"via": "j", "times": [late], "feeds": []},
                          {"via": "j", "times": [early], "feeds": [["a", "b"]]}])  # fmt: skip
    assert row["closes"] == [
        {"times": [late], "feeds": []},
        {"times": [early], "feeds": [["a", "b"]]},
    ]


def test_events_declaring_an_edge_alike_fold_as_one_row_with_their_first_and_last_time() -> None:
    def declared(first: int, last: int, seq: int, how: str) -> dict[str, object]:
        return {"from": "a", "to": "b", "via": "j", "since": T0 + timedelta(minutes=first),
                "time": T0 + timedelta(minutes=last), "seq": seq, "transformations": [how],
                "masking": None}  # fmt: skip

    # Two groups of runs of one job: the first declared the edge at minutes 2 and 7, the other
    # at 1 and 7, after it in the batch: the edge is valid from 1, as the other last said.
    (edge,) = fold_feeds([declared(2, 7, 3, "DIRECT/IDENTITY"), declared(1, 7, 5, "INDIRECT/JOIN")])
    assert (edge["since"], edge["time"]) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=7))
    assert edge["transformations"] == ["INDIRECT/JOIN"]
