"""Graph timestamps come from the event, never the clock, so a replay writes the same values."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Event


def event_time(event: Event) -> datetime:
    """The event's time in UTC; a naive time is taken as UTC so comparisons in Cypher work."""
    t = event.time
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def event_stamp(event: Event) -> str:
    """``event_time`` as ISO text, for rows written in bulk: the driver's Python packs a
    datetime parameter in about 30 µs and text in 1 µs, and a batch of tables holds thousands
    of them; the query reads it back with ``datetime(...)`` (docs/benchmarks.md, ingest)."""
    return event_time(event).isoformat()
