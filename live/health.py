"""Dependency checks behind ``/readyz`` and the ``serverInfo`` query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from live.state import AppState


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
    return DependencyStatus(name, up, round((time.perf_counter() - started) * 1000, 1), detail)


async def check_dependencies(state: AppState) -> list[DependencyStatus]:
    """Check every dependency concurrently, each bounded by the dependency timeout."""
    return list(await asyncio.gather(*(_run(n, c, state) for n, c in CHECKS.items())))
