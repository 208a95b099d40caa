"""Relay cursors and the page-size rule that every connection shares.

A cursor is opaque to clients and a keyset position to the server: (sort, sort key, URN) for
assets, a tuple of strings (e.g. a time and an id) for lists in a fixed order. Every connection
takes ``first`` from 1 to ``MAX_PAGE_SIZE``; outside that is a ``BAD_USER_INPUT`` error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from graph.catalog import AssetSort, SortField
from resolvers.errors import ClientError

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
