"""OpenLineage end to end: a pipeline's events, sent by ``openlineage-python``'s HTTP transport
or written to Kafka as its Kafka transport does, through the ingest worker into Neo4j, joined
with the tables a connector discovered in PostgreSQL, and read back through GraphQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from core.settings import IngestSettings, Settings
from core.sources import DataSourceConfig
from core.topics import LINEAGE
from core.urns import column_urn, table_urn
from graph.batch import apply_batch
from graph.datasets import dataset_urn
from graph.driver import read, write
from graph.sources import register_source
from ingest.openlineage.envelope import wrap
from ingest.producer import EventProducer
from ingest.scan import run_scan
from ingest.worker import Worker
from security.auth import mint_token
from tests.factories import Source, eventually, running
from tests.factories import columns as factory_columns
from tests.integration.cleanup import drop_sources
from tests.integration.databases import postgres_database
from tests.integration.graphql.conftest import Execute
from tests.integration.ingest.test_ingest import read_all
from tests.integration.lineage.producers import (
    PG,
    at,
    derived,
    metrics,
    raw,
    run_event,
    table,
)

DDL = """
CREATE TABLE orders (id int PRIMARY KEY, email text, total numeric);
CREATE TABLE orders_daily (day date, email_hash text, total numeric);
CREATE TABLE revenue (total numeric);
"""
RUN = "MATCH (r:Run {urn: $urn})-[:OF]->(j:Job) RETURN properties(r) AS run, j.urn AS job"
FEEDS = """
MATCH (a)-[f:FEEDS {via: $via}]->(b)
RETURN a.urn AS from, b.urn AS to, labels(b) AS labels, properties(f) AS props
ORDER BY from, to
"""
LINEAGE_QUERY = """
query ($urn: ID!, $level: LineageLevel!, $asOf: DateTime) {
  lineage(urn: $urn, direction: DOWNSTREAM, level: $level, asOf: $asOf) {
    nodes { id name }
    edges { from to kind since until transformations masking via { id name kind } }
  }
}
"""


@pytest.fixture
async def postgres(unique: str, settings: Settings) -> AsyncIterator[str]:
    """A PostgreSQL database of this test's own, with two tables."""
    async with postgres_database(settings.source_password.get_secret_value(), unique) as conn:
        await conn.execute(DDL)
        yield unique


async def skip_to_end(settings: Settings, group: str, topic: str) -> None:
    """Commit the group at the end of ``topic``: its worker reads only what comes next."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.kafka.topic_partitions)]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()


@pytest.fixture
async def world(
    postgres: str,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Settings]:
    """The database registered as source ``unique`` and scanned, and a worker on this test's
    discovery topic and on ``datawave.lineage.v1`` (from its end) while the test runs."""
    db = settings.neo4j.database
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", settings.source_password.get_secret_value())
    cfg = ingest_cfg.model_copy(update={"topics": [*ingest_cfg.topics, LINEAGE]})
    local = settings.model_copy(update={"ingest": cfg})
    source = DataSourceConfig(
        name=postgres, kind="postgresql", host="127.0.0.1", port=5432, user="datawave",
        secret_ref="env:DATAWAVE_SOURCE_PASSWORD", databases=[postgres],
    )  # fmt: skip
    await register_source(neo4j, db, source)
    await skip_to_end(settings, cfg.group_id, LINEAGE)
    try:
        async with running(Worker(cfg, settings.kafka, neo4j, db)):
            result = await run_scan(local, neo4j, postgres, ingest_timeout_s=60)
            assert result.stage == "finished", result.error
            yield local
    finally:
        await drop_sources(settings, neo4j, postgres, job_of(postgres)[0], "s3://lake")


def job_of(db: str) -> tuple[str, str]:
    """The rollup job of the test whose database is ``db``: its own namespace, so runs another
    worker on datawave.lineage.v1 replays (``make up``'s) never count among this test's."""
    return f"airflow-{db}", "orders_rollup.load"


def job_urn(db: str) -> str:
    return "urn:dw:job:" + "/".join(job_of(db))


def run_urn(db: str, run_id: str) -> str:
    return "urn:dw:run:" + "/".join((*job_of(db), run_id))


def names(db: str) -> tuple[str, str]:
    return f"{db}.public.orders", f"{db}.public.orders_daily"


def rollup(db: str, state: RunState, run_id: str, minutes: float, **kw: Any) -> Any:
    orders, daily = names(db)
    return run_event(
        state,
        run_id,
        job_of(db),
        minutes,
        inputs=[(PG, orders, {**table("orders", "id", "email", "total"), **metrics(42)})],
        outputs=[
            (
                PG,
                daily,
                {
                    **table("orders_daily", "day", "email_hash", "total"),
                    **derived(
                        ("email_hash", PG, orders, "email", "DIRECT/TRANSFORMATION", True),
                        ("total", PG, orders, "total", "DIRECT/AGGREGATION", False),
                    ),
                },
            )
        ],
        sql="INSERT INTO orders_daily SELECT ...",
        **kw,
    )


NEW_LABEL = "MERGE (l:Label {name: $label}) SET l.category = 'PII', l.sensitivity = 'internal'"
DECIDE = """
mutation ($input: DecideLabelInput!) {
  decideLabel(input: $input) { errors { message } }
}"""
INHERITED = """
query ($column: ID!) {
  inheritedLabels(column: $column) {
    edges { node { label { name } from status path via } }
  }
}"""


async def decide(execute: Execute, column: str, label: str, decision: str) -> list[Any]:
    """A steward's decision through GraphQL; its errors."""
    input = {"column": column, "label": label, "decision": decision}
    return (await execute(DECIDE, input=input))["decideLabel"]["errors"]


def http_client(api: str, token: str) -> OpenLineageClient:
    config = HttpConfig(url=api, auth=ApiKeyTokenProvider({"apiKey": token}), timeout=10)
    return OpenLineageClient(transport=HttpTransport(config))


async def test_an_openlineage_client_over_http_lands_on_the_discovered_tables(
    world: Settings, api: str, execute: Execute, neo4j: AsyncDriver, postgres: str
) -> None:
    db = world.neo4j.database
    token = mint_token(world.auth, f"pipeline-{postgres}", ["service"])
    client = http_client(api, token)
    run_id = str(uuid.uuid4())
    # The transport is synchronous; the API serves in this event loop.
    await asyncio.to_thread(client.emit, rollup(postgres, RunState.START, run_id, 0))
    await asyncio.to_thread(client.emit, rollup(postgres, RunState.COMPLETE, run_id, 1.5))

    orders = table_urn(postgres, postgres, "public", "orders")
    daily = table_urn(postgres, postgres, "public", "orders_daily")
    job = job_urn(postgres)
    run = run_urn(postgres, run_id)

    async def completed() -> bool:
        rows = await read(neo4j, db, RUN, urn=run)
        return bool(rows) and rows[0]["run"]["state"] == "COMPLETE"

    await eventually(completed)
    (row,) = await read(neo4j, db, RUN, urn=run)
    assert row["job"] == job
    assert row["run"]["durationMs"] == 90_000
    assert sorted(row["run"]["events"]) == [f"COMPLETE@{at(1.5)}", f"START@{at(0)}"]

    # Table level: the job's edge joins the tables the connector discovered, not copies.
    result = await execute(LINEAGE_QUERY, urn=orders, level="TABLE")
    graph = result["lineage"]
    assert {n["id"] for n in graph["nodes"]} == {orders, daily}
    (edge,) = [e for e in graph["edges"] if e["via"]]
    assert (edge["from"], edge["to"], edge["kind"]) == (orders, daily, "OPENLINEAGE")
    assert edge["via"] == {"id": job, "name": job_of(postgres)[1], "kind": "OPENLINEAGE"}
    assert edge["since"].startswith("2026-11-01T06:00:00") and edge["until"] is None

    # Column level, with how each column is derived.
    email = column_urn(orders, "email")
    result = await execute(LINEAGE_QUERY, urn=email, level="COLUMN")
    (edge,) = result["lineage"]["edges"]
    assert edge["to"] == column_urn(daily, "email_hash")
    assert (edge["transformations"], edge["masking"]) == (["DIRECT/TRANSFORMATION"], True)
    # The columns are those the scan found (no placeholder was made for them).
    discovered = await read(
        neo4j, db, "MATCH (c:Column {urn: $urn}) RETURN c:Unresolved AS u", urn=edge["to"]
    )
    assert discovered == [{"u": False}]
    checked = await read(
        neo4j, db, "MATCH (:Run {urn: $run})-[c:CHECKED]->(t) RETURN t.urn AS t, c.metrics AS m",
        run=run,
    )  # fmt: skip
    assert checked[0]["t"] == orders and '"rowCount": 42' in checked[0]["m"]

    # Labels follow the data: through the aggregation into daily.total, not through the hash.
    label = f"Test.Secret.{postgres}"
    total = column_urn(orders, "total")
    try:
        await write(neo4j, db, NEW_LABEL, label=label)
        for column in (email, total):
            assert await decide(execute, column, label, "CONFIRMED") == []
        result = await execute(INHERITED, column=column_urn(daily, "total"))
        assert result["inheritedLabels"]["edges"] == [
            {"node": {"label": {"name": label}, "from": total, "status": "CONFIRMED",
                      "path": [total, column_urn(daily, "total")], "via": [job]}},
        ]  # fmt: skip
        result = await execute(INHERITED, column=column_urn(daily, "email_hash"))
        assert result["inheritedLabels"]["edges"] == []  # the hash masks the e-mail
        # A steward who rejects the label below stops it there.
        assert await decide(execute, column_urn(daily, "total"), label, "REJECTED") == []
        result = await execute(INHERITED, column=column_urn(daily, "total"))
        assert result["inheritedLabels"]["edges"] == []
    finally:
        await write(neo4j, db, "MATCH (l:Label {name: $label}) DETACH DELETE l", label=label)


async def test_bad_requests_are_refused_with_the_reason(
    api: str, settings: Settings, token: str
) -> None:
    service = mint_token(settings.auth, "pipeline-bad", ["service"])
    viewer = mint_token(settings.auth, "viewer-bad", ["viewer"])
    event = raw(rollup("x", RunState.START, str(uuid.uuid4()), 0)).decode()  # job airflow-x
    broken = event.replace('"runId": "', '"runId": "not-a-uuid-')
    async with httpx.AsyncClient(base_url=api) as http:

        async def post(body: str, who: str | None) -> httpx.Response:
            headers = {"Content-Type": "application/json"}
            if who:
                headers["Authorization"] = f"Bearer {who}"
            return await http.post("/api/v1/lineage", content=body, headers=headers)

        run_id = str(uuid.uuid4())
        for body, path in [
            (broken, "$.run.runId"),
            # An empty job name was a 500 here; an empty dataset name was accepted, and the
            # ingest worker stopped on it.
            (raw(run_event(RunState.START, run_id, ("airflow-x", ""), 0)).decode(), "$.job.name"),
            (raw(run_event(RunState.START, run_id, ("airflow-x", "j"), 0,
                           inputs=[("s3://b", "", {})])).decode(), "$.inputs[0].name"),
        ]:  # fmt: skip
            refused = await post(body, service)
            assert refused.status_code == 400, body
            (error,) = refused.json()["errors"]
            assert error["extensions"] == {"code": "INVALID_EVENT", "path": path}
        assert (await post(event, None)).status_code == 401
        assert (await post(event, viewer)).status_code == 403
        # A pipeline account scoped to other namespaces (RBAC source scopes), and one scoped to
        # its own, whose job moves data between datasets no source holds (a dataset that is a
        # registered source's table needs that source too: security/test_lineage_scopes.py;
        # the orders tables above resolve to whichever source this stack has on 5432).
        lake = [("s3://lake", "orders_raw", {})], [("s3://lake", "orders_daily", {})]
        moved = raw(run_event(RunState.START, str(uuid.uuid4()), ("airflow-x", "lake"), 0, *lake))
        other = mint_token(settings.auth, "pipeline-other", ["service"], sources=["spark-prod"])
        assert (await post(moved.decode(), other)).status_code == 403
        scoped = mint_token(settings.auth, "pipeline-scoped", ["service"], sources=["airflow-x"])
        assert (await post(moved.decode(), scoped)).status_code == 201
        assert (await post("{", service)).status_code == 400


async def test_kafka_transport_events_out_of_order_dead_letters_and_replays(
    world: Settings, neo4j: AsyncDriver, postgres: str, execute: Execute
) -> None:
    """Bare events on Kafka: COMPLETE before START, a failed run, an invalid event (to the DLQ
    with the schema path) and a dataset no source holds; sending them all again changes
    nothing."""
    db, cfg = world.neo4j.database, world.ingest
    ok, failed = str(uuid.uuid4()), str(uuid.uuid4())
    lake = ("s3://lake", "exports/orders_daily")
    export = run_event(
        RunState.COMPLETE, ok, (job_of(postgres)[0], "export"), 10,
        inputs=[(PG, names(postgres)[1], {})], outputs=[(*lake, {})],
    )  # fmt: skip
    invalid = raw(rollup(postgres, RunState.START, ok, 0)).replace(b'"eventTime"', b'"evenTime"')
    # Valid by the schema, but no URN holds an empty name: the worker used to stop on it.
    unnamed = raw(run_event(RunState.START, ok, (job_of(postgres)[0], "export"), 0,
                            outputs=[("s3://lake", "", {})]))  # fmt: skip
    events = [
        raw(rollup(postgres, RunState.COMPLETE, ok, 5)),
        raw(rollup(postgres, RunState.START, ok, 0)),
        raw(rollup(postgres, RunState.FAIL, failed, 7, error="relation does not exist")),
        raw(export),
    ]
    async with EventProducer(world.kafka, cfg.topics[0]) as producer:
        for value in [*events, invalid, unnamed]:
            await producer.send(value, b"orders_rollup")
        await producer.flush()

    run = run_urn(postgres, ok)
    fail = run_urn(postgres, failed)

    async def arrived() -> bool:
        return len(await read(neo4j, db, RUN, urn=fail)) == 1

    await eventually(arrived)
    dead, dead_unnamed = await read_all(world, cfg.dlq_topic, 2)
    assert dead.value == invalid
    reason = dict(dead.headers)["dlq.reason"].decode()
    assert reason.startswith("invalid OpenLineage event: $: 'eventTime' is a required property")
    assert dead_unnamed.value == unnamed
    reason = dict(dead_unnamed.headers)["dlq.reason"].decode()
    assert reason == "invalid OpenLineage event: $.outputs[0].name: must not be empty"

    (row,) = await read(neo4j, db, RUN, urn=run)
    assert (row["run"]["state"], row["run"]["durationMs"]) == ("COMPLETE", 300_000)
    (row,) = await read(neo4j, db, RUN, urn=fail)
    assert row["run"]["state"] == "FAIL"
    assert row["run"]["errorMessage"] == "relation does not exist"

    # Through GraphQL: the job's runs, newest first, a page at a time, or by state.
    query = """
    query ($job: ID!, $state: RunState, $after: String) {
      runs(job: $job, state: $state, first: 1, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { runId state durationMs errorMessage job { id } } }
      }
    }"""
    job = job_urn(postgres)
    page = (await execute(query, job=job))["runs"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (2, True)
    assert page["edges"][0]["node"]["runId"] == failed  # started at 7 min: the newest
    after = page["pageInfo"]["endCursor"]
    (edge,) = (await execute(query, job=job, after=after))["runs"]["edges"]
    assert edge["node"] == {
        "runId": ok, "state": "COMPLETE", "durationMs": 300_000, "errorMessage": None,
        "job": {"id": job},
    }  # fmt: skip
    (edge,) = (await execute(query, job=job, state="FAIL"))["runs"]["edges"]
    assert edge["node"]["errorMessage"] == "relation does not exist"

    # The export's target is a dataset of its own, downstream of the discovered table.
    daily = table_urn(postgres, postgres, "public", "orders_daily")
    result = await execute(LINEAGE_QUERY, urn=daily, level="TABLE")
    lake_urn = "urn:dw:dataset:s3%3A%2F%2Flake/exports%2Forders_daily"
    assert [(e["from"], e["to"]) for e in result["lineage"]["edges"]] == [(daily, lake_urn)]
    hop = """query ($urn: ID!) { asset(urn: $urn) { ... on Table { downstream { edges { node {
      __typename id ... on Dataset { upstream { edges { node { __typename id } } } } } } } } } }"""
    found = (await execute(hop, urn=daily))["asset"]["downstream"]["edges"]
    assert found == [{"node": {"__typename": "Dataset", "id": lake_urn, "upstream": {
        "edges": [{"node": {"__typename": "Table", "id": daily}}]}}}]  # fmt: skip

    async def state() -> list[Any]:
        via = job_urn(postgres)
        return [
            *(await read(neo4j, db, RUN, urn=run)),
            *(await read(neo4j, db, RUN, urn=fail)),
            *(await read(neo4j, db, FEEDS, via=via)),
        ]

    before = await state()
    async with EventProducer(world.kafka, cfg.topics[0]) as producer:
        for value in events:
            await producer.send(value, b"orders_rollup")
        await producer.flush()
    offsets = [TopicPartition(cfg.topics[0], p) for p in range(world.kafka.topic_partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=world.kafka.bootstrap_servers)
    await consumer.start()
    try:
        ends = sum((await consumer.end_offsets(offsets)).values())
    finally:
        await consumer.stop()

    async def consumed() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=world.kafka.bootstrap_servers)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(cfg.group_id)
        finally:
            await admin.close()
        return sum(m.offset for tp, m in committed.items() if tp.topic == cfg.topics[0]) >= ends

    await eventually(consumed)
    assert await state() == before


async def test_lineage_as_of_a_past_moment(
    world: Settings, neo4j: AsyncDriver, postgres: str, execute: Execute
) -> None:
    """A job that read ``orders`` until a complete run read ``orders_v2`` instead: the lineage
    of then and of now differ, and each edge says when it held."""
    db, cfg = world.neo4j.database, world.ingest
    orders, daily = names(postgres)
    v2 = f"{postgres}.public.orders_v2"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    def load(run_id: str, minutes: float, source: str) -> bytes:
        return raw(
            run_event(
                RunState.COMPLETE, run_id, job_of(postgres), minutes,
                inputs=[(PG, source, {})], outputs=[(PG, daily, {})],
            )
        )  # fmt: skip

    async with EventProducer(world.kafka, cfg.topics[0]) as producer:
        await producer.send(load(first, 0, orders), b"k")
        await producer.send(load(second, 60, v2), b"k")
        await producer.flush()

    async def both() -> bool:
        return len(await read(neo4j, db, "MATCH (r:Run) WHERE r.runId IN $ids RETURN r",
                              ids=[first, second])) == 2  # fmt: skip

    await eventually(both)
    out = table_urn(postgres, postgres, "public", "orders_daily")
    old = table_urn(postgres, postgres, "public", "orders")
    new = table_urn(postgres, postgres, "public", "orders_v2")
    query = """
    query ($urn: ID!, $asOf: DateTime) {
      lineage(urn: $urn, direction: UPSTREAM, asOf: $asOf) {
        edges { from to since until }
      }
    }"""

    async def upstream(as_of: str | None) -> set[str]:
        result = await execute(query, urn=out, asOf=as_of)
        return {e["from"] for e in result["lineage"]["edges"]}

    assert await upstream(None) == {new}
    assert await upstream(at(30)) == {old}
    assert await upstream(at(90)) == {new}
    assert await upstream(at(-10)) == set()  # before either run

    # impact and lineagePath answer for a past moment too.
    then = """
    query ($old: ID!, $out: ID!, $asOf: DateTime) {
      impact(urn: $old, asOf: $asOf) { assets { asset { id } } }
      lineagePath(from: $old, to: $out, asOf: $asOf) { edges { from to } }
    }"""
    past = await execute(then, old=old, out=out, asOf=at(30))
    assert [a["asset"]["id"] for a in past["impact"]["assets"]] == [out]
    assert past["lineagePath"]["edges"] == [{"from": old, "to": out}]
    now = await execute(then, old=old, out=out)
    assert (now["impact"]["assets"], now["lineagePath"]) == ([], None)
    closed = await read(
        neo4j, db, "MATCH (:Asset {urn: $a})-[f:FEEDS]->(:Asset {urn: $b}) RETURN f.until AS u",
        a=old, b=out,
    )  # fmt: skip
    assert closed[0]["u"].to_native().isoformat() == at(60)

    # What changed in between, and which job did it.
    changes = """
    query ($urn: ID!, $since: DateTime!, $until: DateTime) {
      lineageChanges(urn: $urn, since: $since, until: $until) {
        edges { node { change at edge { from to via { id } } } }
      }
    }"""
    result = await execute(changes, urn=out, since=at(30), until=at(90))
    job = {"id": job_urn(postgres)}
    found = [e["node"] for e in result["lineageChanges"]["edges"]]
    assert [(c["change"], c["edge"]["from"], c["edge"]["via"]) for c in found] == [
        ("ADDED", new, job),
        ("REMOVED", old, job),
    ]
    assert {c["at"][:19] for c in found} == {at(60)[:19]}
    result = await execute(changes, urn=out, since=at(61))
    assert result["lineageChanges"]["edges"] == []


async def test_a_dataset_no_source_held_joins_the_table_discovered_later(
    neo4j: AsyncDriver, settings: Settings, unique: str, execute: Execute
) -> None:
    """A run writes to a PostgreSQL server DataWave does not know yet: the output is a dataset
    of its own. Once a source on that server is registered and its scan finds the table, the
    job's lineage leads to that table."""
    db = settings.neo4j.database
    host = f"{unique}.pg.invalid"
    namespace = f"postgres://{host}:5432"
    upstream = ("s3://landing", f"{unique}/orders.csv", {})
    ol = run_event(
        RunState.COMPLETE, str(uuid.uuid4()), (unique, "load"), 0,
        inputs=[upstream], outputs=[(namespace, "shop.public.orders", {})],
    )  # fmt: skip
    source = Source(unique, db="shop")
    try:
        await apply_batch(neo4j, db, [wrap(Serde.to_dict(ol))])
        placeholder = dataset_urn(namespace, "shop.public.orders")
        assert await read(neo4j, db, "MATCH (d:Dataset {urn: $u}) RETURN d.urn", u=placeholder)

        await register_source(
            neo4j, db, DataSourceConfig(name=unique, kind="postgresql", host=host, port=5432)
        )
        await apply_batch(
            neo4j, db, [*source.containers(), source.table("orders", factory_columns("id:int"))]
        )
        orders = source.table_urn("orders")
        gone = await read(neo4j, db, "MATCH (d:Asset {urn: $u}) RETURN d", u=placeholder)
        assert gone == []
        result = await execute(
            "query ($urn: ID!) { lineage(urn: $urn, direction: UPSTREAM) { edges { from to } } }",
            urn=orders,
        )
        (edge,) = result["lineage"]["edges"]
        assert edge["to"] == orders
        writes = await read(
            neo4j, db, "MATCH (:Job {urn: $j})-[:WRITES]->(t) RETURN t.urn AS t",
            j=f"urn:dw:job:{unique}/load",
        )  # fmt: skip
        assert writes == [{"t": orders}]
    finally:
        await drop_sources(settings, neo4j, unique, "s3://landing")


async def test_job_and_dataset_events_describe_without_a_run(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """A JobEvent declares a job's lineage (dbt's manifest does, before any run); a
    DatasetEvent describes a dataset (its schema, where it lives)."""
    db = settings.neo4j.database
    lake = f"s3://{unique}"
    job_event = {
        "eventTime": at(0), "producer": "https://github.com/dbt-labs/dbt-core",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": unique, "name": "model.orders_clean"},
        "inputs": [{"namespace": lake, "name": "raw/orders"}],
        "outputs": [{"namespace": lake, "name": "clean/orders"}],
    }  # fmt: skip
    schema = {"schema": Serde.to_dict(table("orders", "id", "total")["schema"])}
    dataset_event = {
        "eventTime": at(1), "producer": "https://github.com/dbt-labs/dbt-core",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": lake, "name": "clean/orders", "facets": schema},
    }  # fmt: skip
    try:
        await apply_batch(neo4j, db, [wrap(job_event), wrap(dataset_event)])
        rows = await read(
            neo4j, db,
            """MATCH (a)-[f:FEEDS]->(b:Dataset {urn: $clean})
               RETURN a.urn AS a, f.via AS via, f.since AS since, b.fields AS fields,
                      [(j:Job)-[:WRITES]->(b) | j.urn] AS writers,
                      [(r:Run)-[:OF]->(:Job {urn: f.via}) | r] AS runs""",
            clean=dataset_urn(lake, "clean/orders"),
        )  # fmt: skip
        (row,) = rows
        assert row["a"] == dataset_urn(lake, "raw/orders")
        assert row["via"] == row["writers"][0] == f"urn:dw:job:{unique}/model.orders_clean"
        assert row["since"].to_native().isoformat() == at(0) and row["runs"] == []
        assert '"name": "total"' in row["fields"]
    finally:
        await drop_sources(settings, neo4j, unique, lake)


async def test_labels_follow_the_lineage_and_the_stewards_as_they_change(
    world: Settings, neo4j: AsyncDriver, postgres: str, execute: Execute
) -> None:
    """A label confirmed on orders.total reaches orders_daily.total through the rollup job and
    revenue.total through a report job, each as an inherited label with its path; a steward's
    rejection below stops it, a confirmation there makes it the source below; a run of the
    report that no longer reads orders_daily ends its inheritance."""
    db = world.neo4j.database
    orders, daily = names(postgres)
    revenue = f"{postgres}.public.revenue"
    total, daily_total, revenue_total = (
        column_urn(table_urn(postgres, postgres, "public", t), "total")
        for t in ("orders", "orders_daily", "revenue")
    )
    report = (job_of(postgres)[0], f"{postgres}.report")

    def report_run(minutes: float, source: str, field: str) -> Any:
        mapping = derived(("total", PG, source, field, "DIRECT/IDENTITY", False))
        return wrap(Serde.to_dict(run_event(
            RunState.COMPLETE, str(uuid.uuid4()), report, minutes,
            inputs=[(PG, source, {})], outputs=[(PG, revenue, mapping)],
        )))  # fmt: skip

    async def inherited(column: str) -> list[tuple[str, str, list[str]]]:
        edges = (await execute(INHERITED, column=column))["inheritedLabels"]["edges"]
        return [(e["node"]["from"], e["node"]["status"], e["node"]["path"]) for e in edges]

    label = f"Test.Secret.{postgres}"
    try:
        await write(neo4j, db, NEW_LABEL, label=label)
        assert await decide(execute, total, label, "CONFIRMED") == []
        rollup_run = wrap(Serde.to_dict(rollup(postgres, RunState.COMPLETE, str(uuid.uuid4()), 0)))
        await apply_batch(neo4j, db, [rollup_run, report_run(5, daily, "total")])
        assert await inherited(daily_total) == [(total, "CONFIRMED", [total, daily_total])]
        assert await inherited(revenue_total) == [
            (total, "CONFIRMED", [total, daily_total, revenue_total])
        ]
        # What the governance engine reads: the INHERITS edge, distinct from LABELED.
        edges = await read(
            neo4j, db,
            "MATCH (:Column {urn: $c})-[r:LABELED|INHERITS]->(:Label {name: $l}) "
            "RETURN type(r) AS type, r.source AS source",
            c=revenue_total, l=label,
        )  # fmt: skip
        assert edges == [{"type": "INHERITS", "source": total}]

        assert await decide(execute, daily_total, label, "REJECTED") == []
        assert await inherited(daily_total) == await inherited(revenue_total) == []
        assert await decide(execute, daily_total, label, "CONFIRMED") == []
        assert await inherited(daily_total) == []  # its own label now
        assert await inherited(revenue_total) == [
            (daily_total, "CONFIRMED", [daily_total, revenue_total])
        ]

        # The report now reads orders.id instead: revenue.total no longer gets the label.
        await apply_batch(neo4j, db, [report_run(10, orders, "id")])
        assert await inherited(revenue_total) == []
    finally:
        await write(neo4j, db, "MATCH (l:Label {name: $label}) DETACH DELETE l", label=label)


@pytest.mark.parametrize("when", ["one-event", "start-after-complete", "scanned-before-start"])
async def test_column_lineage_between_unknown_datasets_joins_the_columns_found_later(
    neo4j: AsyncDriver, settings: Settings, unique: str, execute: Execute, when: str
) -> None:
    """A job copies raw_orders.email into orders.email on a server DataWave does not scan yet:
    the column lineage waits on the datasets' edge, and becomes column lineage between the
    discovered columns once a source on that server is registered and scanned. Also when the
    run's COMPLETE (the column lineage) is written a batch before its START (the input), and
    when the scan finds both tables between the two (the input then named nowhere but in the
    column lineage the run holds)."""
    db = settings.neo4j.database
    namespace = f"postgres://{unique}.pg.invalid:5432"
    raw_name, name = "shop.public.raw_orders", "shop.public.orders"
    mapping = derived(("email", namespace, raw_name, "email", "DIRECT/IDENTITY", False))
    run_id, job = str(uuid.uuid4()), (unique, "load")
    inputs = [(namespace, raw_name, table("raw_orders", "id", "email"))]
    outputs = [(namespace, name, {**table("orders", "id", "email"), **mapping})]
    named = [(namespace, name, {})]  # the output without its facets
    complete = run_event(RunState.COMPLETE, run_id, job, 1, outputs=outputs)
    start = run_event(RunState.START, run_id, job, 0, inputs=inputs, outputs=named)
    before, after = {
        "one-event": ([[run_event(RunState.COMPLETE, run_id, job, 0, inputs=inputs,
                                  outputs=outputs)]], []),
        "start-after-complete": ([[complete], [start]], []),
        "scanned-before-start": ([[complete]], [[start]]),
    }[when]  # fmt: skip
    source = Source(unique, db="shop")
    try:
        for batch in before:
            await apply_batch(neo4j, db, [wrap(Serde.to_dict(ol)) for ol in batch])
        if not after:
            held = await read(
                neo4j, db,
                "MATCH (:Dataset)-[f:FEEDS]->(:Dataset {urn: $b}) RETURN f.columns AS c",
                b=dataset_urn(namespace, name),
            )  # fmt: skip
            assert '"email"' in held[0]["c"]

        server = DataSourceConfig(
            name=unique, kind="postgresql", host=f"{unique}.pg.invalid", port=5432
        )
        await register_source(neo4j, db, server)
        columns = factory_columns("id:int", "email:text")
        await apply_batch(
            neo4j, db,
            [*source.containers(), source.table("raw_orders", columns),
             source.table("orders", columns)],
        )  # fmt: skip
        for batch in after:
            await apply_batch(neo4j, db, [wrap(Serde.to_dict(ol)) for ol in batch])
        email = column_urn(source.table_urn("orders"), "email")
        result = await execute(LINEAGE_UP, urn=email)
        assert result["lineage"]["edges"] == [
            {"from": column_urn(source.table_urn("raw_orders"), "email"), "to": email,
             "transformations": ["DIRECT/IDENTITY"]}
        ]  # fmt: skip
    finally:
        await drop_sources(settings, neo4j, unique)


LINEAGE_UP = """
query ($urn: ID!) {
  lineage(urn: $urn, direction: UPSTREAM, level: COLUMN) { edges { from to transformations } }
}"""
