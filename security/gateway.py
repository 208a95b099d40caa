"""Who is calling and how often: the checks every door (HTTP, WebSocket) runs before GraphQL.

A bearer token must verify (401 otherwise) and the caller's token bucket must hold a token
(429 with ``Retry-After``). Each refusal is a GraphQL-shaped error with an ``extensions.code``;
a failed authentication is audited and charged to the client address. ``app/gateway.py`` (HTTP)
and ``connection_init`` (WebSocket) call ``authenticate``; resolvers call ``throttle_principal``
for each WebSocket operation.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError
from starlette.responses import JSONResponse

from security.audit import AuditEvent, AuditSink
from security.auth import ANONYMOUS, AuthError, Principal, TokenVerifier
from security.ratelimit import RateLimiter

log = logging.getLogger("datawave.gateway")

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class Guards(Protocol):
    """What the checks need of a process's state (``live.state.AppState`` has all three)."""

    verifier: TokenVerifier
    limiter: RateLimiter
    audit: AuditSink


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

    def response(self, accept: str | None = None) -> JSONResponse:
        """The refusal as a GraphQL response, in the media type the client asked for.

        GraphQL over HTTP gives a non-2xx body meaning only as
        ``application/graphql-response+json``: Apollo Client 4, for one, surfaces the error of
        such a body and reports a bare status code for ``application/json``.
        """
        error = {"message": self.message, "extensions": self.extensions()}
        return JSONResponse(
            {"data": None, "errors": [error]},
            status_code=self.status,
            headers=self.headers,
            media_type=response_media_type(accept),
        )


GRAPHQL_RESPONSE = "application/graphql-response+json"


def response_media_type(accept: str | None) -> str:
    """``application/graphql-response+json`` when the ``Accept`` header lists it (the GraphQL
    over HTTP spec's media type), else ``application/json`` for legacy clients."""
    listed = {part.split(";")[0].strip().lower() for part in (accept or "").split(",")}
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in listed else "application/json"


class Doorstep:
    """Connections of each client address not yet admitted (a WebSocket before its
    ``connection_init``, a request still sending its body), at most ``cap`` at a time: each
    holds a socket and a task before anything says who sent it. Counted per process."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._waiting: Counter[str] = Counter()

    @contextmanager
    def wait(self, client: str) -> Iterator[Callable[[], None]]:
        """A place for ``client`` until the block ends or the yielded ``admit`` is called;
        ``Refusal`` (429) when the address has none left."""
        if self._waiting[client] >= self.cap:
            raise Refusal(
                429,
                "RATE_LIMITED",
                f"more than {self.cap} connections of this address are waiting to be admitted",
                {"Retry-After": "1"},
            )
        self._waiting[client] += 1
        waiting = True

        def admit() -> None:
            nonlocal waiting
            if waiting:
                waiting = False
                self._waiting[client] -= 1
                if not self._waiting[client]:
                    del self._waiting[client]

        try:
            yield admit
        finally:
            admit()


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


async def throttle(state: Guards, key: str) -> None:
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
    state: Guards, credentials: str | None, *, request: str, client: str, resource: str
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


async def throttle_principal(state: Guards, principal: Principal) -> None:
    """One request (or WebSocket operation) of ``principal``, against its own bucket."""
    await throttle(state, f"principal:{principal.subject}")
