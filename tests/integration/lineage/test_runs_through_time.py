"""A run's lineage is what all its events declared, and a late run takes its place in time:
OpenLineage events written by the worker's path (``apply_batch``, a batch each or together),
read back as a user reads lineage, now and as of a past moment."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from core.settings import Settings
from core.sources import DataSourceConfig
from core.urns import column_urn, table_urn
from graph.batch import apply_batch
from graph.datasets import dataset_urn
from graph.driver import read
from graph.sources import register_source
from ingest.openlineage.envelope import wrap
from tests.factories import Source, columns
from tests.integration.cleanup import drop_sources
from tests.integration.graphql.conftest import Execute
from tests.integration.lineage.producers import PG, at, derived, run_event
from tests.integration.lineage.test_openlineage import job_of, job_urn, names, rollup

UPSTREAM = """
query ($urn: ID!, $level: LineageLevel!, $asOf: DateTime) {
  lineage(urn: $urn, direction: UPSTREAM, level: $level, asOf: $asOf) {
    edges { from to since until }
  }
}"""
HOPS = """
query ($urn: ID!) {
  node(id: $urn) {
    ... on Table { upstream { edges { node { id } } } downstream { edges { node { id } } } }
    ... on Column { upstream { edges { node { id } } } downstream { edges { node { id } } } }
    ... on Dataset { upstream { edges { node { id } } } downstream { edges { node { id } } } }
  }
  lineage(urn: $urn, direction: BOTH, level: TABLE, depth: 1) { edges { from to } }
}"""
FEEDS = """
MATCH (a)-[f:FEEDS]->(b) WHERE f.via IN $jobs
RETURN a.urn AS from, b.urn AS to, f.via AS via, properties(f) AS props ORDER BY from, to, via
"""


def tables(db: str) -> tuple[str, str, str]:
    """The URNs of orders, orders_daily and revenue."""
    orders, daily, revenue = (
        table_urn(db, db, "public", t) for t in ("orders", "orders_daily", "revenue")
    )
    return orders, daily, revenue


def total(table: str) -> str:
    return column_urn(table, "total")


async def send(neo4j: AsyncDriver, settings: Settings, *events: Any) -> None:
    """The events as one batch of the worker (one transaction)."""
    await apply_batch(neo4j, settings.neo4j.database, [wrap(Serde.to_dict(e)) for e in events])


def upstream_of(execute: Execute) -> Callable[..., Awaitable[set[str]]]:
    """What a user reads upstream of an asset (now, or as of a moment; tables or columns)."""

    async def upstream(urn: str, as_of: str | None = None, level: str = "TABLE") -> set[str]:
        result = await execute(UPSTREAM, urn=urn, level=level, asOf=as_of)
        return {e["from"] for e in result["lineage"]["edges"]}

    return upstream


async def test_a_runs_lineage_is_what_all_its_events_declared(
    world: Settings, neo4j: AsyncDriver, postgres: str, execute: Execute
) -> None:
    """The rollup's START declares orders -> orders_daily with column lineage, its COMPLETE
    repeats nothing; the loader's START reads orders and its COMPLETE, which arrives first,
    writes revenue. Both runs' lineage holds from their START on, and replaying every event
    in one batch changes nothing."""
    orders, daily, revenue = tables(postgres)
    loader = (job_of(postgres)[0], f"{postgres}.load")
    rollup_id, loader_id = str(uuid.uuid4()), str(uuid.uuid4())
    aggregate = derived(("total", PG, names(postgres)[0], "total", "DIRECT/AGGREGATION", False))
    events = [
        rollup(postgres, RunState.START, rollup_id, 0),
        run_event(RunState.COMPLETE, rollup_id, job_of(postgres), 60),
        run_event(RunState.COMPLETE, loader_id, loader, 60,
                  outputs=[(PG, f"{postgres}.public.revenue", aggregate)]),
        run_event(RunState.START, loader_id, loader, 0, inputs=[(PG, names(postgres)[0], {})]),
    ]  # fmt: skip
    for event in events:
        await send(neo4j, world, event)

    upstream = upstream_of(execute)
    for as_of in (None, at(30), at(90)):
        assert await upstream(daily, as_of) == {orders}
        assert await upstream(total(daily), as_of, "COLUMN") == {total(orders)}
        assert await upstream(revenue, as_of) == {orders}
        assert await upstream(total(revenue), as_of, "COLUMN") == {total(orders)}
    assert await upstream(daily, at(-10)) == await upstream(revenue, at(-10)) == set()

    jobs = [job_urn(postgres), f"urn:dw:job:{loader[0]}/{loader[1]}"]
    before = await read(neo4j, world.neo4j.database, FEEDS, jobs=jobs)
    assert {(r["from"], r["to"]) for r in before} >= {(orders, daily), (orders, revenue)}
    assert all(r["props"].get("until") is None for r in before)
    await send(neo4j, world, *reversed(events))
    assert await read(neo4j, world.neo4j.database, FEEDS, jobs=jobs) == before


async def test_a_late_older_run_ends_where_a_later_complete_run_no_longer_declared_it(
    world: Settings, neo4j: AsyncDriver, postgres: str, execute: Execute
) -> None:
    """Runs 2 (at 105) and 3 (at 150) of the rollup read revenue; run 1 (at 5), which read
    orders, arrives after them: its lineage held until run 2 completed without it, at table
    and column level."""
    orders, daily, revenue = tables(postgres)
    revenue_name, daily_name = f"{postgres}.public.revenue", names(postgres)[1]

    def from_revenue(minutes: float) -> Any:
        mapping = derived(("total", PG, revenue_name, "total", "DIRECT/IDENTITY", False))
        return run_event(
            RunState.COMPLETE, str(uuid.uuid4()), job_of(postgres), minutes,
            inputs=[(PG, revenue_name, {})], outputs=[(PG, daily_name, mapping)],
        )  # fmt: skip

    await send(neo4j, world, from_revenue(105))
    await send(neo4j, world, from_revenue(150))
    await send(neo4j, world, rollup(postgres, RunState.COMPLETE, str(uuid.uuid4()), 5))

    upstream = upstream_of(execute)
    assert await upstream(daily) == await upstream(daily, at(120)) == {revenue}
    assert await upstream(daily, at(50)) == {orders}
    assert await upstream(total(daily), None, "COLUMN") == {total(revenue)}
    assert await upstream(total(daily), at(120), "COLUMN") == {total(revenue)}
    assert await upstream(total(daily), at(50), "COLUMN") == {total(orders)}
    # A moment without an offset is UTC (every DateTime argument): it was compared as null.
    assert await upstream(total(daily), at(50).removesuffix("+00:00"), "COLUMN") == {total(orders)}
    result = await execute(UPSTREAM, urn=daily, level="TABLE", asOf=at(50))
    (edge,) = result["lineage"]["edges"]
    assert (edge["since"][:16], edge["until"][:16]) == (at(5)[:16], at(105)[:16])


async def test_column_lineage_between_datasets_waits_on_the_edge_a_runs_events_make(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """Datasets no source holds: the START names the input, the COMPLETE the output with its
    column lineage, which waits on the edge the two make, from the START on."""
    lake, run_id = f"s3://{unique}", str(uuid.uuid4())
    mapping = derived(("email", lake, "raw/orders", "email", "DIRECT/IDENTITY", False))
    job = (unique, "load")
    start = run_event(RunState.START, run_id, job, 0, inputs=[(lake, "raw/orders", {})])
    complete = run_event(RunState.COMPLETE, run_id, job, 10,
                         outputs=[(lake, "clean/orders", mapping)])  # fmt: skip
    try:
        await send(neo4j, settings, start)
        await send(neo4j, settings, complete)
        (edge,) = await read(
            neo4j, settings.neo4j.database, FEEDS, jobs=[f"urn:dw:job:{unique}/load"]
        )
        assert (edge["from"], edge["to"]) == (
            dataset_urn(lake, "raw/orders"), dataset_urn(lake, "clean/orders")
        )  # fmt: skip
        props = edge["props"]
        assert (props["since"].to_native().isoformat(), props.get("until")) == (at(0), None)
        assert json.loads(props["columns"]) == [["email", "email", ["DIRECT/IDENTITY"], False]]
    finally:
        await drop_sources(settings, neo4j, unique, lake)


async def test_one_hop_up_and_downstream_leave_out_what_a_later_run_ended(
    neo4j: AsyncDriver, settings: Settings, execute: Execute, unique: str
) -> None:
    """Run 1 of a job reads table a and an S3 path and writes x, x.email from a.email; run 2
    reads only b, x.email from b.email. ``upstream`` and ``downstream`` of tables, columns and
    the dataset answer what ``lineage`` does without ``asOf``: they listed the ended edges."""
    db, host, lake = settings.neo4j.database, f"{unique}.pg.invalid", f"s3://{unique}-lake"
    pg, source = f"postgres://{host}:5432", Source(unique)
    a, b, x = (source.table_urn(t) for t in "abx")
    raw = dataset_urn(lake, "raw/a")

    def load(minutes: float, table: str, *more: tuple[str, str, dict[str, Any]]) -> Any:
        name = f"db.public.{table}"
        mapping = derived(("email", pg, name, "email", "DIRECT/IDENTITY", False))
        return run_event(
            RunState.COMPLETE, str(uuid.uuid4()), (unique, "load"), minutes,
            inputs=[(pg, name, {}), *more], outputs=[(pg, "db.public.x", mapping)],
        )  # fmt: skip

    async def hops(urn: str) -> tuple[list[str], list[str], set[tuple[str, str]]]:
        found = await execute(HOPS, urn=urn)
        up, down = (
            [e["node"]["id"] for e in found["node"][d]["edges"]] for d in ("upstream", "downstream")
        )
        return up, down, {(e["from"], e["to"]) for e in found["lineage"]["edges"]}

    try:
        server = DataSourceConfig(name=unique, kind="postgresql", host=host, port=5432)
        await register_source(neo4j, db, server)
        tables = [source.table(t, columns("id:int", "email:text")) for t in "abx"]
        await apply_batch(neo4j, db, [*source.containers(), *tables])
        await send(neo4j, settings, load(10, "a", (lake, "raw/a", {})))
        await send(neo4j, settings, load(20, "b"))

        assert await hops(x) == ([b], [], {(b, x)})
        assert await hops(column_urn(x, "email")) == ([column_urn(b, "email")], [], {(b, x)})
        assert await hops(b) == ([], [x], {(b, x)})
        assert await hops(column_urn(b, "email")) == ([], [column_urn(x, "email")], {(b, x)})
        assert await hops(a) == await hops(column_urn(a, "email")) == ([], [], set())
        assert await hops(raw) == ([], [], set())
    finally:
        await drop_sources(settings, neo4j, unique, lake)
