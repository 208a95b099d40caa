"""The API under a real uvicorn in this process, and gql clients for it.

In-process, so tests can read the query counter and drive the broadcast hub; the replica tests
start separate processes instead. Clients authenticate as a steward (``token``) whose audit
events are deleted at the end of the session.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from gql import Client
from gql.transport.websockets import WebsocketsTransport
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from app.main import create_app
from app.serving import UVICORN_OPTIONS
from core.settings import Settings
from live.broadcast import Broadcast

Execute = Callable[..., Awaitable[dict[str, Any]]]


def listening_socket() -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every reused connection stalls ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass(frozen=True)
class Served:
    url: str
    app: Starlette

    @property
    def hub(self) -> Broadcast:
        return self.app.state.datawave.broadcast


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    """The app under uvicorn on a free port, in this event loop."""
    sock = listening_socket()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **UVICORN_OPTIONS))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", app)
    finally:
        server.should_exit = True
        await task


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_graphql(api: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """The body of ``query`` POSTed to ``api``'s /graphql with ``token``, answered with 200."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{api}/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
    assert response.status_code == 200, response.text
    return response.json()


def ws_client(api: str, token: str) -> Client:
    """A graphql-transport-ws client that authenticates in ``connection_init``."""
    url = api.replace("http://", "ws://") + "/graphql"
    transport = WebsocketsTransport(
        url=url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload=bearer(token),
    )
    return Client(transport=transport)


JS = Path(__file__).resolve().parents[2] / "js"  # tests/js: the Node.js client tests


@pytest.fixture(scope="session")
async def node() -> str:
    """Node.js, with the clients of ``JS`` installed (npm ci, once, in a thread: the session's
    apps share this event loop, and a loop blocked past Kafka's session timeout drops their
    relays from the consumer group)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("Node.js and npm are needed for the graphql-ws client tests")
    installed = JS / "node_modules" / ".package-lock.json"  # written by npm ci
    lock = JS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        command = [npm, "ci", "--no-audit", "--no-fund"]
        await asyncio.to_thread(subprocess.run, command, cwd=JS, check=True)
    return node


def neo4j_reads() -> float:
    """Cypher reads run so far by this process (every app a test serves, and their tasks)."""
    return REGISTRY.get_sample_value("datawave_neo4j_queries_total", {"mode": "read"}) or 0.0


async def settled() -> None:
    """Until no read happened for half a second: the counter is the process's, and a background
    task of an app (a compliance watcher or change relay catching up on an earlier test's
    events) may be reading."""
    async with asyncio.timeout(30):
        while True:
            before = neo4j_reads()
            await asyncio.sleep(0.5)
            if neo4j_reads() == before:
                return


async def reads_of(request: Callable[[], Awaitable[Any]], tries: int = 3) -> tuple[int, Any]:
    """The Cypher reads one request costs, and its answer. Background reads can only add to a
    measurement, so the least of a few settled tries is the request's own cost."""
    costs = []
    for _ in range(tries):
        await settled()
        before = neo4j_reads()
        answer = await request()
        costs.append(neo4j_reads() - before)
    return int(min(costs)), answer
