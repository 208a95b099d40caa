"""Relay cursors and the page-size rule that every connection shares.

A cursor is opaque to clients and a keyset position to the server: (sort, sort key, URN) for
assets, a tuple of strings (e.g. a time and an id) for lists in a fixed order (the review
queue's: a confidence, a column and a label), an offset for ranked search hits. Every connection
takes ``first`` from 1 to ``MAX_PAGE_SIZE``; outside that is a ``BAD_USER_INPUT`` error.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from graph.catalog import AssetSort, SortField
from resolvers.common import Connection, Edge, PageInfo
from resolvers.errors import ClientError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ClientError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


def keyset_cursor(position: Sequence[str]) -> str:
    """The cursor of a position in a list of fixed order."""
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def keyset_position(cursor: str, size: int, of: str) -> tuple[str, ...]:
    """The position of size ``size`` in ``cursor``, which must be an endCursor of ``of``."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        position = None
    if (
        not isinstance(position, list)
        or len(position) != size
        or not all(isinstance(p, str) for p in position)
    ):
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page")
    return tuple(position)


# A cursor's time as the database writes it (``toString`` of a datetime: DataWave writes UTC)
# or Python does, which Neo4j's ``datetime()`` reads back. Python's ``fromisoformat`` alone also
# takes what Neo4j does not: a space for the ``T``, an offset in seconds or past 18 hours (each
# an internal error there).
_CURSOR_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_MAX_OFFSET = timedelta(hours=18)


def _cursor_time(at: str) -> bool:
    if not _CURSOR_TIME.fullmatch(at):
        return False
    try:
        offset = datetime.fromisoformat(at).utcoffset()
    except ValueError:  # a 13th month, a 25th hour
        return False
    return offset is None or abs(offset) <= _MAX_OFFSET


def timed_position(after: str | None, of: str) -> tuple[str, str] | None:
    """(time, id) of an endCursor of ``of``, for lists in time order (None: from the start);
    a time the database would not read is refused here rather than failing its query."""
    if after is None:
        return None
    at, key = keyset_position(after, 2, of)
    if not _cursor_time(at):
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page")
    return at, key


def ranked_position(after: str | None, of: str) -> tuple[float, str, str] | None:
    """(rank, URN, name) of an endCursor of ``of``, for lists ranked by a number and kept in
    place by a URN and a name (None: from the start)."""
    if after is None:
        return None
    rank, urn, name = keyset_position(after, 3, of)
    try:
        return float(rank), urn, name
    except ValueError:
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page") from None


def after_urn(after: str | None, of: str) -> str | None:
    """The URN a cursor of the field ``of`` points after (None: from the start)."""
    return keyset_position(after, 1, of)[0] if after is not None else None


def whole_number(text: str, of: str) -> int:
    """A cursor's count or version number; ``isdigit`` alone also takes digits ``int`` does not
    read (``²``), which failed the request instead of refusing the cursor."""
    if not (text.isascii() and text.isdigit()):
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page")
    return int(text)


def number_after(after: str | None, of: str) -> int | None:
    """The number (a version, a place in an append-only list) an endCursor of ``of`` points
    after, for lists in the order of a whole number (None: from the start)."""
    return whole_number(keyset_position(after, 1, of)[0], of) if after is not None else None


def keyset_page(
    nodes: Sequence[T | None],
    positions: Sequence[Sequence[str]],
    first: int,
    count: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """A page of a list read in a fixed order with ``first + 1`` asked for; ``positions``:
    each node's place in that order (its URN, or a sort key and a tie-breaker), its cursor. A
    node None was read but is not shown; its place still counts, so the next page follows it."""
    pairs = list(zip(nodes, positions, strict=True))[:first]
    return Connection(
        edges=[
            Edge(node=n, position=lambda p=p: keyset_cursor(p)) for n, p in pairs if n is not None
        ],
        page_info=PageInfo(
            has_next_page=len(positions) > first,
            end_cursor=keyset_cursor(pairs[-1][1]) if pairs else None,
        ),
        count=count,
    )


async def read_page(
    read: Callable[[int], Awaitable[Sequence[R]]],
    count: Callable[[], Awaitable[int]],
    node: Callable[[R], T],
    position: Callable[[R], Sequence[str]],
    first: int,
) -> Connection[T]:
    """A page of a list one query reads in a fixed order: ``read(limit)`` reads up to
    ``first + 1`` rows after the caller's position (the extra one tells whether a next page
    exists), ``position`` is a row's place in that order: its cursor."""
    found = await read(check_page_size(first) + 1)
    return keyset_page([node(r) for r in found], [position(r) for r in found], first, count)


def offset_after(after: str | None, of: str) -> int:
    """Where a page of a ranked list starts: 0, or one past the item an endCursor of ``of``
    names."""
    position = number_after(after, of)
    return 0 if position is None else position + 1


def offset_page(
    items: Sequence[tuple[int, T]],
    start: int,
    first: int,
    fetched: int,
    count: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """A page of a ranked list: ``fetched`` items were read from offset ``start`` (``first +
    1`` asked for), and ``items`` are those the caller may see, each with its offset."""
    page = [(n, item) for n, item in items if n < start + first]
    return Connection(
        edges=[Edge(node=item, position=lambda n=n: keyset_cursor([str(n)])) for n, item in page],
        page_info=PageInfo(
            has_next_page=fetched > first,
            end_cursor=keyset_cursor([str(min(fetched, first) + start - 1)]) if fetched else None,
        ),
        count=count,
    )


def held_page(
    items: Sequence[T],
    key: Callable[[T], Any],
    position: Callable[[T], Sequence[str]],
    first: int,
    start_after: Any,
) -> Connection[T]:
    """A page of a list the request already holds (a DataLoader's batch, a report), in the
    order of ``key`` after the key ``start_after`` (None: from the start); ``position``: an
    item's cursor, which the caller turns back into its key. Only the answer is bounded."""
    check_page_size(first)
    ordered = sorted(items, key=key)
    start = 0
    if start_after is not None:
        start = bisect.bisect_right([key(i) for i in ordered], start_after)
    page = ordered[start : start + first]

    async def count() -> int:
        return len(ordered)

    return Connection(
        edges=[Edge(node=i, position=lambda i=i: keyset_cursor(position(i))) for i in page],
        page_info=PageInfo(
            has_next_page=start + first < len(ordered),
            end_cursor=keyset_cursor(position(page[-1])) if page else None,
        ),
        count=count,
    )


def urn_page(
    items: Sequence[T], urn: Callable[[T], str], first: int, after: str | None
) -> Connection[T]:
    """A page, in URN order, of a list the request already holds: one hop of lineage, which
    the DataLoaders fetch for every parent in one query, so only the answer is bounded."""
    check_page_size(first)
    last = after_urn(after, "this list")
    return held_page(items, urn, lambda i: [urn(i)], first, last)


def numbered_page(
    items: Sequence[T], number: Callable[[T], int], first: int, after: str | None, of: str
) -> Connection[T]:
    """A page, in the order of a whole number (a table's schema versions), of a list the
    request already holds; ``of`` names the field its cursors belong to."""
    check_page_size(first)
    last = number_after(after, of)
    return held_page(items, number, lambda i: [str(number(i))], first, last)


def encode_cursor(sort: AssetSort, key: Any, urn: str) -> str:
    raw = json.dumps([sort.field.value, sort.descending, key, urn], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: AssetSort) -> tuple[Any, str]:
    """The keyset position in ``cursor``; it must come from a page with the same sort."""
    try:
        field, descending, key, urn = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        valid = SortField(field) is sort.field and descending is sort.descending
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        valid = False
    if not valid or not isinstance(urn, str) or not isinstance(key, str | int | float):
        raise ClientError("invalid cursor: pass an endCursor of a page with the same sort")
    return key, urn
