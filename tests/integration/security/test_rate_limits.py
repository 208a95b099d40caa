"""Rate limits per principal against the running API: HTTP answers 429 with Retry-After, a
WebSocket refuses the operation (or the connection) with RATE_LIMITED, and a flood of bad
tokens from one address is cut off before it can flood the audit trail.

The API here has a bucket of 3 and its own Redis database, so its buckets are its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from core.settings import RateLimitSettings, Settings
from tests.integration.graphql.conftest import Served, serve
from tests.integration.security.conftest import Api

QUERY = {"query": "{ __typename }"}
CAPACITY = 3
REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
async def limited(suite_settings: Settings) -> AsyncIterator[Served]:
    limits = RateLimitSettings(capacity=CAPACITY, refill_per_s=0.2)
    cfg = suite_settings.model_copy(update={"rate_limit": limits, "redis_url": REDIS})
    async with serve(cfg) as served:
        yield served
    redis = Redis.from_url(REDIS)
    await redis.flushdb()  # this test's own database
    await redis.aclose()


@pytest.fixture
async def client(api: Api, limited: Served) -> AsyncIterator[Api]:
    async with api.on(limited):
        yield api


async def test_a_principal_over_its_budget_gets_429(client: Api) -> None:
    greedy, other = client.token("viewer", subject="greedy"), client.token("viewer")
    statuses = [(await client.post(QUERY, greedy))[0].status_code for _ in range(CAPACITY)]
    assert statuses == [200] * CAPACITY
    response, _ = await client.post(QUERY, greedy)
    assert response.status_code == 429
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 5
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": wait}
    assert f"retry in {wait} s" in error["message"]
    assert (await client.post(QUERY, other))[0].status_code == 200, "buckets are per principal"


async def test_a_flood_of_bad_tokens_is_cut_off(client: Api) -> None:
    statuses = [(await client.post(QUERY, "forged"))[0].status_code for _ in range(CAPACITY + 3)]
    assert statuses == [401] * CAPACITY + [429] * 3
    events = await client.events(actor="anonymous")
    ours = [e for e in events if e["requestId"].startswith(client.name)]
    assert len(ours) == CAPACITY, "refusals past the budget cost no audit write"


async def test_a_forged_forwarded_for_does_not_refill_the_bucket(client: Api) -> None:
    """Each request names another client in X-Forwarded-For; without a trusted proxy they are
    all the connection's address, so the flood is cut off as above."""
    statuses = []
    for n in range(CAPACITY + 3):
        forged = {"x-forwarded-for": f"198.51.100.{n}"}
        statuses.append((await client.post(QUERY, "forged", **forged))[0].status_code)
    assert statuses.count(401) <= CAPACITY  # the bucket may be part spent by the test above
    assert statuses[-3:] == [429] * 3


async def test_websocket_operations_count_too(client: Api) -> None:
    token = client.token("viewer", subject="socket")
    request = client.request_id()
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    async with client.websocket(request) as ws:
        await ws.send(json.dumps(init))  # 1
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        results = []
        for n in range(CAPACITY):  # 2, 3, then over
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": QUERY}))
            results.append(json.loads(await ws.recv()))
            if results[-1]["type"] == "next":
                assert json.loads(await ws.recv())["type"] == "complete"
    assert [r["type"] for r in results] == ["next", "next", "error"]
    assert results[-1]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    [refused] = await client.events(request_id=f"{request}.3")
    assert "RATE_LIMITED" in refused["detail"]
    async with client.websocket(client.request_id()) as ws:
        await ws.send(json.dumps(init))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason[:12]) == (4429, "RATE_LIMITED")
