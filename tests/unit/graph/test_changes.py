"""What a batch announces (graph/batch.py ``changes_of``): only real changes, with their fields
(issue 12, 2). The graph's side is the ``BEFORE`` row a table had before the batch."""

from __future__ import annotations

from typing import Any

from core.events import ColumnProfile
from graph.batch import Change, changes_of
from graph.snapshots import snapshot
from tests.factories import Source, columns

SOURCE = Source("shop")


def orders(minutes: float = 0, null_ratio: float = 0.1, extra: bool = False) -> Any:
    cols = columns("id:int", "email:text?", *(["currency:text?"] if extra else []))
    cols[1] = cols[1].model_copy(update={"profile": ColumnProfile(null_ratio=null_ratio)})
    return snapshot(SOURCE.at(minutes).table("orders", cols))


def before(applied: Any, **changes: Any) -> dict[str, Any]:
    """The BEFORE row of a table the snapshot ``applied`` was written from."""
    table = applied.rows.table
    props = {f: table[f] for f in ("kind", "rowCount", "rowCountExact", "sizeBytes",
                                    "description", "viewSql", "primaryKey", "indexes")}  # fmt: skip
    profiles = [[c[0], *c[7:11]] for c in table["columns"]]
    return {"urn": applied.urn, "lastEventId": applied.event.id, "addedBy": None,
            "removed": False, "props": props | changes, "profiles": profiles}  # fmt: skip


def test_a_table_new_to_the_graph_or_back_is_added() -> None:
    first = orders()
    assert changes_of([first], {first.urn}, {}) == [Change("added", first.urn)]
    gone = before(orders(-5)) | {"removed": True}
    assert changes_of([first], set(), {first.urn: gone}) == [Change("added", first.urn)]


def test_a_rescan_that_finds_the_table_as_it_was_changes_nothing() -> None:
    assert changes_of([orders(10)], set(), {orders().urn: before(orders())}) == []


def test_what_differs_is_named() -> None:
    urn = orders().urn
    was = before(orders(), rowCount=5, description="old")
    wider = orders(10, extra=True)
    assert changes_of([wider], {urn}, {urn: was}) == [
        Change("changed", urn, ("rowCount", "description", "columns"))
    ]
    emptier = orders(10, null_ratio=0.6)
    assert changes_of([emptier], set(), {urn: before(orders())}) == [
        Change("changed", urn, ("profiles",))
    ]


def test_a_snapshot_applied_again_is_announced_again() -> None:
    """A batch replayed after a crash may have lost its announcement: say it changed."""
    applied = orders()
    assert changes_of([applied], set(), {applied.urn: before(applied)}) == [
        Change("changed", applied.urn)
    ]


def test_the_snapshot_that_added_a_table_applied_again_is_announced_added_again() -> None:
    """Its ``ADDED`` may be what the crash lost: ``ADDED`` subscribers hear it again."""
    applied = orders()
    row = before(applied) | {"addedBy": applied.event.id}
    assert changes_of([applied], set(), {applied.urn: row}) == [Change("added", applied.urn)]
