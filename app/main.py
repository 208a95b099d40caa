"""ASGI application factory: /graphql, /healthz, /readyz and /metrics on one Starlette app
(and, in development, GraphiQL's files under /graphiql/static)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import orjson
from neo4j.exceptions import DriverError, Neo4jError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.gateway import GraphQLGateway, parse_json
from app.graphiql import STATIC_PATH, GraphiQL
from app.headers import SecurityHeaders
from app.lineage import BATCH_PATH as LINEAGE_BATCH_PATH
from app.lineage import PATH as LINEAGE_PATH
from app.lineage import post_lineage, post_lineage_batch
from app.metrics import MetricsMiddleware
from core.settings import Settings, load_settings
from core.topics import ensure_topics
from governance.masking import follow as follow_masking
from governance.masking import refresh as refresh_masking
from governance.watch import watch_changes
from graph.migrations import apply_migrations
from graph.sources import list_sources
from ingest.breakers import export as export_breakers
from live.health import dependencies, missing, serving
from live.relay import run_relay
from live.state import AppState, open_state
from live.workers import export, reported
from mesh.expiry import sweep_grants
from mesh.watch import watch_contracts
from ml.settings import ClassifierSettings
from resolvers.context import Context
from resolvers.schema import build_schema
from security.gateway import Caller, Doorstep, Refusal, authenticate, request_id

log = logging.getLogger("datawave")


# WebSocket close codes of refusals at ``connection_init`` (4400-4499: the protocol's range).
WS_CLOSE = {"UNAUTHENTICATED": 4401, "RATE_LIMITED": 4429}
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
# Allocations between young collections (Python's default: 700), as the ingest worker's: fewer
# collections in the middle of a fan-out (measured: a lower p99 to 1,000 subscribers,
# docs/benchmarks.md), and fewer results in flight promoted towards the old generation.
GC_THRESHOLD = 50_000


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Closing twice is a no-op, so ``on_ws_connect`` can close with its own code and reason
    before Strawberry's rejection closes with a generic one."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await super().close(code, reason)


class DataWaveGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = WebSocketAdapter  # type: ignore[assignment]

    def __init__(
        self,
        schema: BaseSchema,
        *,
        doorstep: Doorstep,
        ide: GraphiQL | None = None,
        **options: Any,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if ide else None, **options)
        self.ide, self.doorstep = ide, doorstep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket holds a place on the doorstep of its address until ``connection_init``
        is answered; an address with none left is refused with HTTP 429."""
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        with ExitStack() as place:
            try:
                scope.setdefault("state", {})["admit"] = place.enter_context(
                    self.doorstep.wait(client)
                )
            except Refusal as refusal:
                await WebSocket(scope, receive, send).send_denial_response(refusal.response())
                return
            await super().__call__(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """Responses and WebSocket messages as JSON text, by orjson: ``json.dumps`` was a
        twentieth of a cold page's CPU (docs/benchmarks.md). Text, not bytes, so WebSocket
        messages stay text frames; what orjson cannot write (an integer past 64 bits in a JSON
        value) goes through ``json``."""
        try:
            return orjson.dumps(data).decode()
        except TypeError:  # orjson.JSONEncodeError is one
            return json.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """Strawberry's parser of WebSocket messages (and of HTTP bodies, which the gateway
        checked first): JSON nested too deeply is not JSON to it (a WebSocket closes 4400)."""
        try:
            return parse_json(data)
        except Refusal as refusal:
            raise json.JSONDecodeError(refusal.message, "", 0) from refusal

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry's GraphiQL page, loading its files from this app instead of a CDN."""
        assert self.ide is not None  # Strawberry renders the IDE only when one is configured
        return await self.ide.response()

    async def get_context(self, request: HTTPConnection, response: Any = None) -> Context:
        state = request.app.state.datawave
        caller: Caller | None = getattr(request.state, "caller", None)  # None on a WebSocket
        if caller is None:
            return Context(
                request, state, request_id=request_id(request.headers.get("x-request-id"))
            )
        return Context(request, state, principal=caller.principal, request_id=caller.request_id)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket by ``{"Authorization": "Bearer <token>"}`` in the
        ``connection_init`` payload; refusals close with 4401 or 4429 and say why."""
        params = context.connection_params or {}
        credentials = params.get("Authorization", params.get("authorization"))
        ws = context.request
        try:
            principal = await authenticate(
                context.state,
                credentials if isinstance(credentials, str) else None,
                request=context.request_id,
                client=ws.client.host if ws.client else "unknown",
                resource=ws.url.path + " (websocket)",
            )
        except Refusal as refusal:
            reason = f"{refusal.code}: {refusal.message}".encode()[:123].decode(errors="ignore")
            await ws.close(code=WS_CLOSE[refusal.code], reason=reason)  # type: ignore[attr-defined]
            raise ConnectionRejectionError from refusal
        finally:
            ws.scope["state"]["admit"]()  # answered either way: off the doorstep
        context.sign_in(principal)
        return UNSET


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers. Dependencies are /readyz's business."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness, open to anyone: each dependency up or down, no versions or errors (those are
    in ``serverInfo``, for admins, and in the log), and each worker's state from its heartbeat
    (live/workers.py): a waiting or stalled worker is ``degraded``, the API still serves; so is
    a replica without OpenSearch (status ``degraded``: search alone is unavailable)."""
    state: AppState = request.app.state.datawave
    deps = await dependencies(state)
    ready = serving(deps)
    found = await reported(state.redis, state.settings.resilience)
    without = missing(deps)
    body = {
        "status": "unavailable" if not ready else "degraded" if without else "ready",
        "dependencies": {d.name: {"up": d.up, "latencyMs": d.latency_ms} for d in deps},
        "workers": None if found is None else [w.as_json() for w in found],
        "degraded": sorted({*without, *(w.component for w in found or [] if w.degraded)}),
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    state: AppState = request.app.state.datawave
    found = await reported(state.redis, state.settings.resilience)
    if found is not None:
        export(found)
    # How many breakers are open, whoever scanned their sources; which ones only the API says.
    with suppress(RedisError, Neo4jError, DriverError):
        sources = await list_sources(state.neo4j, state.settings.neo4j.database)
        await export_breakers(state.redis, {s["name"] for s in sources})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    ide = GraphiQL(settings.cache_dir, settings.npm_registry) if settings.development else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_state(settings) as state:
            applied = await apply_migrations(state.neo4j, settings.neo4j.database)
            created = await ensure_topics(state.kafka_admin, settings.kafka.topic_partitions)
            log.info("migrations applied: %s; topics created: %s", applied, created)
            app.state.datawave = state
            # The masking policy in force, loaded before serving and kept current.
            await refresh_masking(state)
            masks = asyncio.create_task(follow_masking(state))
            relay = asyncio.create_task(run_relay(state)) if settings.relay_changes else None
            # Re-evaluates compliance of what changes (governance/watch.py).
            watcher = (
                asyncio.create_task(watch_changes(state)) if settings.watch_compliance else None
            )
            # Re-checks data contracts whose output ports change (mesh/watch.py).
            contracts = (
                asyncio.create_task(watch_contracts(state)) if settings.watch_contracts else None
            )
            # The on-demand classifier's models, when asked to load them before the first use.
            warm = (
                asyncio.create_task(state.classifier.preload())
                if ClassifierSettings().preload
                else None
            )
            # Tells consumers of grants ending soon or ended (mesh/expiry.py).
            grants = (
                asyncio.create_task(sweep_grants(state)) if settings.mesh.grant_sweep_s else None
            )
            # What start-up built (the schema, the imported ML libraries: ~600k objects) is never
            # garbage; left to the cyclic collector, each full collection walked it all (0.3 to
            # 0.8 s), stalling every request and subscriber meanwhile (docs/benchmarks.md).
            # Unfrozen at shutdown, so the interpreter's last collection frees it as before.
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD)
            if ide:
                ide.prefetch()  # in the background: start-up never waits for the registry
            try:
                yield
            finally:
                gc.unfreeze()
                if ide:
                    await ide.close()
                for task in (masks, relay, watcher, contracts, grants, warm):
                    if task:
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)

    doorstep = Doorstep(settings.http.max_waiting_per_address)
    schema = build_schema(
        development=settings.development,
        introspection=settings.introspection_on,
        suggestions=settings.suggestions_on,
    )
    graphql = DataWaveGraphQL(
        schema,
        doorstep=doorstep,
        ide=ide,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        # An unauthenticated socket is held only until this, then closed with 4408.
        connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
    )
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", GraphQLGateway(graphql, doorstep), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/metrics", metrics),
        Route(LINEAGE_PATH, post_lineage, methods=["POST"]),  # OpenLineage (app/lineage.py)
        Route(LINEAGE_BATCH_PATH, post_lineage_batch, methods=["POST"]),
    ]
    if ide:
        # Public files (React, GraphiQL): no token needed, like the page that loads them.
        routes.append(Mount(STATIC_PATH, StaticFiles(directory=ide.folder, check_dir=False)))
    return Starlette(
        debug=False,
        routes=routes,
        middleware=_middleware(settings),
        lifespan=lifespan,
    )


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: the client's address and scheme (from a trusted proxy only), the
    headers of every response, browsers' cross-origin calls, then the metrics."""
    http = settings.http
    middleware = [Middleware(SecurityHeaders, hsts_max_age_s=http.hsts_max_age_s)]
    if http.trusted_proxies:
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=http.trusted_proxies))
    if http.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=http.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After", "WWW-Authenticate"],
                max_age=600,
            )
        )
    return [*middleware, Middleware(MetricsMiddleware)]
