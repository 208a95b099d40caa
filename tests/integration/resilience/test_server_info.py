"""``serverInfo`` lists the workers as their heartbeats tell it, like /readyz: a component that
waits out a Neo4j outage (cut through a fault proxy) shows WAITING for neo4j and degraded, then
RUNNING once the graph is back."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from starlette.testclient import TestClient

from app.main import create_app
from core.outages import wait_out
from core.settings import ResilienceSettings, Settings
from graph.driver import open_driver
from ingest.heartbeat import beat
from security.auth import mint_token
from tests.integration.resilience.proxy import FaultProxy

FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=0.5, heartbeat_s=0.2)
SERVER_INFO = """{ serverInfo {
  degraded workers { component instance state lag commitAgeS waitingFor }
} }"""


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    token = mint_token(settings.auth, "workers-tester", ["admin"])  # serverInfo is for admins
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def shown(api: TestClient, component: str) -> tuple[dict[str, object], list[str]]:
    """Our worker as serverInfo shows it, once it is there, and the degraded components."""
    async with asyncio.timeout(20):
        while True:
            r = await asyncio.to_thread(api.post, "/graphql", json={"query": SERVER_INFO})
            info = r.json()["data"]["serverInfo"]
            mine = [w for w in info["workers"] or [] if w["component"] == component]
            if mine:
                return mine[0], info["degraded"]
            await asyncio.sleep(0.2)


async def test_server_info_shows_a_worker_waiting_for_neo4j_then_running(
    api: TestClient, neo4j_proxy: FaultProxy, settings: Settings, unique: str
) -> None:
    through_proxy = settings.neo4j.model_copy(update={"uri": neo4j_proxy.url(settings.neo4j.uri)})
    async with (
        Redis.from_url(settings.redis_url) as redis,
        open_driver(through_proxy, max_transaction_retry_time=0.5) as driver,
    ):
        heartbeat = asyncio.create_task(beat(redis, unique, lambda: None, lambda: None, FAST))
        neo4j_proxy.cut()
        waiting = asyncio.create_task(wait_out(driver.verify_connectivity, FAST, unique))
        try:
            await asyncio.sleep(1)  # a few failed attempts, and a heartbeat saying so
            worker, degraded = await shown(api, unique)
            assert worker == {
                "component": unique, "instance": f"{socket.gethostname()}:{os.getpid()}",
                "state": "WAITING", "lag": None, "commitAgeS": None, "waitingFor": "neo4j",
            }  # fmt: skip
            assert unique in degraded

            neo4j_proxy.restore()
            await asyncio.wait_for(waiting, 10)
            await asyncio.sleep(2 * FAST.heartbeat_s)
            worker, degraded = await shown(api, unique)
            assert (worker["state"], worker["waitingFor"]) == ("RUNNING", None)
            assert unique not in degraded
        finally:
            waiting.cancel()
            heartbeat.cancel()
            await asyncio.gather(waiting, heartbeat, return_exceptions=True)
