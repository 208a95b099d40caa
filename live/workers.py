"""The workers' state as their heartbeats tell it (ingest/heartbeat.py), for ``/readyz`` and
``/metrics``: alive (its key has not expired), consumer lag, age of its last commit, the
dependency it waits for, and a state in one word; ``serverInfo`` lists them too.

``waiting``: it waits out a dependency outage. ``stalled``: records wait for it and it has
committed nothing for ``DATAWAVE_RESILIENCE__STALL_S``. Either is degraded. ``running`` otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import orjson
from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.settings import ResilienceSettings
from ingest.heartbeat import KEY_PREFIX

LAG = Gauge("datawave_worker_lag", "Records waiting for a worker", ["component", "instance"])
COMMIT_AGE = Gauge(
    "datawave_worker_commit_age_seconds",
    "Seconds since a worker last committed offsets",
    ["component", "instance"],
)
DEGRADED = Gauge(
    "datawave_worker_degraded",
    "1 while a worker waits for a dependency or is stalled",
    ["component", "instance", "state"],
)


class WorkerState(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"  # it waits out an outage of ``waiting_for``
    STALLED = "stalled"  # records wait and it has committed nothing for STALL_S


@dataclass(frozen=True)
class WorkerStatus:
    component: str
    instance: str
    state: WorkerState
    lag: int | None
    commit_age_s: float | None
    waiting_for: str | None

    @property
    def degraded(self) -> bool:
        return self.state != WorkerState.RUNNING

    def as_json(self) -> dict[str, object]:
        """For the open /readyz: no host names (the instance is a /metrics label)."""
        return {
            "component": self.component,
            "state": self.state,
            "lag": self.lag,
            "commitAgeS": self.commit_age_s,
            "waitingFor": self.waiting_for,
        }


def status_of(beat: dict[str, object], cfg: ResilienceSettings, now: float) -> WorkerStatus:
    """One heartbeat read as a status: committed ages count from the worker's start if it has
    not committed yet, so a worker that never commits is found stalled too."""
    lag = beat.get("lag")
    last = beat.get("lastCommitAt") or beat.get("startedAt")
    age = round(now - float(last), 1) if isinstance(last, int | float) else None
    waiting = beat.get("waitingFor")
    if waiting:
        state = WorkerState.WAITING
    elif isinstance(lag, int) and lag > 0 and age is not None and age > cfg.stall_s:
        state = WorkerState.STALLED
    else:
        state = WorkerState.RUNNING
    return WorkerStatus(
        str(beat.get("component")),
        str(beat.get("instance")),
        state,
        lag if isinstance(lag, int) else None,
        age if beat.get("lastCommitAt") else None,
        str(waiting) if waiting else None,
    )


async def workers(redis: Redis, cfg: ResilienceSettings) -> list[WorkerStatus]:
    """Every worker with a live heartbeat, by component and instance."""
    keys = sorted([key async for key in redis.scan_iter(match=f"{KEY_PREFIX}*", count=100)])
    values = await redis.mget(keys) if keys else []
    now = time.time()
    return [status_of(orjson.loads(v), cfg, now) for v in values if v]


async def reported(redis: Redis, cfg: ResilienceSettings) -> list[WorkerStatus] | None:
    """``workers``, or None while Redis cannot tell (its probe says why)."""
    try:
        return await workers(redis, cfg)
    except RedisError:
        return None


def export(found: list[WorkerStatus]) -> None:
    """Set the worker gauges to what ``found`` says; workers gone since are dropped."""
    for gauge in (LAG, COMMIT_AGE, DEGRADED):
        gauge.clear()
    for w in found:
        if w.lag is not None:
            LAG.labels(w.component, w.instance).set(w.lag)
        if w.commit_age_s is not None:
            COMMIT_AGE.labels(w.component, w.instance).set(w.commit_age_s)
        DEGRADED.labels(w.component, w.instance, w.state).set(int(w.degraded))
