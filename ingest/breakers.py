"""A circuit breaker per data source, shared by every process through Redis (purgatory).

A source whose scans keep failing because it is unreachable opens its breaker after
``DATAWAVE_RESILIENCE__BREAKER_THRESHOLD`` failures in a row; scans of it are then refused with
the reason, without connecting, until ``BREAKER_RESET_S`` have passed, when the next scan is a
probe: success closes the breaker, failure opens it again. Only the source's own failures
count: an outage of Kafka or Neo4j, a refused configuration, say nothing about the source.
If Redis cannot hold the breaker, scans go ahead unguarded (logged): a breaker must not stop
more than the failing source. ``breakers`` reads their state back for the API (``DataSource.
circuitBreaker``, ``startScan``'s refusal); ``/metrics``, open to anyone, gets only how many
breakers of registered sources are open or half-open (``export``), never a source's name.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from prometheus_client import Gauge
from purgatory import AsyncCircuitBreakerFactory, AsyncRedisUnitOfWork
from purgatory.domain.model import Context, HalfOpenedState, OpenedState
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.settings import ResilienceSettings

log = logging.getLogger("datawave.breakers")

# How many, never which: /metrics is open to anyone (docs/security.md).
BREAKERS = Gauge("datawave_source_breakers", "Breakers of registered sources, by state", ["state"])
PREFIX = "datawave-source:"
KEY = "cbr::" + PREFIX  # where purgatory's Redis repository keeps each breaker


class SourceFailure(Exception):
    """A failure of the source itself (unreachable): what its breaker counts."""


class BreakerOpen(Exception):
    """The source's breaker is open: the scan is refused; the message says why and until when."""


def _not_the_source(err: BaseException) -> bool:
    return not isinstance(err, SourceFailure)


@asynccontextmanager
async def guarded(redis_url: str, source: str, cfg: ResilienceSettings) -> AsyncIterator[None]:
    """Run the block under ``source``'s breaker: ``BreakerOpen`` if it is open, and a
    ``SourceFailure`` raised in the block counts against the source."""
    uow = AsyncRedisUnitOfWork(redis_url)
    factory = AsyncCircuitBreakerFactory(
        default_threshold=cfg.breaker_threshold,
        default_ttl=cfg.breaker_reset_s,
        exclude=[(Exception, _not_the_source)],
        uow=uow,
    )
    try:
        try:
            await factory.initialize()
            breaker = await factory.get_breaker(PREFIX + source)
        except (RedisError, OSError) as err:
            log.warning("no circuit breaker for %s (Redis: %s); scanning unguarded", source, err)
            yield
            return
        async with breaker:
            yield
    except OpenedState as opened:
        probe_at = opened.opened_at + cfg.breaker_reset_s
        raise BreakerOpen(refusal(source, cfg.breaker_threshold, probe_at)) from opened
    finally:
        await uow.contexts.redis.aclose()


def refusal(source: str, failures: int, probe_at: float) -> str:
    """Why a scan of ``source`` is refused, in words."""
    at = datetime.fromtimestamp(probe_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"refused: source {source} failed {failures} scans in a row and its circuit breaker "
        f"is open; a probe scan is let through from {at}"
    )


class BreakerState(StrEnum):
    CLOSED = "closed"  # scans go ahead
    OPEN = "open"  # scans are refused until ``probe_at``
    HALF_OPEN = "half_open"  # the next scan is a probe: success closes, failure opens again


@dataclass(frozen=True)
class Breaker:
    """A source's breaker as Redis holds it, for the API."""

    source: str
    state: BreakerState
    failures: int
    probe_at: datetime | None  # when an open breaker lets a probe scan through

    @property
    def refusal(self) -> str | None:
        """Why a scan is refused now, or None if it may go ahead (a probe, or closed)."""
        if self.state != BreakerState.OPEN or self.probe_at is None:
            return None
        return refusal(self.source, self.failures, self.probe_at.timestamp())


def _read(source: str, data: bytes | None, failures: bytes | None, now: float) -> Breaker:
    if not data:
        return Breaker(source, BreakerState.CLOSED, 0, None)
    context = Context(**json.loads(data), failure_count=int(failures or 0))
    opened_at = context.opened_at
    if context.state == OpenedState.name and opened_at is not None:
        probe_at = opened_at + context.ttl
        state = BreakerState.OPEN if now < probe_at else BreakerState.HALF_OPEN
        return Breaker(source, state, context.failure_count, datetime.fromtimestamp(probe_at, UTC))
    state = BreakerState.HALF_OPEN if context.state == HalfOpenedState.name else BreakerState.CLOSED
    return Breaker(source, state, context.failure_count, None)


def _keys(sources: list[str]) -> list[str]:
    """The Redis keys of the sources' breakers: its state, and its failures in a row."""
    return [f"{KEY}{s}{suffix}" for s in sources for suffix in ("", "::failure_count")]


async def _stored(redis: Redis) -> list[str]:
    """The sources Redis holds a breaker of."""
    keys = [key async for key in redis.scan_iter(match=f"{KEY}*", count=100)]
    names = [k.decode() if isinstance(k, bytes) else k for k in keys]
    return sorted(n.removeprefix(KEY) for n in names if not n.endswith("::failure_count"))


async def breakers(redis: Redis, sources: list[str]) -> list[Breaker]:
    """The breakers of ``sources`` (a source never scanned has a closed one); RedisError if
    Redis cannot tell."""
    if not sources:
        return []
    values = await redis.mget(_keys(sources))
    now = time.time()
    return [_read(s, values[2 * i], values[2 * i + 1], now) for i, s in enumerate(sources)]


async def export(redis: Redis, registered: Collection[str]) -> None:
    """Set the gauge from Redis, so every API process's /metrics counts every breaker (not only
    those of the scans it ran), and drop the breakers of sources no longer registered: nothing
    a client names outlives its source, and the keys stay as many as the sources."""
    if gone := [s for s in await _stored(redis) if s not in registered]:
        await redis.delete(*_keys(gone))
    counts = Counter(b.state for b in await breakers(redis, sorted(registered)))
    for state in (BreakerState.OPEN, BreakerState.HALF_OPEN):
        BREAKERS.labels(state.value).set(counts[state])
