"""Relay pages of mesh lists in URN order (keyset cursors over the URN)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from resolvers.common import Connection, Edge, PageInfo
from resolvers.pagination import keyset_cursor, keyset_position

T = TypeVar("T")


def after_urn(after: str | None, of: str) -> str | None:
    """The URN a cursor of the field ``of`` points after (None: from the start)."""
    return keyset_position(after, 1, of)[0] if after is not None else None


def page(
    nodes: list[T], urns: list[str], first: int, count: Callable[[], Awaitable[int]]
) -> Connection[T]:
    """A page in URN order: ``urns`` were read with ``first + 1`` asked for."""
    more = len(urns) > first
    pairs = list(zip(nodes, urns, strict=True))[:first]
    return Connection(
        edges=[Edge(node=n, position=lambda u=u: keyset_cursor([u])) for n, u in pairs],
        page_info=PageInfo(
            has_next_page=more, end_cursor=keyset_cursor([pairs[-1][1]]) if pairs else None
        ),
        count=count,
    )
