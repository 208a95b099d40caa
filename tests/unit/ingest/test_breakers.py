"""A source's breaker read back from what purgatory keeps in Redis (ingest/breakers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ingest.breakers import BreakerState, _read

NOW = 1_800_000_000.0


def stored(state: str, opened_at: float | None = None) -> bytes:
    return json.dumps(
        {"name": "datawave-source:pg", "threshold": 3, "ttl": 300, "state": state,
         "opened_at": opened_at}
    ).encode()  # fmt: skip


def test_a_source_never_scanned_has_a_closed_breaker() -> None:
    breaker = _read("pg", None, None, NOW)
    assert (breaker.state, breaker.failures, breaker.refusal) == (BreakerState.CLOSED, 0, None)


def test_an_open_breaker_refuses_until_its_probe_time_then_lets_a_probe_through() -> None:
    opened = _read("pg", stored("opened", NOW - 100), b"3", NOW)
    assert (opened.state, opened.failures) == (BreakerState.OPEN, 3)
    assert opened.probe_at == datetime.fromtimestamp(NOW + 200, UTC)
    assert opened.refusal == (
        "refused: source pg failed 3 scans in a row and its circuit breaker is open; a probe "
        "scan is let through from 2027-01-15 08:03:20 UTC"
    )
    due = _read("pg", stored("opened", NOW - 301), b"3", NOW)
    assert (due.state, due.refusal) == (BreakerState.HALF_OPEN, None)


def test_failures_below_the_threshold_leave_it_closed() -> None:
    breaker = _read("pg", stored("closed"), b"2", NOW)
    assert (breaker.state, breaker.failures, breaker.probe_at) == (BreakerState.CLOSED, 2, None)
