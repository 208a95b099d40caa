"""The broadcast hub over the real Redis: fan-out across hubs, bounded queues, clean exits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from live.broadcast import PREFIX, Broadcast, SlowConsumer, open_broadcast, publish


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Broadcast]:
    async with open_broadcast(settings.redis_url, queue_size=3) as h:
        yield h


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 5 s")


async def test_every_hub_delivers_to_its_subscribers(
    settings: Settings, hub: Broadcast, redis: Redis, unique: str
) -> None:
    async with (
        open_broadcast(settings.redis_url, queue_size=3) as other,
        hub.subscribe(unique) as here,
        other.subscribe(unique) as there,
    ):
        await publish(redis, unique, {"n": 1}, {"n": 2})
        for sub in (here, there):
            async with asyncio.timeout(5):
                assert [await anext(sub), await anext(sub)] == [{"n": 1}, {"n": 2}]


async def test_a_full_queue_marks_the_subscriber_slow_and_drops_its_backlog(
    hub: Broadcast, redis: Redis, unique: str
) -> None:
    async with hub.subscribe(unique) as slow, hub.subscribe(unique) as fast:
        for n in range(4):
            await publish(redis, unique, {"n": n})
            async with asyncio.timeout(5):
                assert await anext(fast) == {"n": n}, "a slow subscriber holds nobody back"
        assert slow.overflowed
        with pytest.raises(SlowConsumer, match="more than 3 messages behind"):
            await anext(slow)
    assert hub.subscriber_count(unique) == 0


async def test_a_cancelled_subscriber_is_removed(hub: Broadcast, unique: str) -> None:
    async def consume() -> None:
        async with hub.subscribe(unique) as sub:
            async for _ in sub:
                pass

    task = asyncio.create_task(consume())
    await until(lambda: hub.subscriber_count(unique) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hub.subscriber_count(unique) == 0


async def test_a_message_that_is_not_json_is_skipped(
    hub: Broadcast, redis: Redis, unique: str
) -> None:
    async with hub.subscribe(unique) as sub:
        await redis.publish(PREFIX + unique, b"\xff not json")
        await publish(redis, unique, {"ok": True})
        async with asyncio.timeout(5):
            assert await anext(sub) == {"ok": True}
