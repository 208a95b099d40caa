"""Graph timestamps come from the event, never the clock, so a replay writes the same values."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Event


def event_time(event: Event) -> datetime:
    """The event's time in UTC; a naive time is taken as UTC so comparisons in Cypher work."""
    t = event.time
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
