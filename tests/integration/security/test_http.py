"""HTTP and WebSocket hygiene against the running API: bounded metrics, client addresses only
from trusted proxies, response headers, CORS, and what a client may hold open before it is
admitted (WebSockets before ``connection_init``, slow request bodies).

``behind_proxy`` is the API behind a TLS proxy on 127.0.0.1 (trusted), with one browser origin
allowed, 3 places per address and a second for a body to arrive.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.settings import HttpSettings, Settings
from tests.integration.graphql.conftest import Served, serve
from tests.integration.security.conftest import Api

QUERY = {"query": "{ __typename }"}
ORIGIN = "https://catalog.example.com"
WAITING = 3
CLIENT = "203.0.113.7"  # what a forged or proxied X-Forwarded-For says
# Methods the HTTP parser takes (it refuses made-up ones before the app sees them).
METHODS = ["GET", "POST", "DELETE", "PROPFIND", "MKCOL", "PURGE", "REPORT", "LOCK", "SEARCH"]


@pytest.fixture(scope="module")
async def behind_proxy(suite_settings: Settings) -> AsyncIterator[Served]:
    http = HttpSettings(
        trusted_proxies=["127.0.0.1/32"],
        cors_origins=[ORIGIN],
        max_waiting_per_address=WAITING,
        body_timeout_s=1,
    )
    async with serve(suite_settings.model_copy(update={"http": http})) as served:
        yield served


@pytest.fixture
async def proxied(api: Api, behind_proxy: Served) -> AsyncIterator[Api]:
    async with api.on(behind_proxy):
        yield api


async def test_metrics_do_not_grow_with_what_clients_send(api: Api) -> None:
    """2,000 random paths and methods once grew /metrics from 8 KB to 22 MB."""
    await api.http.get("/healthz")
    before = (await api.http.get("/metrics")).text
    marker = uuid.uuid4().hex

    async def stray(i: int) -> None:
        method = random.choice(METHODS)
        await api.http.request(method, f"/{marker}/{i}/{uuid.uuid4().hex}")

    for start in range(0, 2000, 100):
        await asyncio.gather(*(stray(i) for i in range(start, start + 100)))
    after = (await api.http.get("/metrics")).text
    assert marker not in after
    assert len(after) - len(before) < 10_000, f"/metrics grew by {len(after) - len(before)} B"
    assert 'path="unmatched"' in after and 'method="other"' in after


async def test_a_client_cannot_choose_its_address(api: Api) -> None:
    """Without trusted proxies X-Forwarded-For is ignored: the audit trail (and the bucket of
    failed authentications) get the connection's address."""
    response, _ = await api.post(QUERY, "forged", **{"x-forwarded-for": CLIENT})
    assert response.status_code == 401
    [event] = await api.events_of(response)
    assert event["clientAddress"] == "127.0.0.1"


async def test_a_trusted_proxy_names_the_client(proxied: Api) -> None:
    response, _ = await proxied.post(QUERY, "forged", **{"x-forwarded-for": CLIENT})
    assert response.status_code == 401
    [event] = await proxied.events_of(response)
    assert event["clientAddress"] == CLIENT


async def test_responses_are_not_cached_or_sniffed(api: Api) -> None:
    ok, _ = await api.post(QUERY, api.token("viewer"))
    refused, _ = await api.post(QUERY)
    health = await api.http.get("/healthz", headers={"x-forwarded-proto": "https"})
    for response in (ok, refused, health):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        # Plain HTTP, and the X-Forwarded-Proto of a client that is no trusted proxy.
        assert "strict-transport-security" not in response.headers


async def test_hsts_when_a_trusted_proxy_says_https(proxied: Api) -> None:
    response = await proxied.http.get("/healthz", headers={"x-forwarded-proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    plain = await proxied.http.get("/healthz", headers={"x-forwarded-proto": "http"})
    assert "strict-transport-security" not in plain.headers


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


async def test_only_allowed_browser_origins_may_call(proxied: Api) -> None:
    allowed = await proxied.http.options("/graphql", headers=preflight(ORIGIN))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    response, _ = await proxied.post(QUERY, proxied.token("viewer"), origin=ORIGIN)
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()

    other = await proxied.http.options("/graphql", headers=preflight("https://evil.example"))
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    response, _ = await proxied.post(QUERY, proxied.token("viewer"), origin="https://evil.example")
    assert "access-control-allow-origin" not in response.headers


async def test_no_origin_is_allowed_unless_configured(api: Api) -> None:
    response = await api.http.options("/graphql", headers=preflight(ORIGIN))
    assert "access-control-allow-origin" not in response.headers


async def wait_until_released(api: Api) -> None:
    """The server lets go of a closed connection's place a moment after the client closed."""
    async with asyncio.timeout(5):
        while True:
            try:
                async with api.websocket(api.request_id()):
                    return
            except InvalidStatus:
                await asyncio.sleep(0.05)


async def test_unauthenticated_websockets_per_address_are_capped(proxied: Api) -> None:
    await wait_until_released(proxied)
    sockets: list[ClientConnection] = []
    try:
        for _ in range(WAITING):
            sockets.append(await proxied.websocket(proxied.request_id()).__aenter__())
        with pytest.raises(InvalidStatus) as refused:
            await proxied.websocket(proxied.request_id()).__aenter__()
        assert refused.value.response.status_code == 429
        body = json.loads(refused.value.response.body or b"{}")
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

        # One of them authenticates: it is admitted, and its place is free again.
        init = {"Authorization": f"Bearer {proxied.token('viewer')}"}
        await sockets[0].send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await sockets[0].recv())["type"] == "connection_ack"
        sockets.append(await proxied.websocket(proxied.request_id()).__aenter__())
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    await wait_until_released(proxied)


async def slow_post(api: Api, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST /graphql that announces 100 bytes of body and sends 10."""
    url = urlsplit(api.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nhost: api\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {token}\r\ncontent-length: 100\r\n\r\n".encode()
        + b'{"query": '
    )
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader) -> int:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return int(head.split()[1])


async def test_a_slow_body_is_cut_off(proxied: Api) -> None:
    await wait_until_released(proxied)
    reader, writer = await slow_post(proxied, proxied.token("viewer"))
    started = asyncio.get_running_loop().time()
    assert await status_of(reader) == 408
    assert asyncio.get_running_loop().time() - started < 3
    writer.close()


async def test_slow_bodies_per_address_are_capped(proxied: Api) -> None:
    await wait_until_released(proxied)
    token = proxied.token("viewer")
    slow = [await slow_post(proxied, token) for _ in range(WAITING)]
    await asyncio.sleep(0.3)  # authenticated, now waiting for their bodies
    try:
        reader, writer = await slow_post(proxied, token)
        assert await status_of(reader) == 429
        writer.close()
    finally:
        for _, writer in slow:
            writer.close()


async def test_a_websocket_message_nested_too_deeply_closes_the_connection(api: Api) -> None:
    """Over a WebSocket a message nested 5,000 deep is not JSON to the server (close 4400)."""
    async with api.websocket(api.request_id()) as ws:
        init = {"Authorization": f"Bearer {api.token('viewer')}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            '{"id": "1", "type": "subscribe", "payload": ' + "[" * 5000 + "]" * 5000 + "}"
        )
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_get_variables_nested_too_deeply_are_a_client_error(api: Api) -> None:
    params = {"query": "query ($t: String) { __typename }", "variables": "[" * 5000 + "]" * 5000}
    headers = {"authorization": f"Bearer {api.token('viewer')}", "accept": "application/json"}
    response = await api.http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "nested deeper than 32 levels" in error["message"]
