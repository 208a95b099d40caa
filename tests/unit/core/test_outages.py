"""Waiting out an outage: retried with backoff until it passes, other errors raised at once,
and a stop request ends the wait."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError
from neo4j.exceptions import ClientError, ServiceUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError

from core.outages import WAITING, dependency, in_words, wait_out
from core.settings import ResilienceSettings

FAST = ResilienceSettings(backoff_initial_s=0.01, backoff_max_s=0.05)


def test_outages_name_their_dependency() -> None:
    assert dependency(ServiceUnavailable("gone")) == "neo4j"
    assert dependency(NodeNotReadyError()) == "kafka"
    assert dependency(KafkaConnectionError()) == "kafka"
    assert dependency(RedisConnectionError()) == "redis"
    assert dependency(ValueError()) is None


async def test_an_outage_is_waited_out() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise ServiceUnavailable("down")
        return "written"

    assert await wait_out(flaky, FAST, "unit") == "written"
    assert calls == 4
    assert WAITING.labels("unit", "neo4j")._value.get() == 0


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise ClientError("bad query")

    with pytest.raises(ClientError):
        await wait_out(broken, FAST, "unit")
    assert calls == 1


async def test_stopping_ends_the_wait_with_the_outage() -> None:
    stopping = asyncio.Event()

    async def down() -> None:
        raise ServiceUnavailable("down")

    task = asyncio.create_task(wait_out(down, ResilienceSettings(backoff_max_s=60), "u", stopping))
    await asyncio.sleep(0.1)
    stopping.set()
    with pytest.raises(ServiceUnavailable):
        await asyncio.wait_for(task, 2)


def test_an_outage_is_said_in_words_never_as_a_class() -> None:
    assert in_words(NodeNotReadyError("node 1")) == "the event broker (Kafka) is unreachable"
    assert in_words(ServiceUnavailable("x")) == "the graph database (Neo4j) is unreachable"
    assert in_words(ValueError("bad value")) == "bad value"


async def test_an_outage_is_given_up_after_its_time() -> None:
    async def down() -> None:
        raise ServiceUnavailable("down")

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await wait_out(down, FAST, "unit", give_up_after_s=0.3)
    assert 0.3 <= time.monotonic() - started < 2
