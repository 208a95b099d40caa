"""Per-request GraphQL context: the shared clients plus per-request caches (DataLoaders)."""

from __future__ import annotations

from dataclasses import dataclass, field

from neo4j import AsyncDriver
from starlette.requests import HTTPConnection
from strawberry.types import Info as StrawberryInfo

from app.state import AppState
from resolvers.loaders import Loaders


@dataclass
class Context:
    request: HTTPConnection
    state: AppState
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.state)

    @property
    def graph(self) -> tuple[AsyncDriver, str]:
        """The driver and database name every ``graph/`` function takes."""
        return self.state.neo4j, self.state.settings.neo4j.database


Info = StrawberryInfo[Context, None]
