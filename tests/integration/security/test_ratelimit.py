"""The Redis token bucket: a burst up to capacity, then refusals with a retry hint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from live.state import REDIS_CONNECTIONS, open_redis
from security.ratelimit import RateLimiter


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


async def test_burst_then_refusal_then_refill(redis: Redis, unique: str) -> None:
    limiter = RateLimiter(redis, capacity=5, refill_per_s=20)
    decisions = [await limiter.take(unique) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert 0 < decisions[-1].retry_after_s <= 0.1
    await asyncio.sleep(0.12)
    assert (await limiter.take(unique)).allowed


async def test_principals_have_separate_buckets(redis: Redis, unique: str) -> None:
    limiter = RateLimiter(redis, capacity=1, refill_per_s=0.01)
    assert (await limiter.take(unique + "a")).allowed
    assert not (await limiter.take(unique + "a")).allowed
    assert (await limiter.take(unique + "b")).allowed


async def test_two_replicas_share_one_budget(settings: Settings, unique: str) -> None:
    a, b = Redis.from_url(settings.redis_url), Redis.from_url(settings.redis_url)
    try:
        first, second = RateLimiter(a, 2, 0.01), RateLimiter(b, 2, 0.01)
        results = [await first.take(unique), await second.take(unique), await first.take(unique)]
        assert [r.allowed for r in results] == [True, True, False]
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_burst_beyond_the_connection_pool_is_still_limited(
    settings: Settings, unique: str
) -> None:
    """More callers at once than the API has Redis connections: they wait for a connection
    rather than fail, so the limiter keeps refusing instead of letting everyone through."""
    redis = open_redis(settings)
    try:
        limiter = RateLimiter(redis, capacity=50, refill_per_s=0.01)
        decisions = await asyncio.gather(
            *(limiter.take(unique) for _ in range(3 * REDIS_CONNECTIONS))
        )
    finally:
        await redis.aclose()
    assert sum(d.allowed for d in decisions) == 50
