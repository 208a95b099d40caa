"""The Redis token bucket: a burst up to capacity, then refusals with a retry hint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from live.state import REDIS_CONNECTIONS, open_redis
from security import ratelimit
from security.ratelimit import RateLimiter


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[tuple[Redis, Redis]]:
    """The Redis clients of two API replicas: separate connections to one bucket."""
    a, b = Redis.from_url(settings.redis_url), Redis.from_url(settings.redis_url)
    yield a, b
    await a.aclose()
    await b.aclose()


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


async def test_two_replicas_share_one_budget(replicas: tuple[Redis, Redis], unique: str) -> None:
    first, second = (RateLimiter(r, 2, 0.01) for r in replicas)
    results = [await first.take(unique), await second.take(unique), await first.take(unique)]
    assert [r.allowed for r in results] == [True, True, False]


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


async def test_replicas_taking_tokens_a_lease_at_a_time_never_exceed_the_bucket(
    replicas: tuple[Redis, Redis], unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bucket of 1,000 is taken from 20 tokens at a time (one Redis call for 20 requests):
    what one replica holds is not available to the other until it goes back, and all of it
    together never exceeds the bucket."""
    monkeypatch.setattr(ratelimit, "LEASE_S", 0.2)
    a, _ = replicas
    first, second = (RateLimiter(r, 1000, 0.001) for r in replicas)
    assert first.lease == 20
    assert (await first.take(unique)).allowed  # holds 19 more
    left = float(await a.hget(f"datawave:ratelimit:{unique}", "tokens"))
    assert left == pytest.approx(980, abs=0.01)
    drained = [await second.take(unique) for _ in range(990)]
    assert sum(d.allowed for d in drained) == 980
    assert not drained[-1].allowed and drained[-1].retry_after_s > 100
    # The 19 the first replica held go back to the bucket with its first call after the
    # lease, which takes them again (a lease of 19 now): none is lost, none added.
    await asyncio.sleep(0.25)
    again = [await first.take(unique) for _ in range(30)]
    assert sum(d.allowed for d in again) == 19
    assert not (await second.take(unique)).allowed


async def test_a_replica_spends_a_lease_it_holds_before_asking_again(
    redis: Redis, unique: str
) -> None:
    limiter = RateLimiter(redis, capacity=1000, refill_per_s=0.001)
    decisions = [await limiter.take(unique) for _ in range(1001)]
    assert [d.allowed for d in decisions] == [True] * 1000 + [False]
