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
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport
from neo4j import AsyncDriver
from starlette.applications import Starlette

from app.main import create_app
from app.serving import UVICORN_OPTIONS
from core.settings import Settings
from graph.driver import write
from live.broadcast import Broadcast
from security.auth import mint_token

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


@pytest.fixture(scope="session")
async def served(settings: Settings) -> AsyncIterator[Served]:
    async with serve(settings) as s:
        yield s


@pytest.fixture(scope="session")
def api(served: Served) -> str:
    """Base URL of the app served by uvicorn on a free port."""
    return served.url


@pytest.fixture(scope="session")
async def token(settings: Settings, neo4j: AsyncDriver, served: Served) -> AsyncIterator[str]:
    """A steward's token for the whole session: reads everything, writes assets, lineage,
    sources and scans (no ``pii:read``). Its audit trail is removed afterwards."""
    subject = f"tester-{uuid.uuid4().hex[:8]}"
    yield mint_token(settings.auth, subject, ["steward"], ttl_s=4 * 3600)
    await served.app.state.datawave.audit.drain()  # what is recorded after a response
    query = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
    await write(neo4j, settings.neo4j.database, query, actor=subject)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def gql_session(api: str, token: str) -> AsyncIterator[Any]:
    transport = HTTPXAsyncTransport(url=f"{api}/graphql", headers=bearer(token), timeout=30)
    async with Client(transport=transport) as session:
        yield session


@pytest.fixture
def execute(gql_session: Any) -> Execute:
    """Run a query or mutation; GraphQL errors raise ``TransportQueryError``."""

    async def run(query: str, **variables: Any) -> dict[str, Any]:
        return await gql_session.execute(GraphQLRequest(query, variable_values=variables))

    return run


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
def node() -> str:
    """Node.js, with the clients of ``JS`` installed (npm ci, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("Node.js and npm are needed for the graphql-ws client tests")
    if not (JS / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    return node
