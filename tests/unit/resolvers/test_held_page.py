"""Pages of lists the request already holds, in the order of a number (a table's schema
versions, a remediation's notes) or of a rank (a version's usage), and the cursors of numbered
lists: keyset positions, and a crafted one is the caller's error, never an internal one."""

from __future__ import annotations

import pytest

from resolvers.errors import ClientError
from resolvers.pagination import (
    held_page,
    keyset_cursor,
    number_after,
    numbered_page,
    offset_after,
)

VERSIONS = [11, 2, 10, 1, 9, 3]


def _same(n: int) -> int:
    return n


async def test_a_numbered_list_pages_in_number_order_not_as_text() -> None:
    seen, after = [], None
    while True:
        page = numbered_page(VERSIONS, _same, 4, after, "versions")
        seen += [e.node for e in page.edges]
        assert await page.total_count() == len(VERSIONS)
        if not page.page_info.has_next_page:
            break
        after = page.page_info.end_cursor
    assert seen == [1, 2, 3, 9, 10, 11]


def test_a_numbered_cursor_resumes_after_its_number_even_if_that_item_is_gone() -> None:
    page = numbered_page([1, 3, 5], _same, 10, keyset_cursor(["2"]), "versions")
    assert [e.node for e in page.edges] == [3, 5]


@pytest.mark.parametrize("position", ["v2", "-1", "2.5", "²", "٣", ""])
def test_a_cursor_without_a_whole_number_is_refused(position: str) -> None:
    """``²`` and ``٣`` are digits to ``str.isdigit``; ``int`` rejects the first, so a search
    cursor holding it failed the request instead of being refused."""
    crafted = keyset_cursor([position])
    for read in (lambda: number_after(crafted, "versions"), lambda: offset_after(crafted, "x")):
        with pytest.raises(ClientError, match="invalid cursor"):
            read()


def test_a_ranked_list_pages_by_rank_then_name() -> None:
    """Usage: most reads first, ties by team; the cursor holds both."""
    reads = {"crm": 3, "bi": 1, "ads": 3}

    def page(start: tuple[int, str] | None) -> list[str]:
        found = held_page(
            list(reads), lambda t: (-reads[t], t), lambda t: [str(reads[t]), t], 2, start
        )
        return [e.node for e in found.edges]

    assert page(None) == ["ads", "crm"]
    assert page((-3, "crm")) == ["bi"]
