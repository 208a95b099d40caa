"""A circuit breaker per data source, shared by every process through Redis (purgatory).

A source whose scans keep failing because it is unreachable opens its breaker after
``DATAWAVE_RESILIENCE__BREAKER_THRESHOLD`` failures in a row; scans of it are then refused with
the reason, without connecting, until ``BREAKER_RESET_S`` have passed, when the next scan is a
probe: success closes the breaker, failure opens it again. Only the source's own failures
count: an outage of Kafka or Neo4j, a refused configuration, say nothing about the source.
If Redis cannot hold the breaker, scans go ahead unguarded (logged): a breaker must not stop
more than the failing source.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import Gauge
from purgatory import AsyncCircuitBreakerFactory, AsyncRedisUnitOfWork
from purgatory.domain.model import OpenedState
from redis.exceptions import RedisError

from core.settings import ResilienceSettings

log = logging.getLogger("datawave.breakers")

OPEN = Gauge("datawave_source_breaker_open", "1 while a source's breaker is open", ["source"])
PREFIX = "datawave-source:"


class SourceFailure(Exception):
    """A failure of the source itself (unreachable): what its breaker counts."""


class BreakerOpen(Exception):
    """The source's breaker is open: the scan is refused; the message says why and until when."""


def _follow(name: str, event_type: str, event: Any) -> None:
    """purgatory's hook: the open gauge follows each breaker's state."""
    if event_type == "state_changed":
        OPEN.labels(name.removeprefix(PREFIX)).set(int(event.state == "opened"))
    elif event_type == "circuit_breaker_recovered":
        OPEN.labels(name.removeprefix(PREFIX)).set(0)


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
    factory.add_listener(_follow)
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
        OPEN.labels(source).set(1)
        raise BreakerOpen(
            f"refused: source {source} failed {cfg.breaker_threshold} scans in a row and its "
            f"circuit breaker is open; a probe scan is let through "
            f"{cfg.breaker_reset_s:.0f}s after it opened"
        ) from opened
    finally:
        await uow.contexts.redis.aclose()
