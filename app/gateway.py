"""The door of /graphql over HTTP: who is calling, how often, and how much they send.

Before Strawberry sees a request, its bearer token must verify (401 otherwise), the caller's
token bucket must hold a token (429 with ``Retry-After``), and its body must fit and hold one
operation (413, 400). Each refusal is a GraphQL-shaped JSON body whose error carries an
``extensions.code``; failed authentication and refused bodies are audited (right after the
response: a refusal waits for no database). WebSocket
connections authenticate in ``connection_init`` with the same ``authenticate``.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import AuditEvent
from app.auth import AuthError, Principal
from app.state import AppState

log = logging.getLogger("datawave.gateway")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ANONYMOUS = "anonymous"


class Refusal(Exception):
    """A request refused before GraphQL runs; ``code`` goes into ``extensions.code``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def extensions(self) -> dict[str, Any]:
        extra = {"retryAfter": int(self.headers["Retry-After"])} if self.status == 429 else {}
        return {"code": self.code, **extra}

    def response(self) -> JSONResponse:
        error = {"message": self.message, "extensions": self.extensions()}
        return JSONResponse(
            {"data": None, "errors": [error]}, status_code=self.status, headers=self.headers
        )


@dataclass(frozen=True)
class Caller:
    """What the gateway learned about an HTTP request; ``get_context`` reads it."""

    principal: Principal
    request_id: str


def request_id(value: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane token, else a new one."""
    return value if value and REQUEST_ID.fullmatch(value) else uuid.uuid4().hex


def _bearer(credentials: str | None) -> str:
    scheme, _, token = (credentials or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


async def throttle(state: AppState, key: str) -> None:
    """Take a token from ``key``'s bucket; Redis trouble lets the request through (logged)."""
    try:
        decision = await state.limiter.take(key)
    except RedisError as err:
        log.warning("rate limiter unavailable, not limiting: %s", err)
        return
    if not decision.allowed:
        wait = max(1, math.ceil(decision.retry_after_s))
        raise Refusal(
            429,
            "RATE_LIMITED",
            f"rate limit exceeded; retry in {wait} s",
            {"Retry-After": str(wait)},
        )


async def authenticate(
    state: AppState, credentials: str | None, *, request: str, client: str, resource: str
) -> Principal:
    """The verified principal of ``Bearer <token>``, with a token taken from its bucket.

    A failure is audited and charged to the client address, so a flood of bad tokens is
    bounded like any other traffic (and cannot flood the audit trail).
    """
    try:
        principal = await state.verifier.verify_async(_bearer(credentials))
    except AuthError as err:
        await throttle(state, f"{ANONYMOUS}:{client}")
        event = AuditEvent(
            ANONYMOUS, "authenticate", resource, "failed", request, client, err.reason
        )
        state.audit.record_later(event)
        challenge = 'Bearer realm="datawave"' + (', error="invalid_token"' if credentials else "")
        raise Refusal(
            401,
            "UNAUTHENTICATED",
            f"authentication failed: {err.reason}",
            {"WWW-Authenticate": challenge},
        ) from err
    await throttle_principal(state, principal)
    return principal


async def throttle_principal(state: AppState, principal: Principal) -> None:
    """One request (or WebSocket operation) of ``principal``, against its own bucket."""
    await throttle(state, f"principal:{principal.subject}")


def _renders_ide(request: Request) -> bool:
    """Strawberry's own test: a browser GET without a query gets GraphiQL (development)."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and ("text/html" in accept or "*/*" in accept)
    )


async def _read_body(receive: Receive, request: Request, limit: int) -> bytes:
    too_large = Refusal(413, "REQUEST_TOO_LARGE", f"request body larger than {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class GraphQLGateway:
    """Pure ASGI around the GraphQL HTTP endpoint (WebSockets pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        rid = request_id(request.headers.get("x-request-id"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        if _renders_ide(request):
            await self.app(scope, receive, send_with_id)
            return
        state: AppState = request.app.state.datawave
        client = request.client.host if request.client else "unknown"
        try:
            principal = await authenticate(
                state,
                request.headers.get("authorization"),
                request=rid,
                client=client,
                resource=scope["path"],
            )
            body = await self._admit_body(state, receive, request, principal, rid, client)
        except Refusal as refusal:
            await refusal.response()(scope, receive, send_with_id)
            return
        scope.setdefault("state", {})["caller"] = Caller(principal, rid)
        await self.app(scope, _replay(body, receive), send_with_id)

    async def _admit_body(
        self,
        state: AppState,
        receive: Receive,
        request: Request,
        principal: Principal,
        rid: str,
        client: str,
    ) -> bytes:
        """The body, if it fits and holds one operation; a refusal is audited as denied."""
        try:
            body = await _read_body(receive, request, state.settings.limits.max_body_bytes)
            if request.method == "POST":
                _one_operation(body)
        except Refusal as refusal:
            event = AuditEvent(
                principal.subject, "request", request.url.path, "denied", rid, client,
                f"{refusal.code}: {refusal.message}",
            )  # fmt: skip
            state.audit.record_later(event)
            raise
        return body


def _one_operation(body: bytes) -> None:
    """A POST body must be one JSON object; Strawberry refuses most other shapes itself, but
    answers 500 to a bare JSON string."""
    start = body.lstrip()[:1]
    if start == b"[":
        raise Refusal(
            400, "BATCH_NOT_SUPPORTED", "batched operations are off: send one per request"
        )
    if start != b"{":
        raise Refusal(
            400, "BAD_REQUEST", 'the body must be a JSON object: {"query": ..., "variables": ...}'
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the client's messages
    (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
