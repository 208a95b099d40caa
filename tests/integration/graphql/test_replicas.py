"""Two API replicas (two uvicorn processes): events and cache invalidations cross between them,
for the Python gql client and for the Node.js graphql-ws client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
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


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[str]]:
    """Base URLs of two API processes sharing Neo4j and Redis."""
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [*UVICORN, "--port", str(port)],
            cwd=ROOT,
            env=os.environ | {"DATAWAVE_MODE": "development"},
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            for _ in range(600):
                assert proc.poll() is None, f"replica {url} exited with {proc.returncode}"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError(f"replica {url} did not start")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


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


async def test_an_event_on_one_replica_reaches_subscribers_of_the_other(
    replicas: list[str], token: str, table: str, unique: str
) -> None:
    a, b = replicas

    async def first_change() -> dict[str, Any]:
        async with ws_client(a, token) as session:
            request = GraphQLRequest(CHANGES, variable_values={"source": unique})
            async for result in session.subscribe(request):
                return result["catalogChanges"]
        raise AssertionError("subscription ended")

    change = await keep_changing(b, token, table, first_change())
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
