"""Live subscriptions across a Redis outage, through a fault proxy in front of the shared Redis
(never stopped: other test runs use it): the hub's pattern subscription comes back by itself
and its subscribers, still open, receive what is published after recovery.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from live.broadcast import Broadcast, open_broadcast, publish
from tests.integration.resilience.proxy import FaultProxy

OUTAGE_S = 5


@pytest.fixture
async def hub(redis_proxy: FaultProxy, settings: Settings) -> AsyncIterator[Broadcast]:
    async with open_broadcast(redis_proxy.url(settings.redis_url), 100) as h:
        yield h


async def test_subscribers_receive_again_after_a_redis_outage(
    hub: Broadcast, redis_proxy: FaultProxy, settings: Settings, unique: str
) -> None:
    proxy = redis_proxy
    async with Redis.from_url(settings.redis_url) as redis, hub.subscribe(unique) as sub:
        await publish(redis, unique, {"n": 1})
        assert await asyncio.wait_for(anext(sub), 5) == {"n": 1}

        proxy.cut()
        await asyncio.sleep(OUTAGE_S)
        proxy.restore()
        restored = time.monotonic()

        async def first_after() -> dict[str, object]:
            # Published until the hub has subscribed again; what came before is gone (pub/sub).
            while True:
                await publish(redis, unique, {"n": 2})
                try:
                    return await asyncio.wait_for(anext(sub), 0.5)
                except TimeoutError:
                    continue

        assert await asyncio.wait_for(first_after(), 30) == {"n": 2}
        print(f"redis outage {OUTAGE_S}s: live again {time.monotonic() - restored:.1f}s after")
