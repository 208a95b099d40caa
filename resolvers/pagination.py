"""Relay cursors: opaque to clients, a keyset position (sort, sort key, URN) to the server."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from graph.catalog import AssetSort, SortField
from resolvers.errors import ClientError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise ClientError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


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
