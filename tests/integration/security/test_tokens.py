"""Token attacks against the running API: each is a 401 with code UNAUTHENTICATED and a reason,
and an audit event (actor anonymous, action authenticate, outcome failed) with its request id.
WebSockets authenticate in ``connection_init`` and are closed with 4401 when that fails."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.integration.security.conftest import SECRET, Api

QUERY = {"query": "{ serverInfo { version } }"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(api: Api, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": f"{api.name}-attacker",
        "iss": api.auth.issuer,
        "aud": api.auth.audience,
        "iat": now,
        "exp": now + 600,
        "roles": ["admin"],
    }
    return {k: v for k, v in (base | overrides).items() if v is not None}


def hs256(api: Api, key: bytes = SECRET.encode(), alg: str = "HS256", **overrides: Any) -> str:
    """A token signed by hand, so that any header and any key can be tried."""
    header = {"alg": alg, **overrides.pop("header", {})}
    body = claims(api, **overrides)
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    if alg == "none":
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered(api: Api) -> str:
    """A viewer's genuine token whose payload now claims admin, signature unchanged."""
    head, body, sig = api.token("viewer").split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return f"{head}.{b64(json.dumps(payload | {'roles': ['admin']}).encode())}.{sig}"


def later(seconds: int) -> int:
    return int(time.time()) + seconds


ATTACKS: dict[str, tuple[Callable[[Api], str], str]] = {
    "alg-none": (lambda api: hs256(api, alg="none"), "algorithm 'none' is not allowed"),
    # HS256 keyed with the provider's public key, which anyone can fetch from the JWKS.
    "hs-rs-key-confusion": (lambda api: hs256(api, api.keys.public_pem), "bad signature"),
    "expired": (lambda api: hs256(api, exp=later(-3600)), "token expired"),
    "not-yet-valid": (lambda api: hs256(api, nbf=later(3600)), "token not yet valid"),
    "issued-in-the-future": (
        lambda api: hs256(api, iat=later(3600), exp=later(7200)),
        "token not yet valid",
    ),
    "wrong-issuer": (lambda api: hs256(api, iss="evil-idp"), "wrong issuer"),
    "wrong-audience": (lambda api: hs256(api, aud="other-api"), "wrong audience"),
    "tampered-signature": (tampered, "bad signature"),
    "unknown-kid": (
        lambda api: api.rs_token("admin", key=api.keys.stranger, kid="stolen-key"),
        "unknown signing key",
    ),
    "unpublished-key-under-known-kid": (
        lambda api: api.rs_token("admin", key=api.keys.stranger),
        "bad signature",
    ),
    "oversized": (lambda api: hs256(api, pad="x" * 10_000), "token larger than 8192 bytes"),
    "garbage": (lambda api: "not.a.jwt", "malformed token"),
    "kid-of-the-wrong-type": (lambda api: hs256(api, header={"kid": 7}), "malformed token"),
    "missing-subject": (lambda api: hs256(api, sub=None), "invalid token"),
    "roles-of-the-wrong-type": (lambda api: hs256(api, roles=7), "invalid token"),
    # PyJWT takes a numeric string as a NumericDate; the API then did arithmetic on it (500).
    "exp-a-numeric-string": (
        lambda api: hs256(api, exp=str(later(600))),
        "claim 'exp' must be a number",
    ),
    "nbf-a-numeric-string": (
        lambda api: hs256(api, nbf=str(later(-60))),
        "claim 'nbf' must be a number",
    ),
    "iat-a-numeric-string": (
        lambda api: hs256(api, iat=str(later(-60))),
        "claim 'iat' must be a number",
    ),
    "empty-subject": (lambda api: hs256(api, sub=""), "empty subject"),
    "blank-subject": (lambda api: hs256(api, sub="  "), "empty subject"),
    # The audit trail's name for callers without a valid token: no token may sign as them.
    "anonymous-subject": (lambda api: hs256(api, sub="anonymous"), "'anonymous' is reserved"),
    "a-ten-year-token": (
        lambda api: hs256(api, exp=later(10 * 365 * 86400)),
        "lifetime longer than 86400 s",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_forged_token_is_refused_and_audited(api: Api, attack: str) -> None:
    forge, reason = ATTACKS[attack]
    token = forge(api)
    for _ in range(2):  # the same again: no verified token is remembered for a second try
        response, _ = await api.post(QUERY, token)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "UNAUTHENTICATED"}
        assert reason in error["message"]
    [event] = await api.events_of(response)
    assert (event["actor"], event["action"], event["outcome"]) == (
        "anonymous",
        "authenticate",
        "failed",
    )
    assert reason in event["detail"]
    assert event["clientAddress"] == "127.0.0.1"


@pytest.mark.parametrize(
    "credentials", [None, "", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer", "Token abc"]
)
async def test_no_bearer_token_is_unauthenticated(api: Api, credentials: str | None) -> None:
    headers = {"authorization": credentials} if credentials is not None else {}
    response, _ = await api.post(QUERY, **headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "missing bearer token" in response.json()["errors"][0]["message"]
    assert len(await api.events_of(response)) == 1


async def test_genuine_tokens_of_both_kinds_are_accepted(api: Api) -> None:
    for token in (api.token("admin"), api.rs_token("admin")):  # serverInfo is for admins
        response, _ = await api.post(QUERY, token)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["serverInfo"]["version"]
        assert response.headers["x-request-id"].startswith(api.name)


async def test_open_endpoints_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await api.http.get(path)).status_code == 200, path


async def ws_refusal(api: Api, payload: dict[str, Any] | None) -> tuple[ConnectionClosed, str]:
    """How the server closed a connection whose ``connection_init`` carried ``payload``, and
    the connection's request id."""
    request = api.request_id()
    async with api.websocket(request) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    return closed.value, request


@pytest.mark.parametrize("attack", ["expired", "alg-none", "tampered-signature"])
async def test_a_websocket_with_a_forged_token_is_closed_4401(api: Api, attack: str) -> None:
    forge, reason = ATTACKS[attack]
    closed, request = await ws_refusal(api, {"Authorization": f"Bearer {forge(api)}"})
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4401
    assert closed.rcvd.reason.startswith("UNAUTHENTICATED: authentication failed")
    assert reason in closed.rcvd.reason
    [event] = await api.events(request_id=request)
    assert (event["action"], event["resource"], event["outcome"]) == (
        "authenticate",
        "/graphql (websocket)",
        "failed",
    )


async def test_a_websocket_without_a_token_is_closed_and_audited(api: Api) -> None:
    closed, request = await ws_refusal(api, None)
    assert closed.rcvd is not None and closed.rcvd.code == 4401
    assert "missing bearer token" in closed.rcvd.reason
    [event] = await api.events(request_id=request)
    assert "missing bearer token" in event["detail"]


async def test_a_websocket_cannot_subscribe_before_authenticating(api: Api) -> None:
    async with api.websocket(api.request_id()) as ws:
        query = {"query": 'subscription { scanProgress(scanId: "x") { stage } }'}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_an_expired_token_ends_websocket_operations(api: Api) -> None:
    """A connection outlives its token: operations after ``exp`` (+ leeway) are refused."""
    deadline = int(time.time()) + 2  # exp + leeway: valid for the handshake, not for long
    exp = deadline - api.auth.clock_skew_s
    token = hs256(api, exp=exp, roles=["viewer"])
    request = api.request_id()
    async with api.websocket(request) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await asyncio.sleep(deadline + 1.1 - time.time())
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": QUERY}))
        message = json.loads(await ws.recv())
    assert message["type"] == "error"
    [error] = message["payload"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "token expired" in error["message"]
    [event] = await api.events(request_id=f"{request}.1")
    assert (event["action"], event["outcome"]) == ("graphql", "denied")
    assert "token expired" in event["detail"]
