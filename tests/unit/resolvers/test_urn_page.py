"""One hop of lineage as a Relay connection: pages in URN order, cursors that resume after the
last item, the count of all, and the page-size rule every connection shares (issue 12, 5)."""

from __future__ import annotations

import pytest

from resolvers.errors import ClientError
from resolvers.pagination import MAX_PAGE_SIZE, keyset_cursor, timed_position, urn_page

URNS = [f"urn:dw:table:src/db/public/t{i:03}" for i in range(7)]


def _urn(u: str) -> str:
    return u


async def test_pages_walk_the_list_in_urn_order_without_gaps_or_repeats() -> None:
    seen, after = [], None
    while True:
        page = urn_page(list(reversed(URNS)), _urn, 3, after)
        seen += [e.node for e in page.edges]
        assert await page.total_count() == len(URNS)
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    assert seen == URNS


def test_an_edge_cursor_resumes_after_that_edge() -> None:
    first = urn_page(URNS, _urn, 2, None)
    resumed = urn_page(URNS, _urn, 2, first.edges[0].cursor())
    assert [e.node for e in resumed.edges] == URNS[1:3]


def test_an_empty_hop_is_an_empty_page() -> None:
    page = urn_page([], _urn, 10, None)
    assert (page.edges, page.page_info.has_next_page, page.page_info.end_cursor) == (
        [],
        False,
        None,
    )


@pytest.mark.parametrize("first", [0, MAX_PAGE_SIZE + 1])
def test_the_page_size_rule_holds(first: int) -> None:
    with pytest.raises(ClientError, match=f"between 1 and {MAX_PAGE_SIZE}"):
        urn_page(URNS, _urn, first, None)


def test_a_foreign_cursor_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match="invalid cursor"):
        urn_page(URNS, _urn, 2, "bm90LWEtY3Vyc29y")


def test_a_time_ordered_cursor_with_a_time_that_does_not_parse_is_refused() -> None:
    """``waivers`` passed a crafted cursor's time to Neo4j's ``datetime()``: an internal error
    instead of a cursor error."""
    at = "2026-12-06T06:00:00.123000+00:00"
    assert timed_position(keyset_cursor([at, "w1"]), "waivers") == (at, "w1")
    assert timed_position(None, "waivers") is None
    with pytest.raises(ClientError, match="pass an endCursor of a waivers page"):
        timed_position(keyset_cursor(["yesterday", "w1"]), "waivers")


@pytest.mark.parametrize(
    "at",
    [
        "2026-12-06 06:00:00",  # a space for the T
        "2026-12-06T06:00:00+23:00",  # Neo4j's offsets end at 18 hours
        "2026-12-06T06:00:00-18:30",
        "2026-12-06T06:00:00+05:30:15",  # an offset in seconds
    ],
)
def test_a_cursor_time_the_database_would_not_read_is_refused(at: str) -> None:
    """Python's ``fromisoformat`` takes these, Neo4j's ``datetime()`` does not: ``waivers``,
    ``accessRequests`` and ``scans`` answered a crafted cursor with an internal error."""
    with pytest.raises(ClientError, match="pass an endCursor of a scans page"):
        timed_position(keyset_cursor([at, "s1"]), "scans")


@pytest.mark.parametrize(
    "at", ["2026-12-06T06:00:00.123456789Z", "2026-12-06T06:00Z", "2026-12-06T06:00:00-18:00"]
)
def test_a_cursor_time_as_the_database_writes_it_is_kept(at: str) -> None:
    assert timed_position(keyset_cursor([at, "s1"]), "scans") == (at, "s1")
