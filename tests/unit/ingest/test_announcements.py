"""What a batch announces per asset when it changed one several times (ingest/announcements.py):
the change the batch left it with, not the last one written."""

from __future__ import annotations

import pytest

from core.events import AssetChanged
from graph.batch import Change
from ingest.announcements import merged

T, D = "urn:dw:table:shop/db/public/orders", "urn:dw:dataset:s3%3A%2F%2Flake/raw"


def added(*fields: str) -> Change:
    return Change("added", T, fields)


def changed(*fields: str) -> Change:
    return Change("changed", T, fields)


def removed(by: str | None = None) -> Change:
    return Change("removed", T, replaced_by=by)


def one(change: str, *fields: str, by: str | None = None) -> AssetChanged:
    return AssetChanged(change=change, fields=list(fields), replaced_by=by)  # type: ignore[arg-type]


CASES = [
    # A scan adds the table, a run in the same batch writes it: still news of a new table.
    ([added(), changed("lineage")], one("added", "lineage")),
    (
        [added(), changed("lineage"), changed("rowCount", "lineage")],
        one("added", "lineage", "rowCount"),
    ),
    ([changed("lineage"), added()], one("added", "lineage")),
    ([changed("rowCount"), changed("lineage", "rowCount")], one("changed", "rowCount", "lineage")),
    # A replayed snapshot's change (fields unknown) stays unknown.
    ([changed(), changed("lineage")], one("changed")),
    ([changed("lineage"), changed()], one("changed")),
    ([changed("columns"), removed()], one("removed")),
    ([added(), removed()], one("removed")),
    # A change after removal does not bring it back (a run naming a removed table).
    ([removed(), changed("lineage")], one("removed")),
    ([removed(), added()], one("added")),
    ([changed("lineage"), removed(), added()], one("added")),
    ([removed(), added(), changed("lineage")], one("added", "lineage")),
    ([removed(by=D), changed("lineage")], one("removed", by=D)),
    ([changed("lineage"), removed(by=D)], one("removed", by=D)),
    ([removed(by=D), removed()], one("removed", by=D)),
    ([removed(by=D), added()], one("added")),
    ([changed("lineage")], one("changed", "lineage")),
]


@pytest.mark.parametrize(("written", "announced"), CASES)
def test_changes_of_one_asset_merge_into_what_the_batch_left(
    written: list[Change], announced: AssetChanged
) -> None:
    assert merged(written) == {T: announced}


def test_each_asset_is_merged_on_its_own_in_the_order_first_written() -> None:
    written = [added(), Change("removed", D, replaced_by=T), changed("lineage")]
    assert list(merged(written).items()) == [
        (T, one("added", "lineage")),
        (D, one("removed", by=T)),
    ]
