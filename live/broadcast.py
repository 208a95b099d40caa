"""Live-event fan-out to every API replica: Redis pub/sub in, one bounded queue per subscriber.

Anyone (an API replica, the ingest worker) calls ``publish``; each replica's ``Broadcast`` hub
holds one pattern subscription to all live channels and hands each message to the local
subscribers of its channel. A subscriber whose queue is full is marked slow and dropped: its
memory stays bounded and the GraphQL layer closes its socket with a clear code.

When Redis goes away the hub keeps its subscribers and reads again until Redis is back
(redis-py subscribes the pattern again on reconnecting). What was published meanwhile is lost
(pub/sub), so subscribers that asked for it receive ``RESUMED`` once the hub reads again: a
subscription with a current state (``scanProgress``) sends it again then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("datawave.broadcast")

PREFIX = "datawave:live:"
RETRY_S = 1.0  # pause before reading again after Redis went away
HEALTH_CHECK_S = 30  # an idle connection is pinged this often, so a dead one is noticed

Message = dict[str, Any]
RESUMED: Message = {}  # by identity: the hub reads again after an outage; messages were lost


class SlowConsumer(Exception):
    """The subscriber fell a whole queue behind; messages were dropped."""


class Subscription:
    """One subscriber's bounded queue; iterate it for messages."""

    def __init__(self, channel: str, size: int, resumed: bool = False) -> None:
        self.channel = channel
        self.size = size
        self.resumed = resumed  # whether it is offered RESUMED
        self.overflowed = False
        self._queue: asyncio.Queue[Message] = asyncio.Queue(size)

    def offer(self, message: Message) -> None:
        """Queue without waiting; a full queue marks the subscriber slow and frees its memory."""
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(1)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        if self.overflowed:
            raise SlowConsumer(f"more than {self.size} messages behind on {self.channel!r}")
        return await self._queue.get()


class Broadcast:
    """The per-process hub: built in the lifespan, shared by every subscription resolver."""

    def __init__(self, redis_url: str, queue_size: int) -> None:
        # Its own connection, without a socket timeout: a subscriber waits for messages.
        self._redis = Redis.from_url(redis_url, health_check_interval=HEALTH_CHECK_S)
        self._pubsub = self._redis.pubsub()
        self._queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._pump: asyncio.Task[None] | None = None
        self._lost = False  # a read failed: the next that succeeds resumes the subscribers

    async def start(self) -> None:
        """Subscribe now if Redis answers (the API may start while Redis is down)."""
        try:
            await self._subscribe()
        except (RedisError, OSError) as err:
            log.warning("broadcast: Redis unavailable (%s); live events wait for it", err)
        self._pump = asyncio.create_task(self._run(), name="broadcast-pump")

    async def _subscribe(self) -> None:
        await self._pubsub.psubscribe(PREFIX + "*")
        # Wait for the confirmation, so a message published after start() is never missed.
        confirmation = await self._pubsub.get_message(timeout=5)
        if not confirmation or confirmation["type"] != "psubscribe":
            raise ConnectionError(f"Redis did not confirm the subscription: {confirmation!r}")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._pubsub.aclose()
        await self._redis.aclose()

    @asynccontextmanager
    async def subscribe(self, channel: str, resumed: bool = False) -> AsyncIterator[Subscription]:
        """A queue of the messages published to ``channel`` while the context is open; with
        ``resumed``, ``RESUMED`` too, after each Redis outage."""
        sub = Subscription(channel, self._queue_size, resumed)
        self._subscribers[channel].add(sub)
        try:
            yield sub
        finally:
            subscribers = self._subscribers[channel]
            subscribers.discard(sub)
            if not subscribers:
                del self._subscribers[channel]

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    def dispatch(self, channel: str, message: Message) -> None:
        for sub in tuple(self._subscribers.get(channel, ())):
            sub.offer(message)

    def _resume(self) -> None:
        for subs in tuple(self._subscribers.values()):
            for sub in tuple(subs):
                if sub.resumed:
                    sub.offer(RESUMED)

    async def _run(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await self._subscribe()
                raw = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=HEALTH_CHECK_S
                )
            except (RedisError, OSError) as err:
                log.warning("broadcast: Redis read failed (%s); retrying", err)
                self._lost = True
                await asyncio.sleep(RETRY_S)
                continue
            if self._lost:  # connected and subscribed again
                self._lost = False
                log.warning("broadcast: Redis back; live events flow again")
                self._resume()
            if raw is None or raw.get("type") != "pmessage":
                continue
            try:
                message = json.loads(raw["data"])
            except (TypeError, ValueError):
                log.warning("broadcast: dropped a message that is not JSON on %s", raw["channel"])
                continue
            self.dispatch(raw["channel"].decode().removeprefix(PREFIX), message)


async def publish(redis: Redis, channel: str, *messages: Mapping[str, Any]) -> None:
    """Send messages to every replica's subscribers of ``channel`` (one round trip)."""
    async with redis.pipeline(transaction=False) as pipe:
        for message in messages:
            pipe.publish(PREFIX + channel, json.dumps(message))
        await pipe.execute()


@asynccontextmanager
async def open_broadcast(redis_url: str, queue_size: int) -> AsyncIterator[Broadcast]:
    hub = Broadcast(redis_url, queue_size)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()
