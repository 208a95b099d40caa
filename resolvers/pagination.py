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
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from graph.catalog import AssetSort, SortField
from resolvers.common import Connection, Edge, PageInfo
from resolvers.errors import ClientError

T = TypeVar("T")

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


def timed_position(after: str | None, of: str) -> tuple[str, str] | None:
    """(time, id) of an endCursor of ``of``, for lists in time order (None: from the start);
    a time that does not parse is refused here rather than failing the database query."""
    if after is None:
        return None
    at, key = keyset_position(after, 2, of)
    try:
        datetime.fromisoformat(at)
    except ValueError:
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page") from None
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


def offset_after(after: str | None, of: str) -> int:
    """Where a page of a ranked list starts: 0, or one past the item an endCursor of ``of``
    names."""
    if after is None:
        return 0
    (position,) = keyset_position(after, 1, of)
    if not position.isdigit():
        raise ClientError(f"invalid cursor: pass an endCursor of a {of} page")
    return int(position) + 1


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


def urn_page(
    items: Sequence[T], urn: Callable[[T], str], first: int, after: str | None
) -> Connection[T]:
    """A page, in URN order, of a list the request already holds: one hop of lineage, which
    the DataLoaders fetch for every parent in one query, so only the answer is bounded."""
    check_page_size(first)
    ordered = sorted(items, key=urn)
    start = 0
    if after is not None:
        (last,) = keyset_position(after, 1, "this list")
        start = bisect.bisect_right([urn(i) for i in ordered], last)
    page = ordered[start : start + first]

    async def count() -> int:
        return len(ordered)

    return Connection(
        edges=[Edge(node=i, position=lambda i=i: keyset_cursor([urn(i)])) for i in page],
        page_info=PageInfo(
            has_next_page=start + first < len(ordered),
            end_cursor=keyset_cursor([urn(page[-1])]) if page else None,
        ),
        count=count,
    )


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
