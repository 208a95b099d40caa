"""A container listing too large for one event is sent in parts, each a complete listing of a
URN range: 18,000 tables of one schema made a 1.3 MB event, over the 1 MiB limit, and the
listing (and with it the removal of dropped tables) would have been dead-lettered."""

from __future__ import annotations

import itertools

import pytest

from core.checks import check_event
from core.events import (
    CONTAINER_SCANNED,
    MAX_EVENT_BYTES,
    ContainerScanned,
    InvalidEvent,
    listing_parts,
    make_event,
)
from core.urns import schema_urn, source_urn, table_urn

SCHEMA = schema_urn("crm", "db", "public")


def tables(n: int) -> list[str]:
    return [table_urn("crm", "db", "public", f"customer_table_{i:05}") for i in range(n)]


def test_a_small_listing_is_one_unbounded_event() -> None:
    (part,) = listing_parts(tables(3), "scan-1")
    assert part == ContainerScanned(children=sorted(tables(3)), scan_id="scan-1")


def test_a_large_listing_fits_the_event_limit_in_parts_that_cover_every_urn() -> None:
    children = tables(18_000)
    parts = listing_parts(children, "scan-1")
    assert len(parts) > 1
    assert [c for p in parts for c in p.children] == sorted(children)
    assert parts[0].after is None and parts[-1].until is None
    for before, part in itertools.pairwise(parts):
        assert part.after == before.until == before.children[-1], "ranges meet, no gap"
    for part in parts:
        event = make_event(CONTAINER_SCANNED, source_urn("crm"), SCHEMA, part)
        assert len(event.to_bytes()) < MAX_EVENT_BYTES
        check_event(event)  # every child inside its part's range


def test_a_child_outside_its_part_range_is_refused() -> None:
    first, second = listing_parts(tables(10), None, budget=400)[:2]
    stray = second.model_copy(update={"children": [*second.children, first.children[0]]})
    with pytest.raises(InvalidEvent, match="outside the listed range"):
        check_event(make_event(CONTAINER_SCANNED, source_urn("crm"), SCHEMA, stray))
