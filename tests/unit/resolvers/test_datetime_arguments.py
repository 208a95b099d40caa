"""Every DateTime argument follows one rule (resolvers/common.py): a time without an offset is
UTC, so it names a moment Neo4j and Python compare with stored times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from resolvers.common import utc_moment


def test_a_time_without_offset_is_utc_and_one_with_keeps_it() -> None:
    assert utc_moment("2026-12-01T09:30:00") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    paris = utc_moment("2026-12-01T09:30:00+01:00")
    assert paris.utcoffset() == timedelta(hours=1)
    assert paris == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert utc_moment("2026-12-01T09:30:00Z").tzinfo is not None
    assert utc_moment("2026-12-01").tzinfo == UTC
    assert paris.tzinfo == timezone(timedelta(hours=1))


@pytest.mark.parametrize("value", ["yesterday", "", 1733040000])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="DateTime cannot represent"):
        utc_moment(value)
