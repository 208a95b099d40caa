"""Many OpenLineage events at once: a batch of events written in one transaction leaves the
graph that the same events written one by one leave, and ``POST /api/v1/lineage/batch``
takes a JSON array of events, all or none."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from core.settings import Settings
from core.sources import DataSourceConfig
from core.topics import LINEAGE
from graph.batch import apply_batch
from graph.driver import read
from graph.sources import register_source
from ingest.openlineage.envelope import wrap
from security.auth import mint_token
from tests.integration.app.test_scale_out import end_offsets
from tests.integration.cleanup import drop_sources
from tests.integration.lineage.producers import PRODUCER, derived, run_event, table

GRAPH = """
MATCH (j:Job {urn: $job})
RETURN [(r:Run)-[:OF]->(j) | [r.runId, r.state, toString(r.startedAt), toString(r.endedAt),
                             r.durationMs, r.events, r.errorMessage]] AS runs,
       [(j)-[l:READS|WRITES]->(t) | [type(l), t.urn, toString(l.lastSeenAt)]] AS links,
       COLLECT { MATCH (a)-[f:FEEDS {via: $job}]->(b)
                 RETURN [a.urn, b.urn, toString(f.since), toString(f.until),
                         toString(f.lastSeenAt), f.transformations, f.masking] } AS feeds
"""


def job_run(
    unique: str, state: RunState, run_id: int, minutes: float, *inputs: str, **kw: Any
) -> dict[str, Any]:
    """An event of the job ``load``, which copies the e-mail column of its inputs into x."""
    ns = f"postgres://{unique}.invalid:5432"
    mapping = [("email", ns, f"db.public.{i}", "email", "DIRECT/IDENTITY", False) for i in inputs]
    output = (ns, "db.public.x", {**table("x", "id", "email"), **derived(*mapping)})
    sources = [(ns, f"db.public.{i}", table(i, "id", "email")) for i in inputs]
    rid = str(uuid.UUID(int=run_id))
    event = run_event(state, rid, (unique, "load"), minutes, inputs=sources, outputs=[output], **kw)
    return Serde.to_dict(event)


def job_events(unique: str) -> list[dict[str, Any]]:
    """A job's runs as a scheduler's retries send them, out of order: run 2 drops input b (its
    COMPLETE arrives before its START), run 3 fails reading c, run 4 reads b and c, run 5 c."""
    return [
        job_run(unique, RunState.START, 1, 0, "a", "b"),
        job_run(unique, RunState.COMPLETE, 2, 30, "a"),
        job_run(unique, RunState.COMPLETE, 1, 10, "a", "b"),
        job_run(unique, RunState.START, 2, 20, "a"),
        job_run(unique, RunState.RUNNING, 2, 25, "a"),
        job_run(unique, RunState.START, 3, 40, "c"),
        job_run(unique, RunState.FAIL, 3, 45, "c", error="relation c does not exist"),
        job_run(unique, RunState.COMPLETE, 4, 60, "b", "c"),
        job_run(unique, RunState.COMPLETE, 5, 70, "c"),
    ]


Graph = dict[str, list[Any]]


async def graph_of(neo4j: AsyncDriver, db: str, job: str) -> Graph:
    (row,) = await read(neo4j, db, GRAPH, job=job)
    for run in row["runs"]:
        run[5] = sorted(run[5])
    return {k: sorted(v) for k, v in row.items()}


async def one_by_one_and_batched(
    neo4j: AsyncDriver, settings: Settings, unique: str, events: list[dict[str, Any]]
) -> tuple[Graph, Graph, Graph]:
    """The job's graph after the events one by one, after them in one batch, and after that
    batch replayed in reverse order (each on a graph without them)."""
    source = DataSourceConfig(
        name=unique, kind="postgresql", host=f"{unique}.invalid", port=5432, databases=["db"]
    )
    job = f"urn:dw:job:{unique}/load"
    db = settings.neo4j.database
    try:
        await register_source(neo4j, db, source)
        for event in events:
            await apply_batch(neo4j, db, [wrap(event)])
        one_by_one = await graph_of(neo4j, db, job)
        await drop_sources(settings, neo4j, unique)

        await register_source(neo4j, db, source)
        await apply_batch(neo4j, db, [wrap(e) for e in events])
        batched = await graph_of(neo4j, db, job)
        await apply_batch(neo4j, db, [wrap(e) for e in reversed(events)])
        return one_by_one, batched, await graph_of(neo4j, db, job)
    finally:
        await drop_sources(settings, neo4j, unique)


async def test_a_batch_leaves_the_graph_its_events_leave_one_by_one(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    events = job_events(unique)
    one_by_one, batched, replayed = await one_by_one_and_batched(neo4j, settings, unique, events)

    assert batched == one_by_one == replayed
    states = {r[0][-1]: r[1:5] for r in batched["runs"]}
    assert states["1"][0] == states["2"][0] == states["4"][0] == "COMPLETE"
    assert states["2"][3] == 10 * 60_000  # START at 20, COMPLETE at 30, though sent reversed
    assert states["3"][0] == "FAIL"
    # Until when each input's e-mail column fed x.email.
    ended = {f[0].split("/")[-2]: f[3] for f in batched["feeds"] if f[0].endswith("/email")}
    # a until run 4 completed without it (not run 5); b until run 2 completed without it, but
    # run 4 declared it again: until run 5; c, read by a failed run, runs 4 and 5: open.
    assert ended == {"a": ended["a"], "b": ended["b"], "c": None}
    assert (ended["a"][:16], ended["b"][:16]) == ("2026-11-01T07:00", "2026-11-01T07:10")


async def test_runs_alike_coalesced_in_one_batch_and_replayed_leave_the_one_by_one_graph(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """Runs of one job that name the same datasets are written as one group in a batch: with
    out-of-order events, runs switching inputs back and forth and events sent twice, the graph
    is the one the events leave one by one, and replaying the batch changes nothing."""
    events = job_events(unique)
    alike = [  # runs 6 and 8 read b and c as run 4 did, run 7 c only as run 5 did
        job_run(unique, RunState.COMPLETE, 6, 80, "b", "c"),
        job_run(unique, RunState.START, 6, 75, "b", "c"),
        job_run(unique, RunState.COMPLETE, 8, 100, "b", "c"),
        job_run(unique, RunState.COMPLETE, 7, 90, "c"),
        job_run(unique, RunState.START, 7, 85, "c"),
        job_run(unique, RunState.START, 8, 95, "b", "c"),
    ]
    events = [*events[:5], *alike[:3], *events[5:], *alike[3:], events[2], alike[0]]
    one_by_one, batched, replayed = await one_by_one_and_batched(neo4j, settings, unique, events)

    assert batched == one_by_one == replayed
    states = {r[0][-1]: r[1] for r in batched["runs"]}
    assert states == {**dict.fromkeys("1245678", "COMPLETE"), "3": "FAIL"}
    # b fed x until run 5 completed without it, and again from run 6 on: open, since run 1.
    (b,) = [f for f in batched["feeds"] if f[0].endswith("/b/email")]
    assert (b[2][:16], b[3], b[4][:16]) == ("2026-11-01T06:00", None, "2026-11-01T07:40")


def partial_run(
    unique: str, state: RunState, run_id: int, minutes: float, reads: str = "", writes: str = ""
) -> dict[str, Any]:
    """An event of ``load`` naming only part of what its run does: the inputs ``reads``, and x
    if ``writes`` names the inputs whose e-mail column x.email copies."""
    event = job_run(unique, state, run_id, minutes, *writes)
    event["inputs"] = job_run(unique, state, run_id, minutes, *reads)["inputs"]
    event["outputs"] = event["outputs"] if writes else []
    return event


async def test_runs_spreading_their_datasets_over_their_events_leave_the_one_by_one_graph(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """A run's lineage is what all its events declared, in whatever order and batches they
    come: complete runs that repeat nothing, inputs and outputs on different events (a
    COMPLETE before its START), and an older run arriving after the runs that followed it."""
    events = [
        partial_run(unique, RunState.START, 1, 0, reads="a", writes="a"),
        partial_run(unique, RunState.COMPLETE, 1, 10),
        partial_run(unique, RunState.COMPLETE, 2, 30, writes="b"),
        partial_run(unique, RunState.START, 2, 20, reads="b"),
        partial_run(unique, RunState.START, 3, 40, reads="ab"),
        partial_run(unique, RunState.RUNNING, 3, 45, writes="ab"),
        partial_run(unique, RunState.COMPLETE, 3, 50),
        partial_run(unique, RunState.COMPLETE, 4, 60, reads="c", writes="c"),
        partial_run(unique, RunState.COMPLETE, 0, -10, reads="d", writes="d"),  # late and older
    ]
    one_by_one, batched, replayed = await one_by_one_and_batched(neo4j, settings, unique, events)

    assert batched == one_by_one == replayed
    # Each input (and its e-mail column) fed x from the start of the first run declaring it
    # until a complete run declared it no more: a and b until run 4, c still, d (the late run)
    # until run 1, not run 4.
    ended = {}
    for source, _, since, until, *_ in batched["feeds"]:
        column = source.startswith("urn:dw:column:")
        ended[source.split("/")[-2 if column else -1], column] = (since[:16], until and until[:16])
    expected = {
        "a": ("2026-11-01T06:00", "2026-11-01T07:00"),
        "b": ("2026-11-01T06:20", "2026-11-01T07:00"),
        "c": ("2026-11-01T07:00", None),
        "d": ("2026-11-01T05:50", "2026-11-01T06:10"),
    }
    assert ended == {(k, column): v for k, v in expected.items() for column in (True, False)}


async def test_the_batch_endpoint_takes_an_array_all_or_none(
    api: str, settings: Settings, unique: str
) -> None:
    service = mint_token(settings.auth, f"pipeline-{unique}", ["service"])
    headers = {"Authorization": f"Bearer {service}", "Content-Type": "application/json"}
    events = job_events(unique)
    broken = {**events[1], "run": {"runId": "not-a-uuid"}}
    before = await end_offsets(settings, LINEAGE)
    async with httpx.AsyncClient(base_url=api) as http:
        refused = await http.post(
            "/api/v1/lineage/batch", json=[events[0], broken], headers=headers
        )
        assert refused.status_code == 400
        (error,) = refused.json()["errors"]
        assert error["extensions"] == {"code": "INVALID_EVENT", "path": "$[1].run.runId"}
        not_array = await http.post("/api/v1/lineage/batch", json=events[0], headers=headers)
        assert not_array.status_code == 400
        # Each event must fit what the worker takes (1 MiB in its envelope), batch or not.
        notes = {"_producer": PRODUCER, "_schemaURL": PRODUCER, "text": "x" * 2**20}
        big = {**events[1], "job": {**events[1]["job"], "facets": {"notes": notes}}}
        huge = await http.post("/api/v1/lineage/batch", json=[events[0], big], headers=headers)
        assert huge.status_code == 413 and "$[1]" in huge.json()["errors"][0]["message"]
        assert await end_offsets(settings, LINEAGE) == before  # the valid event was not sent either

        accepted = await http.post("/api/v1/lineage/batch", json=events, headers=headers)
        assert accepted.status_code == 201
        ids = [e["id"] for e in accepted.json()["events"]]
        assert ids == [wrap(e).id for e in events]
    after = await end_offsets(settings, LINEAGE)
    assert sum(after.values()) - sum(before.values()) >= len(events)
