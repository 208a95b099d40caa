"""ASGI application factory: /graphql, /healthz, /readyz and /metrics on one Starlette app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from app import __version__
from app.health import check_dependencies
from app.metrics import MetricsMiddleware
from app.settings import Settings, load_settings
from app.state import AppState, open_state
from graph.migrations import apply_migrations
from ingest.topics import ensure_topics
from resolvers.context import Context
from resolvers.schema import build_schema

log = logging.getLogger("datawave")


class DataWaveGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: HTTPConnection, response: Any = None) -> Context:
        return Context(request=request, state=request.app.state.datawave)


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers. Dependencies are /readyz's business."""
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.datawave
    deps = await check_dependencies(state)
    ready = all(d.up for d in deps)
    body = {
        "status": "ready" if ready else "unavailable",
        "dependencies": {
            d.name: {"up": d.up, "latencyMs": d.latency_ms, "detail": d.detail} for d in deps
        },
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_state(settings) as state:
            applied = await apply_migrations(state.neo4j, settings.neo4j.database)
            created = await ensure_topics(state.kafka_admin, settings.kafka.topic_partitions)
            log.info("migrations applied: %s; topics created: %s", applied, created)
            app.state.datawave = state
            yield

    graphql = DataWaveGraphQL(
        build_schema(development=settings.development, introspection=settings.introspection),
        graphql_ide="graphiql" if settings.development else None,
    )
    return Starlette(
        debug=False,
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/metrics", metrics),
        ],
        middleware=[Middleware(MetricsMiddleware)],
        lifespan=lifespan,
    )
