"""What counts as a dependency outage, and waiting one out.

A worker that meets an outage (Neo4j unreachable, the Kafka broker gone, Redis refusing
connections) has nothing to dead-letter: no event is to blame. It waits with capped exponential
backoff and full jitter (so a fleet of workers does not reconnect in step), then tries the same
work again. Its offsets stay where they were until the work is done, so nothing is lost, and
graph writes are idempotent, so nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaError, KafkaTimeoutError
from neo4j.exceptions import ServiceUnavailable, SessionExpired
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from prometheus_client import Gauge
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from core.settings import ResilienceSettings

log = logging.getLogger("datawave.outages")

T = TypeVar("T")

# What each component of this process waits for now (its heartbeat reports it).
_waiting: dict[str, str] = {}

WAITING = Gauge(
    "datawave_dependency_waiting",
    "1 while a component waits for a dependency to come back",
    ["component", "dependency"],
)


class Outage(Exception):
    """An outage its raiser recognised itself (a data source that stopped answering in the
    middle of a scan); the message says it in words."""

    def __init__(self, dependency: str, words: str) -> None:
        super().__init__(words)
        self.dependency = dependency


def dependency(err: BaseException) -> str | None:
    """The dependency whose outage ``err`` is (``neo4j``, ``kafka``, ``redis``, ``opensearch``,
    or an ``Outage``'s own), else None."""
    if isinstance(err, Outage):
        return err.dependency
    if isinstance(err, ServiceUnavailable | SessionExpired):
        return "neo4j"
    if isinstance(err, KafkaTimeoutError) or (isinstance(err, KafkaError) and err.retriable):
        return "kafka"
    if isinstance(err, RedisConnectionError | RedisTimeoutError):
        return "redis"
    if isinstance(err, OpenSearchConnectionError):
        return "opensearch"
    return None


WORDS = {
    "neo4j": "the graph database (Neo4j) is unreachable",
    "kafka": "the event broker (Kafka) is unreachable",
    "redis": "Redis is unreachable",
    "opensearch": "the search engine (OpenSearch) is unreachable",
}


def in_words(err: BaseException) -> str:
    """What went wrong, for a person: an outage says which dependency, anything else its
    message (never only an exception class such as NodeNotReadyError)."""
    name = dependency(err)
    if isinstance(err, Outage):
        return str(err)
    if name:
        return WORDS[name]
    return str(err) or "an unexpected error (see the log)"


def is_outage(err: BaseException) -> bool:
    return dependency(err) is not None


def waiting_for(component: str) -> str | None:
    """The dependency ``component`` is waiting for in this process, if any."""
    return _waiting.get(component)


async def wait_out(
    call: Callable[[], Awaitable[T]],
    cfg: ResilienceSettings,
    component: str,
    stopping: asyncio.Event | None = None,
    give_up_after_s: float | None = None,
) -> T:
    """``call()`` until it returns; an outage is waited out with capped, jittered backoff and
    any other error raised. Once ``stopping`` is set, or ``give_up_after_s`` have passed since
    the first failure, the outage is raised instead."""

    async def sleep(seconds: float) -> None:
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    first_failure: float | None = None

    def stop(_state: RetryCallState) -> bool:
        nonlocal first_failure
        now = time.monotonic()
        first_failure = first_failure or now
        if give_up_after_s is not None and now - first_failure >= give_up_after_s:
            return True
        return stopping is not None and stopping.is_set()

    waiting: set[str] = set()

    def before_sleep(state: RetryCallState) -> None:
        err = state.outcome.exception() if state.outcome else None
        name = dependency(err) if err else None
        if name and name not in waiting:
            waiting.add(name)
            WAITING.labels(component, name).set(1)
        if name:
            _waiting[component] = name
        log.warning(
            "%s waits for %s (attempt %d, next in %.1fs): %s",
            component,
            name,
            state.attempt_number,
            state.upcoming_sleep,
            err,
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_outage),
        wait=wait_random_exponential(multiplier=cfg.backoff_initial_s, max=cfg.backoff_max_s),
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                result = await call()
        if waiting:
            log.warning("%s: %s back", component, ", ".join(sorted(waiting)))
        return result
    finally:
        for name in waiting:
            WAITING.labels(component, name).set(0)
        if waiting:
            _waiting.pop(component, None)
