"""Dependency checks behind ``/readyz`` and the ``serverInfo`` query.

Each probe is a function of the process's state in ``CHECKS``, by name. Callers go through
``dependencies``: one round of probes at a time for all of them, and a round that found every
dependency up reused for ``DATAWAVE_DEPENDENCY_CACHE_S`` (live/shared.py), so neither an open
/readyz nor a document of aliased ``serverInfo`` fields multiplies the traffic to the services.

A replica serves without an ``OPTIONAL`` dependency (OpenSearch: only search needs it, and
answers SEARCH_UNAVAILABLE meanwhile), so one that is down makes it degraded, not unready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from live.state import AppState

log = logging.getLogger("datawave.health")


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    up: bool
    latency_ms: float
    detail: str


async def _neo4j(state: AppState) -> str:
    info = await state.neo4j.get_server_info()
    return f"Neo4j {info.agent}"


async def _kafka(state: AppState) -> str:
    cluster = await state.kafka_admin.describe_cluster()
    return f"{len(cluster['brokers'])} broker(s)"


async def _redis(state: AppState) -> str:
    await state.redis.ping()
    info = await state.redis.info("server")
    return f"Redis {info.get('redis_version')}"


async def _opensearch(state: AppState) -> str:
    health = await state.opensearch.cluster.health()
    return f"cluster {health['status']}"


async def _opa(state: AppState) -> str:
    response = await state.opa.get("/health")
    response.raise_for_status()
    return "policy engine up"


OPTIONAL = frozenset({"opensearch"})

CHECKS: dict[str, Callable[[AppState], Awaitable[str]]] = {
    "neo4j": _neo4j,
    "kafka": _kafka,
    "redis": _redis,
    "opensearch": _opensearch,
    "opa": _opa,
}


async def _run(
    name: str,
    check: Callable[[AppState], Awaitable[str]],
    state: AppState,
) -> DependencyStatus:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(state), state.settings.dependency_timeout_s)
        up = True
    except TimeoutError:
        detail, up = f"no answer within {state.settings.dependency_timeout_s}s", False
    except Exception as err:  # any failure means "down"; the message tells which
        detail, up = f"{type(err).__name__}: {err}"[:300], False
    if not up:
        log.warning("dependency %s is down: %s", name, detail)
    return DependencyStatus(name, up, round((time.perf_counter() - started) * 1000, 1), detail)


def serving(deps: list[DependencyStatus]) -> bool:
    """Whether the replica can serve: every dependency but the optional ones is up."""
    return all(d.up for d in deps if d.name not in OPTIONAL)


def missing(deps: list[DependencyStatus]) -> list[str]:
    """The optional dependencies that are down: the replica is degraded without them."""
    return [d.name for d in deps if not d.up and d.name in OPTIONAL]


async def check_dependencies(state: AppState) -> list[DependencyStatus]:
    """Check every dependency concurrently, each bounded by the dependency timeout."""
    return list(await asyncio.gather(*(_run(n, c, state) for n, c in CHECKS.items())))


async def dependencies(state: AppState) -> list[DependencyStatus]:
    """``check_dependencies``, shared with the process's other callers (``state.health``)."""
    return await state.health.get(
        lambda: check_dependencies(state),
        state.settings.dependency_cache_s,
        keep=lambda deps: all(d.up for d in deps),  # a dependency down is probed again
    )
