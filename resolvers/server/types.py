"""Types describing the running server itself."""

from __future__ import annotations

import strawberry

from live.health import DependencyStatus


@strawberry.type(description="One backing service and whether this API replica can reach it.")
class Dependency:
    name: str
    up: bool
    latency_ms: float
    detail: str

    @classmethod
    def from_status(cls, s: DependencyStatus) -> Dependency:
        return cls(name=s.name, up=s.up, latency_ms=s.latency_ms, detail=s.detail)


@strawberry.type(description="Version and dependency state of the API replica that answered.")
class ServerInfo:
    version: str
    mode: str
    ready: bool
    dependencies: list[Dependency]
