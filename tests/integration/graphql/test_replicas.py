"""Two API replicas (two uvicorn processes): events and cache invalidations cross between them,
for the Python gql client and for the Node.js graphql-ws client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import JS, bearer, listening_socket, ws_client

ROOT = Path(__file__).resolve().parents[3]
UVICORN = [
    *(sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"),
    *("--host", "127.0.0.1", "--log-level", "warning"),
]
DESCRIBE = """
mutation ($urn: ID!, $text: String!) {
  describeAsset(input: {urn: $urn, description: $text}) { errors { message } }
}
"""
CHANGES = """
subscription ($source: String!) {
  catalogChanges(filter: {source: $source}) { type urn source fields }
}
"""


def free_port() -> int:
    with listening_socket() as sock:
        return sock.getsockname()[1]


START_S = 180  # two cold API processes at once on a busy two-core machine


async def healthy(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a process (Popen returns at once; only waiting for it blocks)."""
    return subprocess.Popen(command, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
async def replicas() -> AsyncIterator[list[str]]:
    """Base URLs of two API processes sharing Neo4j and Redis. Waited for without blocking the
    event loop, which the session's in-process API shares."""
    ports = [free_port(), free_port()]
    env = os.environ | {"DATAWAVE_MODE": "development"}
    procs = [spawn([*UVICORN, "--port", str(port)], env) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with httpx.AsyncClient(timeout=1) as http:
            for url, proc in zip(urls, procs, strict=True):
                try:
                    async with asyncio.timeout(START_S):
                        while not await healthy(http, url):
                            assert proc.poll() is None, f"replica {url} exited: {proc.returncode}"
                            await asyncio.sleep(0.1)
                except TimeoutError:
                    raise AssertionError(f"replica {url} did not start in {START_S} s") from None
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            await asyncio.to_thread(proc.wait, 30)


@pytest.fixture
async def table(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> str:
    urn = estate.table("orders")
    await estate.write(neo4j, settings.neo4j.database)
    return urn


async def graphql(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30, headers=bearer(token)) as client:
        r = await client.post(f"{url}/graphql", json={"query": query, "variables": variables})
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


async def keep_changing(url: str, token: str, urn: str, until: Awaitable[Any]) -> Any:
    """Describe ``urn`` on one replica every 0.2 s until ``until`` completes (a subscriber on
    another replica cannot say when its subscription is live, so we repeat the change)."""
    task = asyncio.ensure_future(until)
    async with asyncio.timeout(30):
        n = 0
        while not task.done():
            n += 1
            await graphql(url, token, DESCRIBE, urn=urn, text=f"change {n}")
            await asyncio.wait({task}, timeout=0.2)
    return task.result()


async def first_change(url: str, token: str, source: str) -> dict[str, Any]:
    """The first catalog change of ``source`` a subscriber on ``url`` receives."""
    async with ws_client(url, token) as session:
        request = GraphQLRequest(CHANGES, variable_values={"source": source})
        async for result in session.subscribe(request):
            return result["catalogChanges"]
    raise AssertionError("subscription ended")


async def test_an_event_on_one_replica_reaches_subscribers_of_the_other(
    replicas: list[str], token: str, table: str, unique: str
) -> None:
    a, b = replicas
    change = await keep_changing(b, token, table, first_change(a, token, unique))
    assert change == {"type": "CHANGED", "urn": table, "source": unique, "fields": ["description"]}


async def test_a_change_on_one_replica_is_read_on_the_other(
    replicas: list[str], token: str, table: str
) -> None:
    a, b = replicas
    read = "query ($urn: ID!) { asset(urn: $urn) { description } }"
    assert (await graphql(a, token, read, urn=table))["asset"]["description"] is None  # cached
    await graphql(b, token, DESCRIBE, urn=table, text="from b")
    assert (await graphql(a, token, read, urn=table))["asset"] == {"description": "from b"}


async def test_the_graphql_ws_node_client(
    replicas: list[str], token: str, table: str, unique: str, node: str
) -> None:
    a, b = replicas
    proc = await asyncio.create_subprocess_exec(
        node,
        str(JS / "subscribe.mjs"),
        a.replace("http", "ws") + "/graphql",
        unique,
        "1",
        token,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines = read_lines(proc.stdout)
    try:
        assert await anext_within(lines, 30) == {"ready": True}
        change = await keep_changing(b, token, table, anext_within(lines, 30))
        assert change == {
            "type": "CHANGED",
            "urn": table,
            "source": unique,
            "fields": ["description"],
        }
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def read_lines(stream: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
    while line := await stream.readline():
        yield json.loads(line)


async def anext_within(lines: AsyncIterator[dict[str, Any]], seconds: float) -> dict[str, Any]:
    return await asyncio.wait_for(anext(lines), seconds)
