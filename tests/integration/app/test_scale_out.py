"""Scale out (docs/scaling.md): two ingest workers, two classification workers and two API
replicas on one stack build the graph one of each builds, and a subscriber on one replica sees a
change made through the other.

Each run has topics and consumer groups of its own, and publishes the same estate (the same
events: ids, times, content) once its groups are formed, into the test's own source, which is
cleared between runs and at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from bench.api_support import ROOT, free_port, stop, wait_http
from bench.ingest_support.runs import drained
from core.events import ColumnInfo, Event
from core.settings import IngestSettings, Settings
from graph import labels
from graph.driver import read, write
from ingest.producer import EventProducer
from ingest.worker import Worker
from ml.consumer import ClassificationConsumer
from ml.service import ClassificationService, label_rows
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from security.auth import mint_token
from tests.factories import Source, columns, eventually, running
from tests.integration.cleanup import drop_classified, drop_sources
from tests.integration.graphql.test_replicas import DESCRIBE, first_change, graphql, keep_changing
from tests.integration.kafka import end_offsets
from tests.ml_support import shared_classifier

TABLES = 40
VIEWS = 8
START_S = 300  # an API replica's start-up, imports included, on a loaded 2-core machine
# The source's nodes, its tables' profile baselines (keyed by table URN), and their anomalies.
OWNED = """
MATCH (n)
WHERE n.source = $source OR n.urn = $urn
   OR ((n:ProfileSnapshot OR n:Anomaly) AND coalesce(n.table, n.urn) STARTS WITH $tables)
"""
NODES = OWNED + "RETURN n.urn AS urn, labels(n) AS labels, properties(n) AS props"
# Labels and profile points have no URN: they are named by name or event id.
EDGES = (
    OWNED
    + """
MATCH (n)-[r]->(b)
RETURN n.urn AS start, type(r) AS type, coalesce(b.urn, b.name, b.eventId) AS end,
       properties(r) AS props, CASE WHEN b:ProfilePoint THEN properties(b) END AS point
"""
)
# Set from the clock (``at``) or sealed with a random nonce (``evidence``): differ between any
# two runs, so left out of the comparison; the label, status, confidence and method are kept.
VOLATILE = {"at", "evidence"}
Replicas = asyncio.Task[tuple[list[str], str]]


def estate(src: Source) -> list[Event]:
    """Tables with personal data to classify, each with a foreign key to the one before, and
    views reading two tables each (table and column lineage)."""
    emails = [f"user{i}@example.com" for i in range(20)]
    phones = [f"+44 20 7946 {i:04d}" for i in range(20)]

    def cols() -> list[ColumnInfo]:
        out = columns("id:int", "parent_id:int?", "email:varchar?", "phone:varchar?", "n:int")
        out[2] = out[2].model_copy(update={"samples": emails})
        out[3] = out[3].model_copy(update={"samples": phones})
        return out

    tables = [
        src.table(f"t{i:02d}", cols(), fks={"parent_id": (f"t{i - 1:02d}", "id")} if i else None)
        for i in range(TABLES)
    ]
    views = []
    for i in range(VIEWS):
        a, b, v = f"t{2 * i:02d}", f"t{2 * i + 1:02d}", f"v{i}"
        lineage = [(src.table_urn(a), src.table_urn(v)), (src.table_urn(b), src.table_urn(v))]
        lineage += [(src.column_urn(a, "email"), src.column_urn(v, "email"))]
        views.append(src.table(v, columns("email:varchar?", "n:int"), kind="view", lineage=lineage))
    names = [f"t{i:02d}" for i in range(TABLES)] + [f"v{i}" for i in range(VIEWS)]
    return [src.checked(), *src.containers(), *tables, *views, src.scanned(*names)]


def _rounded(value: Any) -> Any:
    """Floats to 4 places, in JSON texts too: the embedding model's scores differ in the 7th
    digit with the batch a column was classified in, and batches differ between runs."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return _rounded(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _plain(props: dict[str, Any] | None) -> str:
    kept = {k: _rounded(v) for k, v in (props or {}).items() if k not in VOLATILE}
    return json.dumps(kept, sort_keys=True, default=str)


async def graph_of(neo4j: AsyncDriver, db: str, src: Source) -> tuple[list[Any], list[Any]]:
    """Every node and relationship of the source with its properties, in a stable order."""
    scope = {"source": src.name, "urn": src.urn, "tables": src.table_urn("x")[:-1]}
    nodes = await read(neo4j, db, NODES, **scope)
    edges = await read(neo4j, db, EDGES, **scope)
    return (
        sorted((n["urn"], tuple(sorted(n["labels"])), _plain(n["props"])) for n in nodes),
        sorted(
            (e["start"], e["type"], e["end"], _plain(e["props"]), _plain(e["point"])) for e in edges
        ),
    )


async def balanced(members: list[Any], partitions: int) -> bool:
    """Every member of a group holds partitions, none twice, all of them held."""
    held = [m.consumer.assignment() for m in members]
    every = set().union(*held)
    return all(held) and sum(map(len, held)) == len(every) == partitions


async def build(
    n: int,
    run: str,
    events: list[Event],
    cfg: IngestSettings,
    settings: Settings,
    neo4j: AsyncDriver,
    admin: AIOKafkaAdminClient,
    service: Callable[[str, str], Awaitable[ClassificationService]],
) -> tuple[list[Worker], list[ClassificationConsumer]]:
    """``n`` ingest and ``n`` classification workers, as two fresh groups on a topic of the
    run's own: once each group has its partitions shared out, the estate is published, and
    they run until both groups have committed all of it."""
    topic = f"{cfg.topics[0]}.{run}"
    partitions = settings.kafka.topic_partitions
    await admin.create_topics([NewTopic(topic, partitions, 1)])
    # A long session: a loaded machine must not drop a member mid-run (its share would move).
    ingest = cfg.model_copy(
        update={"topics": [topic], "group_id": f"{topic}.ingest", "session_timeout_ms": 30_000}
    )
    workers = [Worker(ingest, settings.kafka, neo4j, settings.neo4j.database) for _ in range(n)]
    classify = await service(topic, f"{topic}.classify")
    classifiers = [ClassificationConsumer(classify, settings.kafka) for _ in range(n)]
    try:
        async with running(*workers, *classifiers):
            for members in (workers, classifiers):
                await eventually(lambda m=members: balanced(m, partitions))
            async with EventProducer(settings.kafka, topic) as producer:
                await producer.publish_many(events)
            ends = await end_offsets(settings, topic)
            for group in (ingest.group_id, classify.cfg.group_id):
                await eventually(lambda g=group: drained(admin, g, ends), timeout_s=120)
    finally:
        await admin.delete_topics([topic])
    return workers, classifiers


@pytest.fixture
async def source(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[Source]:
    """Source ``unique``; afterwards everything of it, and the classifier models of registry
    ``unique``, are deleted."""
    yield Source(unique)
    await drop_classified(settings, neo4j, unique)


def serve() -> tuple[subprocess.Popen, str]:
    """``datawave serve`` on a free port with the change relay off, and its base URL; imports
    alone take a minute or more on a loaded 2-core machine, hence the long wait."""
    port = free_port()
    cmd = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = os.environ | {"DATAWAVE_RELAY_CHANGES": "false"}
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", proc, timeout_s=START_S)
    except SystemExit as err:  # would stop the event loop, past every clean-up
        stop([proc])
        raise AssertionError(str(err)) from None
    return proc, url


@asynccontextmanager
async def replicas(settings: Settings, neo4j: AsyncDriver) -> AsyncIterator[Replicas]:
    """Two API processes (``datawave serve``, relay off: they share only Redis and Neo4j),
    starting in the background, and a steward's token; the task gives their base URLs."""
    starting = [asyncio.create_task(asyncio.to_thread(serve)) for _ in range(2)]
    actor = f"scale-{uuid.uuid4().hex[:8]}"

    async def ready() -> tuple[list[str], str]:
        urls = [url for _, url in await asyncio.gather(*starting)]
        return urls, mint_token(settings.auth, actor, ["steward"], ttl_s=600)

    task = asyncio.create_task(ready())
    try:
        yield task
    finally:  # cancelling a start would lose its process: wait for both, then stop them
        started = await asyncio.gather(*starting, return_exceptions=True)
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(stop, [s[0] for s in started if isinstance(s, tuple)])
        query = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
        await write(neo4j, settings.neo4j.database, query, actor=actor)


async def test_two_of_each_worker_build_the_graph_one_of_each_builds_and_replicas_share_changes(
    neo4j: AsyncDriver,
    settings: Settings,
    admin: AIOKafkaAdminClient,
    ingest_cfg: IngestSettings,
    source: Source,
    unique: str,
) -> None:
    db = settings.neo4j.database
    events = estate(source)  # the same for both runs: ids, times and content
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    classifier = await asyncio.to_thread(shared_classifier)

    async def service(topic: str, group: str) -> ClassificationService:
        cfg = ClassifierSettings(
            registry=unique,
            topic=topic,
            group_id=group,
            changes_topic=ingest_cfg.changes_topic,
        )
        return ClassificationService(neo4j, db, cfg, classifier, f"{unique}:1")

    async with replicas(settings, neo4j) as api:
        await build(1, "one", events, ingest_cfg, settings, neo4j, admin, service)
        one = await graph_of(neo4j, db, source)
        await drop_sources(settings, neo4j, source.name)
        assert await graph_of(neo4j, db, source) == ([], [])

        workers, classifiers = await build(
            2, "two", events, ingest_cfg, settings, neo4j, admin, service
        )
        assert all(w.stats.events_ok for w in workers), "an ingest worker got nothing to do"
        assert all(c.stats.tables for c in classifiers), "a classifier got nothing to do"
        two = await graph_of(neo4j, db, source)
        nodes, edges = two
        assert sum("Column" in n[1] for n in nodes) == TABLES * 5 + VIEWS * 2
        assert {e[2] for e in edges if e[1] == "LABELED"} >= {"PII.Email", "PII.Phone"}
        assert two == one

        (a, b), token = await api
        table = source.table_urn("t07")

        change = await keep_changing(b, token, table, first_change(a, token, unique))
        assert change == {
            "type": "CHANGED",
            "urn": table,
            "source": unique,
            "fields": ["description"],
        }
        await graphql(b, token, DESCRIBE, urn=table, text="through b")
        read_a = "query ($urn: ID!) { asset(urn: $urn) { description } }"
        assert (await graphql(a, token, read_a, urn=table))["asset"] == {"description": "through b"}
