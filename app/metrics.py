"""Prometheus metrics for the API: request counts and latencies per route.

Labelled by route template and by a closed set of methods, never by what the client sent: each
distinct label value is a series kept for the process's life, so 2,000 random paths once grew
/metrics from 8 KB to 22 MB.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "datawave_http_requests_total", "HTTP requests served", ["path", "method", "status"]
)
LATENCY = Histogram("datawave_http_request_seconds", "HTTP request latency", ["path"])
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the path label of requests that matched no route
# Children of ``datawave up`` and API processes of ``datawave serve --workers`` that exited and
# were started again by their supervisor (devstack/local.py, app/serving.py).
RESTARTS = Counter(
    "datawave_process_restarts_total", "Supervised processes started again", ["process"]
)


def _route(scope: Scope) -> str:
    """The template of the route that served the request (set by Starlette's router)."""
    route: BaseRoute | None = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class MetricsMiddleware:
    """Counts every HTTP request by route, method and status (pure ASGI, so WebSockets pass
    through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = _route(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUESTS.labels(path, method, str(status)).inc()
            LATENCY.labels(path).observe(time.perf_counter() - started)
