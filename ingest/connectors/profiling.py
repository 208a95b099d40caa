"""Column profiles and samples computed from a bounded set of values, for every engine.

Connectors read at most ``profile_rows`` rows (or ``sample_documents`` documents) and hand the
values here, so null ratio, distinct count and min/max describe that sample, not the whole
table: cheap and bounded on any table size, good enough to classify and to spot drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from core.events import ColumnProfile

MAX_VALUE_CHARS = 256  # per sample value and per min/max: long texts are cut, blobs never read
ORDERABLE = (int, float, Decimal, str, date, datetime, time, timedelta)
# Binary values and whole documents or arrays are never sampled (their fields are, by path).
OPAQUE = (bytes, bytearray, memoryview, Mapping, list)


def as_text(value: object) -> str | None:
    """The sample form of a value; None for opaque values."""
    if isinstance(value, OPAQUE):
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, date | time):
        text = value.isoformat()
    else:
        text = str(value)
    return text[:MAX_VALUE_CHARS]


def _orderable(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, ORDERABLE):
        return False
    return not (isinstance(value, float) and math.isnan(value))


def _bounds(values: Sequence[object]) -> tuple[str | None, str | None]:
    ordered = [v for v in values if _orderable(v)]
    if not ordered or len(ordered) < len(values):
        return None, None
    try:
        return as_text(min(ordered)), as_text(max(ordered))  # type: ignore[type-var]
    except TypeError:  # mixed types (MongoDB fields, naive with aware datetimes)
        return None, None


def profile_values(
    values: Sequence[object], rows: int, present: int, sample_size: int
) -> tuple[ColumnProfile | None, list[str]]:
    """Profile the non-null ``values`` seen in ``rows`` rows, ``present`` of which had one.

    Returns the profile (None when nothing was read) and up to ``sample_size`` distinct values
    as strings, in the order seen.
    """
    if rows == 0:
        return None, []
    texts = [t for t in map(as_text, values) if t is not None]
    distinct = list(dict.fromkeys(texts))
    low, high = _bounds(values) if len(texts) == len(values) else (None, None)
    profile = ColumnProfile(
        null_ratio=round(1 - present / rows, 6),
        distinct_count=len(distinct) if len(texts) == len(values) else None,
        min=low,
        max=high,
    )
    return profile, distinct[:sample_size]
