"""Per-request GraphQL context: the shared clients, the caller, and per-operation state.

Over HTTP the gateway (app/gateway.py) has authenticated the caller before the context is
built; a WebSocket's context is built at the handshake and learns its caller from
``connection_init`` (app/main.py ``on_ws_connect``), and each operation on it runs on a copy
(``next_operation``, resolvers/security.py).
"""

from __future__ import annotations

import uuid
from copy import copy
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from neo4j import AsyncDriver
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo
from strawberry.types.nodes import SelectedField

from live.state import AppState
from resolvers.guard import Guard
from resolvers.loaders import Loaders
from security.audit import RequestAudit
from security.auth import Principal
from security.gateway import ANONYMOUS


@dataclass
class Context:
    request: HTTPConnection
    state: AppState
    principal: Principal | None = None
    # The request's id in the audit trail; a WebSocket's operations are ``<its id>.<n>``.
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The WebSocket ``connection_init`` payload; Strawberry sets it.
    connection_params: dict[str, Any] | None = None
    guard: Guard = field(init=False)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self._connection_id = self.request_id
        self._operations = count(1)
        self._renew()

    def next_operation(self) -> Context:
        """The context of the next operation on a WebSocket. Strawberry builds one per
        connection and hands it to every operation, and a client runs several at once (two
        subscriptions of one page): each gets a copy with its own request id, RBAC decisions,
        audit notes and DataLoaders (with their budget); the caller and the socket stay the
        connection's."""
        operation = copy(self)
        operation.request_id = f"{self._connection_id}.{next(self._operations)}"
        operation._renew()
        return operation

    def sign_in(self, principal: Principal) -> None:
        """The principal a WebSocket's ``connection_init`` proved."""
        self.principal = principal
        self._renew()

    def _renew(self) -> None:
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


def asks_for(info: Info, *path: str) -> bool:
    """Whether the fields ``path`` are selected under the field, each directly under the one
    before (through fragments)."""
    level = [s for f in info.selected_fields for s in f.selections]
    for name in path:
        matched, below, pending = False, [], list(level)
        while pending:
            selection = pending.pop()
            if not isinstance(selection, SelectedField):
                pending.extend(selection.selections)
            elif selection.name == name:
                matched = True
                below.extend(selection.selections)
        if not matched:
            return False
        level = below
    return True
