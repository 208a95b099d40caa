"""/metrics is open to anyone, so it names no data source: the circuit breakers are counted by
state, and the breakers of sources no longer registered are dropped from Redis, so no client
grows the set by having sources scanned and forgotten."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import Settings
from tests.integration.estate import Estate
from tests.integration.security.conftest import Api

KEY = "cbr::datawave-source:"  # where purgatory keeps a source's breaker (ingest/breakers.py)


def opened(source: str) -> dict[str, bytes]:
    """The keys of ``source``'s breaker, opened a moment ago after three failures."""
    state = {"name": f"datawave-source:{source}", "threshold": 3, "ttl": 300,
             "state": "opened", "opened_at": time.time()}  # fmt: skip
    return {f"{KEY}{source}": json.dumps(state).encode(), f"{KEY}{source}::failure_count": b"3"}


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    async with Redis.from_url(settings.redis_url) as client:
        yield client


async def test_metrics_count_breakers_and_forget_unregistered_sources(
    api: Api, estate: Estate, neo4j: AsyncDriver, settings: Settings, redis: Redis
) -> None:
    await estate.write(neo4j, settings.neo4j.database)  # registers source ``estate.name``
    registered, gone = opened(estate.name), opened(f"{estate.name}-unregistered")
    await redis.mset(registered | gone)
    try:
        metrics = (await api.http.get("/metrics")).text  # no token
        assert estate.name not in metrics
        (count,) = re.findall(r'^datawave_source_breakers\{state="open"\} (\S+)$', metrics, re.M)
        assert float(count) >= 1
        assert await redis.exists(*registered) == 2
        assert await redis.exists(*gone) == 0
    finally:
        await redis.delete(*registered, *gone)
