"""Types describing the running server itself."""

from __future__ import annotations

import strawberry

from core.settings import Mode
from live.health import DependencyStatus
from live.workers import WorkerState, WorkerStatus

strawberry.enum(Mode, name="ServerMode", description="How the server runs (DATAWAVE_MODE).")
strawberry.enum(
    WorkerState,
    description="RUNNING; WAITING: it waits out an outage of `waitingFor`; STALLED: records wait "
    "for it and it has committed nothing for DATAWAVE_RESILIENCE__STALL_S.",
)


@strawberry.type(description="One backing service and whether this API replica can reach it.")
class Dependency:
    name: str
    up: bool
    latency_ms: float
    detail: str

    @classmethod
    def from_status(cls, s: DependencyStatus) -> Dependency:
        return cls(name=s.name, up=s.up, latency_ms=s.latency_ms, detail=s.detail)


@strawberry.type(
    description="A worker (ingest, classify) as its heartbeat in Redis tells it; one that died "
    "is gone once its heartbeat expires."
)
class Worker:
    component: str
    instance: str = strawberry.field(description="Where it runs: host:pid.")
    state: WorkerState
    lag: int | None = strawberry.field(description="Records waiting for it; null if unknown.")
    commit_age_s: float | None = strawberry.field(
        description="Seconds since it last committed; null before its first commit."
    )
    waiting_for: str | None = strawberry.field(
        description="The dependency whose outage it waits out (neo4j, kafka, redis, ...)."
    )

    @classmethod
    def from_status(cls, s: WorkerStatus) -> Worker:
        return cls(
            component=s.component, instance=s.instance, state=s.state, lag=s.lag,
            commit_age_s=s.commit_age_s, waiting_for=s.waiting_for,
        )  # fmt: skip


@strawberry.type(
    description="Version, dependency and worker state of the API replica that answered."
)
class ServerInfo:
    version: str
    mode: Mode
    ready: bool = strawberry.field(
        description="Every dependency it cannot serve without is up (OpenSearch aside)."
    )
    dependencies: list[Dependency]
    workers: list[Worker] | None = strawberry.field(
        description="Every live worker, as /readyz lists them; null while Redis cannot tell."
    )
    degraded: list[str] = strawberry.field(
        description="Components with a worker WAITING or STALLED, and optional dependencies "
        "that are down (opensearch: search is unavailable); the API still serves."
    )
