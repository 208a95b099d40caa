"""The attack suite's target: the API under a real uvicorn that accepts HS256 tokens and RS256
tokens whose keys come from a JWKS served over HTTP on 127.0.0.1, like an identity provider's.

``api`` is a client for one test: it mints tokens for subjects that start with the test's
``unique`` name, tags every request with an ``X-Request-ID`` that does too, reads the audit
trail, and deletes the test's audit events afterwards.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from neo4j import AsyncDriver
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from core.settings import AuthSettings, Settings
from graph.driver import read, write
from live.changes import ChangeType, catalog_change, publish_catalog_change
from security.auth import mint_token
from tests.integration.graphql.conftest import Served, bearer, serve

SECRET = "attack-suite-hs256-secret-" + "s" * 32
KID = "suite-key-1"
EVENTS = """
MATCH (e:AuditEvent)
WHERE ($requestId IS NULL OR e.requestId = $requestId) AND ($actor IS NULL OR e.actor = $actor)
RETURN e {.*} AS event ORDER BY e.at
"""
FORGET = """
MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name OR e.requestId STARTS WITH $name DELETE e
"""


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class Keys:
    """The identity provider's signing key (published in the JWKS) and one it never published."""

    signing: rsa.RSAPrivateKey
    stranger: rsa.RSAPrivateKey

    @property
    def public_pem(self) -> bytes:
        return self.signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(*(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in "ab"))


@pytest.fixture(scope="session")
def jwks_url(keys: Keys) -> Iterator[str]:
    """A JWKS endpoint on a free port, served by a thread of this process."""
    jwk = json.loads(RSAAlgorithm.to_jwk(keys.signing.public_key()))
    body = json.dumps({"keys": [jwk | {"kid": KID, "alg": "RS256", "use": "sig"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.fixture(scope="session")
def suite_settings(settings: Settings, jwks_url: str) -> Settings:
    auth = AuthSettings(algorithms=["HS256", "RS256"], hs_secret=SECRET, jwks_url=jwks_url)
    return settings.model_copy(update={"auth": auth})


@pytest.fixture(scope="session")
async def secured(suite_settings: Settings) -> AsyncIterator[Served]:
    async with serve(suite_settings) as served:
        yield served


@dataclass
class Socket:
    """A graphql-transport-ws connection carrying several operations at once, as a browser
    tab's client does: each ``subscribe`` is its operation ``<request id>.<n>``, n from 1."""

    ws: ClientConnection

    async def subscribe(self, id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": id, "type": "subscribe", "payload": payload}))

    async def results(self, count: int, *ids: str) -> dict[str, list[Any]]:
        """The payloads of ``next`` (and ``error``) messages by operation id, until each of
        ``ids`` has had ``count``."""
        got: dict[str, list[Any]] = {id: [] for id in ids}
        while any(len(got[id]) < count for id in ids):
            message = json.loads(await self.ws.recv())
            if message["type"] in ("next", "error"):
                got.setdefault(message["id"], []).append(message["payload"])
        return got


@dataclass
class Api:
    """One test's client of a served API (the secured one unless ``on`` says otherwise)."""

    served: Served
    keys: Keys
    name: str  # the test's unique name: subjects and request ids start with it
    neo4j: AsyncDriver
    database: str
    http: httpx.AsyncClient
    _ids: Any = field(default_factory=count)

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def auth(self) -> AuthSettings:
        return self.served.app.state.datawave.settings.auth

    @asynccontextmanager
    async def on(self, served: Served) -> AsyncIterator[Api]:
        """Talk to another served API (other settings) for a while."""
        before = self.served, self.http
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as http:
            self.served, self.http = served, http
            try:
                yield self
            finally:
                await self.settle()  # before the test's events are deleted
                self.served, self.http = before

    def request_id(self) -> str:
        return f"{self.name}-{next(self._ids)}"

    def token(self, role: str, *, subject: str = "", **scopes: Any) -> str:
        """An HS256 token for ``<name>-<role>`` (or ``<name>-<subject>``)."""
        return mint_token(self.auth, f"{self.name}-{subject or role}", [role], **scopes)

    def rs_token(self, role: str, *, key: rsa.RSAPrivateKey | None = None, kid: str = KID) -> str:
        """An RS256 token signed by the provider's key (or ``key``), naming ``kid``."""
        return mint_token(
            self.auth,
            f"{self.name}-{role}",
            [role],
            private_key=pem(key or self.keys.signing),
            algorithm="RS256",
            key_id=kid,
        )

    def websocket(self, request_id: str) -> connect:
        """A graphql-transport-ws connection whose events carry ``request_id`` (and
        ``<request_id>.<n>`` for its operations)."""
        url = self.url.replace("http", "ws") + "/graphql"
        return connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            additional_headers={"x-request-id": request_id},
        )

    @asynccontextmanager
    async def socket(self, token: str, request_id: str) -> AsyncIterator[Socket]:
        """``websocket`` once ``connection_init`` with ``token`` is acknowledged."""
        async with self.websocket(request_id) as ws:
            init = {"type": "connection_init", "payload": bearer(token)}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            yield Socket(ws)

    async def post(
        self, body: Any, token: str | None = None, **headers: str
    ) -> tuple[httpx.Response, float]:
        """POST /graphql (a dict as JSON, bytes as they are); the response and its seconds."""
        headers = {"x-request-id": self.request_id(), **(bearer(token) if token else {}), **headers}
        started = time.perf_counter()
        if isinstance(body, bytes):
            headers.setdefault("content-type", "application/json")
            response = await self.http.post("/graphql", content=body, headers=headers)
        else:
            response = await self.http.post("/graphql", json=body, headers=headers)
        return response, time.perf_counter() - started

    async def graphql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        """The JSON body of a query or mutation (``data`` and maybe ``errors``)."""
        response, _ = await self.post({"query": query, "variables": variables}, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def settle(self) -> None:
        """Wait for the audit events the API records after its responses."""
        await self.served.app.state.datawave.audit.drain()

    async def events(
        self, *, request_id: str | None = None, actor: str | None = None
    ) -> list[dict[str, Any]]:
        """Audit events, once the API has written what it records after responding."""
        await self.settle()
        rows = await read(self.neo4j, self.database, EVENTS, requestId=request_id, actor=actor)
        return [r["event"] for r in rows]

    async def events_of(self, response: httpx.Response) -> list[dict[str, Any]]:
        return await self.events(request_id=response.headers["x-request-id"])


@pytest.fixture
async def api(
    secured: Served, suite_settings: Settings, keys: Keys, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[Api]:
    database = suite_settings.neo4j.database
    async with httpx.AsyncClient(base_url=secured.url, timeout=30) as http:
        api = Api(secured, keys, unique, neo4j, database, http)
        yield api
    await api.settle()  # events recorded after the last response are the test's too
    await write(neo4j, database, FORGET, name=unique)


@asynccontextmanager
async def nudging(settings: Settings, table: str) -> AsyncIterator[None]:
    """A change of ``table`` announced every 0.1 s while the block runs: resent until a
    subscription opened in it is live and has had the events it waits for."""
    redis = Redis.from_url(settings.redis_url)

    async def nudge() -> None:
        while True:
            await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, table))
            await asyncio.sleep(0.1)

    sending = asyncio.create_task(nudge())
    try:
        yield
    finally:
        sending.cancel()
        await redis.aclose()
