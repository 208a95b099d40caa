"""A data source's circuit breaker in the API: its state on ``DataSource.circuitBreaker``, and
``startScan`` refused with ``CircuitOpenError`` while it is open, before any connection."""

from __future__ import annotations

from datetime import datetime

import strawberry
from redis.exceptions import RedisError

from ingest.breakers import Breaker, BreakerState, breakers
from resolvers.common import UserError
from resolvers.context import Info

strawberry.enum(
    BreakerState,
    description="CLOSED: scans go ahead. OPEN: the source failed scans in a row and its scans "
    "are refused until `reopensAt`. HALF_OPEN: the next scan is a probe; success closes it.",
)


@strawberry.type(
    description="A source's circuit breaker: consecutive unreachable scans open it "
    "(DATAWAVE_RESILIENCE__BREAKER_THRESHOLD); it lets a probe scan through "
    "BREAKER_RESET_S later."
)
class CircuitBreaker:
    state: BreakerState
    failures: int = strawberry.field(description="Scans that failed in a row, unreachable.")
    reopens_at: datetime | None = strawberry.field(
        description="While OPEN: when a probe scan is let through."
    )


@strawberry.type(
    description="The source's circuit breaker is open: the scan is refused without connecting; "
    "a probe scan is let through from `reopensAt`."
)
class CircuitOpenError(UserError):
    reopens_at: datetime


async def breaker_of(info: Info, source: str) -> Breaker | None:
    """The source's breaker; None while Redis cannot tell (scans then go ahead unguarded)."""
    try:
        (found,) = await breakers(info.context.state.redis, [source])
    except RedisError:
        return None
    return found


async def circuit_breaker(info: Info, source: str) -> CircuitBreaker | None:
    found = await breaker_of(info, source)
    if found is None:
        return None
    return CircuitBreaker(state=found.state, failures=found.failures, reopens_at=found.probe_at)


async def refused(info: Info, source: str) -> CircuitOpenError | None:
    """The refusal of a scan of ``source`` while its breaker is open, else None."""
    found = await breaker_of(info, source)
    if found is None or found.refusal is None or found.probe_at is None:
        return None
    return CircuitOpenError(message=found.refusal, reopens_at=found.probe_at)
