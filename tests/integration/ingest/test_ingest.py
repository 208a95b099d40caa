"""Discovery events through Kafka and the ingest worker into Neo4j, against the real services.

Each test owns its source name, topics and consumer group (``unique``) and deletes only what it
created, because other test runs share the same Kafka and Neo4j.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from core.events import MAX_EVENT_BYTES, Event, parse_event
from core.settings import IngestSettings, Settings
from core.sources import DataSourceConfig
from graph.batch import apply_batch
from graph.driver import read
from graph.sources import get_source, list_sources, register_source
from ingest.openlineage.envelope import wrap
from ingest.producer import EventProducer
from ingest.worker import Worker
from tests.factories import Source, columns, eventually, running, shop
from tests.integration.lineage.producers import run_event

ROOT = Path(__file__).resolve().parents[3]

NODES = """
MATCH (n) WHERE n.source = $source OR n.urn = $urn
RETURN n.urn AS urn, labels(n) AS labels, properties(n) AS props
"""
RELATIONSHIPS = """
MATCH (a)-[r]->(b) WHERE a.source = $source OR a.urn = $urn
RETURN a.urn AS start, type(r) AS type, b.urn AS end, properties(r) AS props
"""
DUPLICATE_RELATIONSHIPS = """
MATCH (a)-[r]->(b) WHERE a.source = $source
WITH a, type(r) AS type, b, count(r) AS n WHERE n > 1
RETURN count(*) AS duplicates
"""
COUNT_TABLES = "MATCH (t:Table) WHERE t.source = $source RETURN count(t) AS n"


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
async def producer(settings: Settings, ingest_cfg: IngestSettings) -> AsyncIterator[EventProducer]:
    async with EventProducer(settings.kafka, ingest_cfg.topics[0]) as p:
        yield p


# --- helpers -------------------------------------------------------------------------------


def worker(cfg: IngestSettings, settings: Settings, neo4j: AsyncDriver) -> Worker:
    return Worker(cfg, settings.kafka, neo4j, settings.neo4j.database)


async def ingest(
    cfg: IngestSettings, settings: Settings, neo4j: AsyncDriver, handled: int
) -> Worker:
    """Run one worker until it has written or dead-lettered ``handled`` events."""
    w = worker(cfg, settings, neo4j)
    async with running(w):
        await eventually(lambda: _handled(w, handled))
    return w


async def _handled(w: Worker, n: int) -> bool:
    return w.stats.events_ok + w.stats.dlq >= n


def _plain(props: dict[str, Any]) -> str:
    return json.dumps(props, sort_keys=True, default=str)


async def snapshot(neo4j: AsyncDriver, db: str, src: Source) -> tuple[list[Any], list[Any]]:
    """Every node and relationship of the source with all properties, in a stable order."""
    nodes = await read(neo4j, db, NODES, source=src.name, urn=src.urn)
    rels = await read(neo4j, db, RELATIONSHIPS, source=src.name, urn=src.urn)
    return (
        sorted((n["urn"], sorted(n["labels"]), _plain(n["props"])) for n in nodes),
        sorted((r["start"], r["type"], r["end"], _plain(r["props"])) for r in rels),
    )


async def count_tables(neo4j: AsyncDriver, db: str, src: Source) -> int:
    return (await read(neo4j, db, COUNT_TABLES, source=src.name))[0]["n"]


async def published(settings: Settings, topic: str) -> int:
    """How many records a topic holds, over every partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.kafka.topic_partitions)]
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


async def read_all(settings: Settings, topic: str, n: int) -> list[ConsumerRecord]:
    """The first ``n`` records of a topic, from every partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, max_partition_fetch_bytes=4 * 2**20
    )
    await consumer.start()
    try:
        parts = range(settings.kafka.topic_partitions)
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        async with asyncio.timeout(20):
            while len(records) < n:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records += batch
        return records
    finally:
        await consumer.stop()


async def lag(admin: AIOKafkaAdminClient, settings: Settings, cfg: IngestSettings) -> int:
    """Records of the topic not yet committed by the group."""
    committed = await admin.list_consumer_group_offsets(cfg.group_id)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        tps = [TopicPartition(cfg.topics[0], p) for p in range(settings.kafka.topic_partitions)]
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    done = {tp: max(meta.offset, 0) for tp, meta in committed.items()}
    return sum(end - done.get(tp, 0) for tp, end in ends.items())


def many_tables(src: Source, n: int) -> list[Event]:
    cols = columns(*(f"c{i}:varchar?" for i in range(8)))
    return [src.table(f"t{i:05d}", cols) for i in range(n)]


def spawn(cfg: IngestSettings, *command: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATAWAVE_INGEST__TOPICS": json.dumps(cfg.topics),
        "DATAWAVE_INGEST__GROUP_ID": cfg.group_id,
        "DATAWAVE_INGEST__DLQ_TOPIC": cfg.dlq_topic,
        "DATAWAVE_INGEST__CHANGES_TOPIC": cfg.changes_topic,
        "DATAWAVE_INGEST__SESSION_TIMEOUT_MS": str(cfg.session_timeout_ms),
    }
    return subprocess.Popen(command, cwd=ROOT, env=env)


# --- graph semantics (apply_batch on the real database) -----------------------------------


async def test_schema_change_creates_one_version_with_diff(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    first = source.table("customers", columns("id:int", "email:varchar?", "name:varchar"))
    assert (await apply_batch(neo4j, db, [first])).versions == 1
    rescan = source.at(5).table("customers", columns("id:int", "email:varchar?", "name:varchar"))
    assert (await apply_batch(neo4j, db, [rescan])).versions == 0

    changed = source.at(10).table("customers", columns("id:int", "email:text", "phone:varchar?"))
    assert (await apply_batch(neo4j, db, [changed, first])).versions == 1  # `first` is stale

    rows = await read(
        neo4j,
        db,
        """
        MATCH (t:Table {urn: $urn})-[:HAS_VERSION]->(v)
        OPTIONAL MATCH (t)-[c:CURRENT_VERSION]->(v)
        RETURN v.version AS n, v.diff AS diff, v.capturedAt AS at, c IS NOT NULL AS current,
               t.fingerprint = v.fingerprint AS fingerprinted
        ORDER BY n
        """,
        urn=source.table_urn("customers"),
    )
    assert [(r["n"], r["current"], r["fingerprinted"]) for r in rows] == [
        (1, False, False),
        (2, True, True),
    ]
    assert rows[1]["at"].to_native() == source.at(10).time
    assert json.loads(rows[1]["diff"]) == {
        "added": ["phone"],
        "removed": ["name"],
        "changed": [
            {"name": "email", "from": {"dataType": "varchar", "nullable": True},
             "to": {"dataType": "text", "nullable": False}},
        ],
    }  # fmt: skip


async def test_dropped_table_is_soft_deleted_and_restored(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    await apply_batch(neo4j, db, shop(source))
    later, latest = source.at(10), source.at(20)
    stats = await apply_batch(neo4j, db, [later.scanned("customers", "big_orders")])
    assert (stats.removed, stats.restored) == ([source.table_urn("orders")], [])

    removed = """
    MATCH (t:Table)-[:HAS_COLUMN]->(c) WHERE t.source = $source
    RETURN t.name AS table, t.removedAt AS t, collect(DISTINCT c.removedAt) AS c
    """
    state = {r["table"]: r for r in await read(neo4j, db, removed, source=source.name)}
    assert state["orders"]["t"].to_native() == later.time
    assert [c.to_native() for c in state["orders"]["c"]] == [later.time]
    assert state["customers"]["t"] is None and state["customers"]["c"] == []

    # Replaying the older scan that listed orders does not bring it back.
    await apply_batch(neo4j, db, [source.scanned("customers", "orders", "big_orders")])
    state = {r["table"]: r for r in await read(neo4j, db, removed, source=source.name)}
    assert state["orders"]["t"].to_native() == later.time

    stats = await apply_batch(neo4j, db, [latest.scanned("customers", "orders", "big_orders")])
    assert (stats.removed, stats.restored) == ([], [source.table_urn("orders")])
    state = {r["table"]: r for r in await read(neo4j, db, removed, source=source.name)}
    assert state["orders"]["t"] is None and state["orders"]["c"] == []


async def test_a_listing_in_parts_removes_only_what_its_own_range_misses(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    """A schema too large for one listing event is listed in parts (by URN range): each part
    removes only the missing tables of its own range, so parts apply in any batch or order."""
    db = settings.neo4j.database
    await apply_batch(neo4j, db, shop(source))
    one_urn = len(source.table_urn("big_orders"))
    first, second = source.at(10).scanned_in_parts(one_urn, "customers", "big_orders")
    # big_orders < customers < orders: the first part covers up to big_orders, the second the
    # rest, where orders is missing.
    assert (first.data.until, second.data.after) == (source.table_urn("big_orders"),) * 2
    assert (await apply_batch(neo4j, db, [first])).removed == []
    assert (await apply_batch(neo4j, db, [second])).removed == [source.table_urn("orders")]
    live = "MATCH (t:Table {source: $source}) WHERE t.removedAt IS NULL RETURN t.name AS name"
    assert {r["name"] for r in await read(neo4j, db, live, source=source.name)} == {
        "customers",
        "big_orders",
    }


async def test_foreign_keys_become_references_even_before_the_target(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    orders, customers = shop(source)[4], shop(source)[3]
    await apply_batch(neo4j, db, [orders])  # customers is still a placeholder
    await apply_batch(neo4j, db, [customers])
    rows = await read(
        neo4j,
        db,
        """
        MATCH (a:Column)-[r:REFERENCES]->(b:Column)<-[:HAS_COLUMN]-(t:Table)
        WHERE a.source = $source
        RETURN a.urn AS a, b.urn AS b, r.constraint AS constraint, t.kind AS kind,
               count {(:Asset {urn: t.urn})} AS copies
        """,
        source=source.name,
    )
    assert rows == [
        {
            "a": source.column_urn("orders", "customer_id"),
            "b": source.column_urn("customers", "id"),
            "constraint": "fk_orders_customer_id",
            "kind": "table",
            "copies": 1,
        }
    ]


async def test_view_lineage_becomes_feeds_at_table_and_column_level(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    await apply_batch(neo4j, db, shop(source))
    feeds = """
    MATCH (a)-[r:FEEDS]->(b) WHERE b.source = $source
    RETURN a.name + '>' + b.name AS edge, labels(a)[1] AS level, r.via AS via, r.kind AS kind,
           r.since AS since
    ORDER BY edge
    """
    rows = await read(neo4j, db, feeds, source=source.name)
    job = f"urn:dw:job:{source.name}/db/public/big_orders"
    assert [(r["edge"], r["level"]) for r in rows] == [
        ("customers>big_orders", "Table"),
        ("email>email", "Column"),
        ("orders>big_orders", "Table"),
        ("total>total", "Column"),
    ]
    assert {(r["via"], r["kind"], r["since"].to_native()) for r in rows} == {
        (job, "view", source.time)
    }
    links = """
    MATCH (j:Job {urn: $job})-[r]->(t) RETURN type(r) + ' ' + t.name AS link ORDER BY link
    """
    assert [r["link"] for r in await read(neo4j, db, links, job=job)] == [
        "READS customers",
        "READS orders",
        "WRITES big_orders",
    ]

    # The view is redefined on customers only: the edges from orders disappear.
    redefined = source.at(10).table(
        "big_orders",
        columns("email:varchar?"),
        kind="view",
        lineage=[
            (source.table_urn("customers"), source.table_urn("big_orders")),
            (source.column_urn("customers", "email"), source.column_urn("big_orders", "email")),
        ],
    )
    await apply_batch(neo4j, db, [redefined])
    rows = await read(neo4j, db, feeds, source=source.name)
    assert [r["edge"] for r in rows] == ["customers>big_orders", "email>email"]
    assert [r["link"] for r in await read(neo4j, db, links, job=job)] == [
        "READS customers",
        "WRITES big_orders",
    ]


async def test_a_registered_source_is_refreshed_by_checks_and_scans(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    reg = DataSourceConfig(
        name=source.name, kind="postgresql", host="db.internal", port=5432,
        databases=["db"], secret_ref="env:PG_PASSWORD",
    )  # fmt: skip
    registered = await register_source(neo4j, db, reg)
    assert (registered["status"], registered["secretRef"]) == ("registered", "env:PG_PASSWORD")

    later = source.at(10)
    await apply_batch(neo4j, db, [later.checked(), later.scanned(), source.checked()])
    await register_source(neo4j, db, reg)  # re-registering keeps what the check learned
    got = await get_source(neo4j, db, source.name)
    assert got is not None
    assert (got["status"], got["host"], got["databases"]) == ("reachable", "db.internal", ["db"])
    assert got["lastCheckedAt"].to_native() == got["lastScanAt"].to_native() == later.time
    assert source.name in {s["name"] for s in await list_sources(neo4j, db)}


async def test_a_scan_written_before_its_source_check_still_counts(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    await apply_batch(neo4j, db, [source.at(10).scanned()])  # the check is on another partition
    await apply_batch(neo4j, db, [source.checked()])
    got = await get_source(neo4j, db, source.name)
    assert got is not None and got["status"] == "reachable"
    assert got["lastScanAt"].to_native() == source.at(10).time


# --- through Kafka and the worker ----------------------------------------------------------


async def test_published_events_are_keyed_by_subject_and_read_back_unchanged(
    settings: Settings, source: Source, ingest_cfg: IngestSettings, producer: EventProducer
) -> None:
    first, *rest = shop(source)
    meta = await producer.publish(first)
    assert await producer.publish_many(rest) == len(rest)
    records = await read_all(settings, ingest_cfg.topics[0], len(rest) + 1)
    assert sorted((r.key, r.value) for r in records) == sorted(
        (e.subject.encode(), e.to_bytes()) for e in [first, *rest]
    )
    assert parse_event(records[0].value) in [first, *rest]
    assert (meta.topic, meta.offset) == (ingest_cfg.topics[0], 0)


async def test_written_tables_are_announced_for_the_change_relay(
    producer: EventProducer,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
) -> None:
    """A table new to the graph is announced as added, and a table a scan no longer lists as
    removed (only that, when both happen in one batch), so search, caches and subscribers
    follow."""
    events = [source.table(name, columns("id:int")) for name in ("a", "b")]
    await producer.publish_many([*events, source.at(10).scanned("a")])
    await ingest(ingest_cfg, settings, neo4j, len(events) + 1)
    announced = [
        parse_event(r.value) for r in await read_all(settings, ingest_cfg.changes_topic, 2)
    ]
    a, b = source.table_urn("a"), source.table_urn("b")
    assert {e.type for e in announced} == {"datawave.asset.changed.v1"}
    assert sorted((e.subject, e.data.change) for e in announced) == [
        (a, "added"), (b, "removed"),
    ]  # fmt: skip


async def test_tables_a_scan_adds_and_a_run_touches_in_one_batch_are_announced_added(
    producer: EventProducer,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
) -> None:
    """A scan adds customers and orders, and a pipeline's run in the same batch reads one and
    writes the other: each is announced once, added, with its lineage. Only the last change per
    table was kept, ``changed ["lineage"]``, so a subscriber of ADDED never heard of either."""
    host = f"{source.name}.pg.invalid"
    server = DataSourceConfig(name=source.name, kind="postgresql", host=host, port=5432)
    await register_source(neo4j, settings.neo4j.database, server)
    pg, name = f"postgres://{host}:5432", f"{source.db}.{source.schema}."
    run = run_event(
        RunState.COMPLETE, str(uuid.uuid4()), (source.name, "load"), 0,
        inputs=[(pg, name + "customers", {})], outputs=[(pg, name + "orders", {})],
    )  # fmt: skip
    scan = [
        *source.containers(),
        *(source.table(t, columns("id:int")) for t in ("customers", "orders")),
    ]
    await producer.publish_many([*scan, wrap(Serde.to_dict(run))])
    w = await ingest(ingest_cfg, settings, neo4j, len(scan) + 1)
    assert w.stats.batches == 1  # the scan and the run were written together
    announced = [
        parse_event(r.value) for r in await read_all(settings, ingest_cfg.changes_topic, 2)
    ]
    assert sorted((e.subject, e.data.change, e.data.fields) for e in announced) == [
        (source.table_urn("customers"), "added", ["lineage"]),
        (source.table_urn("orders"), "added", ["lineage"]),
    ]
    assert await published(settings, ingest_cfg.changes_topic) == 2


async def test_a_rescan_announces_only_what_changed_with_its_fields(
    producer: EventProducer,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
) -> None:
    """Issue 12 (2): every rescan announced every table as changed, with no fields."""
    first = source.table("a", columns("id:int"))
    same = source.at(5).table("a", columns("id:int"))
    wider = source.at(10).table("a", columns("id:int", "email:text?"))
    for event in (first, same, wider):
        await producer.publish(event)
        await ingest(ingest_cfg, settings, neo4j, 1)  # announced before it returns
    announced = [
        parse_event(r.value) for r in await read_all(settings, ingest_cfg.changes_topic, 2)
    ]
    assert [(e.data.change, e.data.fields) for e in announced] == [
        ("added", []),
        ("changed", ["columns"]),
    ]
    assert await published(settings, ingest_cfg.changes_topic) == 2  # none for the same table


async def test_replaying_every_event_leaves_the_graph_identical(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    ingest_cfg: IngestSettings,
    producer: EventProducer,
) -> None:
    db = settings.neo4j.database
    later, latest = source.at(10), source.at(20)
    events = [
        *shop(source),
        later.table("customers", columns("id:int", "email:text", "phone:varchar?")),
        later.scanned("customers", "big_orders"),
        latest.table("orders", columns("id:int", "customer_id:int", "total:numeric?")),
        latest.scanned("customers", "orders", "big_orders"),
        # Lineage to a column its table lacks and to a table never discovered: placeholders.
        later.table(
            "ghosts",
            columns("ghost:text?"),
            kind="view",
            lineage=[
                (source.column_urn("customers", "ghost"), source.column_urn("ghosts", "ghost")),
                (source.table_urn("archive"), source.table_urn("ghosts")),
            ],
        ),
    ]
    await producer.publish_many(events)
    await ingest(ingest_cfg, settings, neo4j, len(events))
    first = await snapshot(neo4j, db, source)
    labels = {label for _, ls, _ in first[0] for label in ls}
    assert {"DataSource", "Database", "Schema", "Table", "Column", "SchemaVersion", "Job"} <= labels
    assert all('"name":' in props for _, _, props in first[0])
    ghost = source.column_urn("customers", "ghost")
    assert ghost in {urn for urn, _, _ in first[0]}
    assert (ghost, "HAS_COLUMN") not in {(end, kind) for _, kind, end, _ in first[1]}

    await producer.publish_many(events)  # the replay: same ids, same times, same bytes
    w = await ingest(ingest_cfg, settings, neo4j, len(events))
    assert w.stats.versions == 0 and w.stats.dlq == 0
    assert await snapshot(neo4j, db, source) == first


async def test_malformed_events_are_dead_lettered_without_losing_the_batch(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    ingest_cfg: IngestSettings,
    producer: EventProducer,
) -> None:
    db = settings.neo4j.database
    valid = shop(source)
    template = json.loads(valid[3].to_bytes())  # a table event
    table = template["data"]

    def doc(**changes: Any) -> bytes:
        return json.dumps(template | changes).encode()

    bad = {
        b"{not json": "invalid JSON",
        doc(specversion="0.3"): "unsupported specversion",
        doc(type="datawave.nope.v1"): "unknown event type",
        doc(subject=""): "missing subject",
        doc(data=table | {"description": "x" * MAX_EVENT_BYTES}): "oversized event",
        doc(data=table | {"columns": "nope"}): "invalid datawave.table.discovered.v1 event",
        doc(subject=source.schema_urn): "subject: expected a table URN",
        # Valid for the models, refused by Neo4j (too large to index): found by splitting.
        doc(
            subject=source.table_urn("n" * 9000), data=table | {"name": "n" * 9000}
        ): "graph write failed",
    }
    for value in bad:
        await producer.send(value, b"same-key")  # one partition: bad and good records interleave
    for event in valid:
        await producer.send(event.to_bytes(), b"same-key")
    await producer.flush()

    w = await ingest(ingest_cfg, settings, neo4j, len(bad) + len(valid))
    assert (w.stats.events_ok, w.stats.dlq) == (len(valid), len(bad))
    assert await count_tables(neo4j, db, source) == 3

    dead = await read_all(settings, ingest_cfg.dlq_topic, len(bad))
    by_value = {r.value: dict(r.headers) for r in dead}
    assert set(by_value) == set(bad)
    for value, reason in bad.items():
        headers = by_value[value]
        assert headers["dlq.reason"].decode().startswith(reason), headers["dlq.reason"]
        assert headers["dlq.topic"].decode() == ingest_cfg.topics[0]
        assert {"dlq.partition", "dlq.offset", "dlq.group"} <= headers.keys()


async def test_two_workers_share_the_partitions_and_ingest_everything_once(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    ingest_cfg: IngestSettings,
    producer: EventProducer,
) -> None:
    workers = [worker(ingest_cfg, settings, neo4j) for _ in range(2)]
    events = many_tables(source, 600)
    async with running(*workers):

        async def balanced() -> bool:
            a, b = (w.assignment() for w in workers)
            return bool(a) and bool(b) and not a & b and len(a | b) == 6

        await eventually(balanced)
        started = time.perf_counter()
        await producer.publish_many(events)
        await eventually(lambda: _handled_by(workers, len(events)))
        elapsed = time.perf_counter() - started
    assert all(w.stats.events_ok > 0 for w in workers)
    assert sum(w.stats.events_ok for w in workers) == len(events)
    assert await count_tables(neo4j, settings.neo4j.database, source) == len(events)
    columns_written = sum(w.stats.columns for w in workers)
    rates = f"{len(events) / elapsed:.0f} events/s, {columns_written / elapsed:.0f} columns/s"
    print(f"\n2 workers: {rates}")


async def _handled_by(workers: list[Worker], n: int) -> bool:
    return sum(w.stats.events_ok for w in workers) >= n


async def test_killed_worker_restarts_without_loss_or_duplicates(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    ingest_cfg: IngestSettings,
    producer: EventProducer,
    admin: AIOKafkaAdminClient,
) -> None:
    db = settings.neo4j.database
    n = 3000
    await producer.publish_many(many_tables(source, n))
    command = (sys.executable, "-m", "ingest.worker")

    first = spawn(ingest_cfg, *command)
    try:
        await eventually(lambda: _tables_at_least(neo4j, db, source, n // 5))
    finally:
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
    assert await count_tables(neo4j, db, source) < n  # killed mid-run

    second = spawn(ingest_cfg, *command)
    try:
        await eventually(lambda: _lag_is(admin, settings, ingest_cfg, 0))
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0

    assert await count_tables(neo4j, db, source) == n
    checks = await read(
        neo4j,
        db,
        """
        MATCH (t:Table) WHERE t.source = $source
        RETURN count {(t)-[:HAS_COLUMN]->()} AS columns, count {(t)-[:HAS_VERSION]->()} AS versions,
               count {(t)<-[:CONTAINS]-()} AS parents, count {(:Asset {urn: t.urn})} AS copies
        """,
        source=source.name,
    )
    assert {(r["columns"], r["versions"], r["parents"], r["copies"]) for r in checks} == {
        (8, 1, 1, 1)
    }
    duplicates = await read(neo4j, db, DUPLICATE_RELATIONSHIPS, source=source.name)
    assert duplicates == [{"duplicates": 0}]


async def _tables_at_least(neo4j: AsyncDriver, db: str, src: Source, n: int) -> bool:
    return await count_tables(neo4j, db, src) >= n


async def _lag_is(
    admin: AIOKafkaAdminClient, settings: Settings, cfg: IngestSettings, n: int
) -> bool:
    return await lag(admin, settings, cfg) == n


async def test_sigterm_finishes_the_batch_commits_and_exits_zero(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    ingest_cfg: IngestSettings,
    producer: EventProducer,
    admin: AIOKafkaAdminClient,
) -> None:
    db = settings.neo4j.database
    n = 2000
    await producer.publish_many(many_tables(source, n))
    proc = spawn(ingest_cfg, str(ROOT / ".venv" / "bin" / "datawave"), "ingest")
    try:
        await eventually(lambda: _tables_at_least(neo4j, db, source, 1))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    # Every event written is committed and nothing committed is missing from the graph.
    written = await count_tables(neo4j, db, source)
    assert written > 0
    assert n - await lag(admin, settings, ingest_cfg) == written
