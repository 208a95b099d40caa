"""Worker heartbeats: a long-running consumer writes its state to Redis every few seconds with
a time to live, so the API (live/workers.py) can tell whether it is alive, how far behind it
is, when it last committed and which dependency it waits for (Kafka too when the broker does
not answer its lag probe). A worker that died stops being there once its key expires; a Redis
outage costs heartbeats, never the worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable

import orjson
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.outages import waiting_for
from core.settings import ResilienceSettings

log = logging.getLogger("datawave.heartbeat")

KEY_PREFIX = "datawave:worker:"


async def lag(consumer: AIOKafkaConsumer, timeout_s: float) -> tuple[int | None, bool]:
    """Records on the assigned partitions not yet committed by the group (None if unknown),
    and whether the broker answered within ``timeout_s``. A consumer reconnects by itself and
    says nothing while Kafka is away (aiokafka waits for the group's coordinator without end),
    so this probe is how an idle worker's heartbeat knows it waits for Kafka."""
    total = 0
    try:
        async with asyncio.timeout(timeout_s):
            for tp in consumer.assignment():
                end = consumer.highwater(tp)
                committed = await consumer.committed(tp)
                if end is None:
                    return None, True
                total += max(0, end - (committed or 0))
    except TimeoutError:
        return None, False
    except Exception as err:  # a rebalance under way: not known now
        log.debug("lag unknown: %s", err)
        return None, True
    return total, True


async def beat(
    redis: Redis,
    component: str,
    consumer: Callable[[], AIOKafkaConsumer | None],
    last_commit_at: Callable[[], float | None],
    cfg: ResilienceSettings,
) -> None:
    """Write ``component``'s heartbeat every ``cfg.heartbeat_s`` until cancelled."""
    instance = f"{socket.gethostname()}:{os.getpid()}"
    key = f"{KEY_PREFIX}{component}:{instance}"
    started = time.time()
    while True:
        current = consumer()
        behind, answered = await lag(current, cfg.heartbeat_s) if current else (None, True)
        body = {
            "component": component,
            "instance": instance,
            "startedAt": started,
            "at": time.time(),
            "waitingFor": waiting_for(component) or (None if answered else "kafka"),
            "lag": behind,
            "lastCommitAt": last_commit_at(),
        }
        try:
            await redis.set(key, orjson.dumps(body), px=int(cfg.heartbeat_s * 3000))
        except RedisError as err:
            log.debug("heartbeat not written: %s", err)
        await asyncio.sleep(cfg.heartbeat_s)
