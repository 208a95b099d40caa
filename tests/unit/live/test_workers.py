"""A worker's state from its heartbeat: waiting, stalled or running."""

from __future__ import annotations

from core.settings import ResilienceSettings
from live.workers import DEGRADED, export, status_of

CFG = ResilienceSettings(stall_s=60)
NOW = 10_000.0


def beat(**fields: object) -> dict[str, object]:
    return {"component": "ingest", "instance": "h:1", "startedAt": NOW - 600, **fields}


def test_a_worker_waiting_for_a_dependency_is_degraded() -> None:
    w = status_of(beat(waitingFor="neo4j", lag=40, lastCommitAt=NOW - 5), CFG, NOW)
    assert (w.state, w.waiting_for, w.degraded) == ("waiting", "neo4j", True)


def test_records_waiting_and_no_commit_for_the_stall_time_is_stalled() -> None:
    w = status_of(beat(lag=40, lastCommitAt=NOW - 61), CFG, NOW)
    assert (w.state, w.commit_age_s) == ("stalled", 61.0)
    never = status_of(beat(lag=40), CFG, NOW)  # never committed since its start
    assert (never.state, never.commit_age_s) == ("stalled", None)


def test_an_idle_or_committing_worker_is_running() -> None:
    assert status_of(beat(lag=0, lastCommitAt=NOW - 3600), CFG, NOW).state == "running"
    assert status_of(beat(lag=40, lastCommitAt=NOW - 5), CFG, NOW).state == "running"
    assert status_of(beat(lag=None), CFG, NOW).state == "running"


def test_the_degraded_gauge_follows_the_workers_alive() -> None:
    export([status_of(beat(lag=40, lastCommitAt=NOW - 61), CFG, NOW)])
    assert DEGRADED.labels("ingest", "h:1", "stalled")._value.get() == 1
    export([])
    assert not DEGRADED._metrics
