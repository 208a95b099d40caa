"""Per-request GraphQL context: the shared clients, the caller, and per-operation state.

Over HTTP the gateway (app/gateway.py) has authenticated the caller before the context is
built; a WebSocket's context is built at the handshake and learns its caller from
``connection_init`` (app/main.py ``on_ws_connect``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncDriver
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from app.audit import RequestAudit
from app.auth import Principal
from app.gateway import ANONYMOUS
from app.state import AppState
from resolvers.guard import Guard
from resolvers.loaders import Loaders


@dataclass
class Context:
    request: HTTPConnection
    state: AppState
    principal: Principal | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The WebSocket ``connection_init`` payload; Strawberry sets it.
    connection_params: dict[str, Any] | None = None
    guard: Guard = field(init=False)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.renew(self.request_id)

    def renew(self, request_id: str | None = None) -> None:
        """Fresh per-operation state (RBAC decisions, audit notes, DataLoaders): one
        WebSocket carries many operations on one context."""
        self.request_id = request_id or uuid.uuid4().hex
        client = self.request.client.host if self.request.client else "unknown"
        actor = self.principal.subject if self.principal else ANONYMOUS
        audit = RequestAudit(self.state.audit, actor, self.request_id, client)
        self.guard = Guard(self.principal, audit)
        self.loaders = Loaders(self.state, self.guard)

    @property
    def graph(self) -> tuple[AsyncDriver, str]:
        """The driver and database name every ``graph/`` function takes."""
        return self.state.neo4j, self.state.settings.neo4j.database


Info = StrawberryInfo[Context, None]
