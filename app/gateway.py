"""The door of /graphql over HTTP: who is calling, how often, and how much they send.

Before Strawberry sees a request, its bearer token must verify (401 otherwise), the caller's
token bucket must hold a token (429 with ``Retry-After``), and its body must arrive in time
(408; at most ``DATAWAVE_HTTP__MAX_WAITING_PER_ADDRESS`` bodies of one address in flight, 429),
fit and hold one operation of sane JSON (413, 400). Each refusal is a GraphQL-shaped JSON body
whose error carries an ``extensions.code``; failed authentication and refused bodies are
audited (right after the response: a refusal waits for no database). WebSocket connections
authenticate in ``connection_init`` with the same ``authenticate``.
"""

from __future__ import annotations

import asyncio
import json

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live.state import AppState
from security.audit import AuditEvent
from security.auth import Principal
from security.gateway import Caller, Doorstep, Refusal, authenticate, request_id

# Lists and objects nested deeper than this in a request's JSON are refused: no operation needs
# more, and Python's parser raises RecursionError a few hundred levels further (a 500).
MAX_JSON_NESTING = 32


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

    def __init__(self, app: ASGIApp, doorstep: Doorstep) -> None:
        self.app, self.doorstep = app, doorstep

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
            await refusal.response(request.headers.get("accept"))(scope, receive, send_with_id)
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
        """The body, if it arrives in time, fits and holds one operation; a refusal is audited
        as denied."""
        http = state.settings.http
        try:
            with self.doorstep.wait(client):
                try:
                    async with asyncio.timeout(http.body_timeout_s):
                        body = await _read_body(
                            receive, request, state.settings.limits.max_body_bytes
                        )
                except TimeoutError:
                    raise Refusal(
                        408, "REQUEST_TIMEOUT", f"the body took over {http.body_timeout_s} s"
                    ) from None
            if request.method == "POST":
                _one_operation(body)
            else:
                for name in ("variables", "extensions"):
                    if name in request.query_params:
                        parse_json(request.query_params[name])
        except Refusal as refusal:
            event = AuditEvent(
                principal.subject, "request", request.url.path, "denied", rid, client,
                f"{refusal.code}: {refusal.message}",
            )  # fmt: skip
            state.audit.record_later(event)
            raise
        return body


def parse_json(text: str | bytes) -> object:
    """``text`` parsed, or a ``Refusal`` (400) if it is not JSON or nests too deeply."""
    too_deep = Refusal(
        400, "BAD_REQUEST", f"JSON nested deeper than {MAX_JSON_NESTING} levels is refused"
    )
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as err:  # JSONDecodeError, or bytes that are not UTF-8
        raise Refusal(400, "BAD_REQUEST", f"not valid JSON: {err}") from None
    if _nesting(value) > MAX_JSON_NESTING:
        raise too_deep
    return value


def _nesting(value: object) -> int:
    """How deeply lists and objects nest in ``value`` (a loop: no recursion to exhaust)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            pending.extend((c, level + 1) for c in item if isinstance(c, dict | list))
    return deepest


def _one_operation(body: bytes) -> None:
    """A POST body must be one JSON object; Strawberry refuses most other shapes itself, but
    answers 500 to a bare JSON string (and to JSON nested thousands deep)."""
    operation = parse_json(body)
    if isinstance(operation, list):
        raise Refusal(
            400, "BATCH_NOT_SUPPORTED", "batched operations are off: send one per request"
        )
    if not isinstance(operation, dict):
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
