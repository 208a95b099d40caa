"""Per-request GraphQL context: the shared clients plus per-request caches (DataLoaders)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from app.state import AppState


@dataclass
class Context:
    request: HTTPConnection
    state: AppState


Info = StrawberryInfo[Context, None]
