"""A scan interrupted in the middle of discovery resumes from the targets the broker had not
acknowledged: a PostgreSQL source of this test's own (200 tables) behind a fault proxy, cut
while the scan is discovering, or the scan's own Kafka broker SIGKILLed then. Every table is
published (once when the source was cut; again only if unacknowledged when the broker died),
the graph holds exactly the tables information_schema lists, each written once, and the scan
says it was interrupted, then resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.events import TABLE_DISCOVERED, parse_event
from core.settings import IngestSettings, KafkaSettings, ResilienceSettings, Settings
from core.sources import DataSourceConfig
from core.urns import table_urn
from devstack.demo import PASSWORD_ENV, USER
from graph.driver import read, write
from graph.scans import get_scan, unfinished_scans
from graph.sources import register_source
from ingest.scan import ScanProgress, run_scan
from ingest.worker import Worker
from tests.factories import eventually, running
from tests.integration.ingest.test_scan import scan_settings  # noqa: F401
from tests.integration.resilience.private_kafka import PrivateKafka
from tests.integration.resilience.proxy import FaultProxy

N_TABLES = 200
CUT_AT = 20  # tables discovered when the source is cut
OUTAGE_S = 3
KAFKA_OUTAGE_S = 45
# The source of the cases that act once the scan's acknowledgements show (kept with each
# progress report, one every 0.25 s): enough tables that discovery spans several reports. 200
# tables were all sent between two of them on a quiet machine, so the cut or the kill came
# after discovery and found nothing to interrupt.
LARGE_TABLES = 2000
# Each reply of the source comes this much later (the proxy's): discovery of N_TABLES then
# spans several progress reports however fast the machine, so the cut lands in the middle of
# it. Without it, 200 tables were sometimes all sent between two reports.
SOURCE_LATENCY_S = 0.01
FAST = ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1, scan_retry_s=60)
IN_GRAPH = """
MATCH (t:Table {source: $source}) WHERE t.removedAt IS NULL
OPTIONAL MATCH (t)-[:HAS_VERSION]->(v)
RETURN t.name AS name, count(v) AS versions
"""
CLEANUP = """
MATCH (n) WHERE n.source = $source OR n.urn = 'urn:dw:source:' + $source
DETACH DELETE n
"""
INFORMATION_SCHEMA = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
)


async def pg(settings: Settings, database: str = "postgres") -> asyncpg.Connection:
    password = settings.source_password.get_secret_value()
    return await asyncpg.connect(
        host="127.0.0.1", port=5432, user=USER, password=password, database=database
    )


@pytest.fixture
async def source(
    settings: Settings,
    neo4j: AsyncDriver,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[DataSourceConfig, FaultProxy]]:
    """A database of N_TABLES tables (or the count the test passes as the fixture's param),
    registered as source ``unique`` behind a fault proxy."""
    tables = getattr(request, "param", N_TABLES)
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    admin = await pg(settings)
    await admin.execute(f'CREATE DATABASE "{unique}"')
    conn = await pg(settings, unique)
    await conn.execute(
        ";".join(f"CREATE TABLE t{i:03} (id int PRIMARY KEY, name text)" for i in range(tables))
    )
    await conn.close()
    async with FaultProxy("127.0.0.1", 5432, SOURCE_LATENCY_S) as proxy:
        config = DataSourceConfig(
            name=unique, kind="postgresql", host="127.0.0.1", port=proxy.port, user=USER,
            secret_ref=f"env:{PASSWORD_ENV}", databases=[unique], pool_size=2,
        )  # fmt: skip
        await register_source(neo4j, settings.neo4j.database, config)
        yield config, proxy
    await admin.execute(f'DROP DATABASE IF EXISTS "{unique}" WITH (FORCE)')
    await admin.close()
    await write(neo4j, settings.neo4j.database, CLEANUP, source=unique)


async def published(settings: Settings, topic: str, scan_id: str) -> Counter[str]:
    """How often the scan published each table (TABLE_DISCOVERED by subject)."""
    consumer = AIOKafkaConsumer(
        **settings.kafka.client_options(), max_partition_fetch_bytes=4 * 2**20
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not parts:
            parts = [TopicPartition(topic, p) for p in range(settings.kafka.topic_partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning()
        end = await consumer.end_offsets(parts)
        counts: Counter[str] = Counter()

        async def behind() -> bool:
            return any([await consumer.position(p) < end[p] for p in parts])

        async with asyncio.timeout(30):
            while await behind():
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    for record in batch:
                        event = parse_event(record.value)
                        if event.type == TABLE_DISCOVERED and event.data.scan_id == scan_id:
                            counts[event.subject] += 1
        return counts
    finally:
        await consumer.stop()


def all_tables(config: DataSourceConfig, n: int = N_TABLES) -> set[str]:
    return {table_urn(config.name, config.name, "public", f"t{i:03}") for i in range(n)}


async def same_as_information_schema(
    settings: Settings, neo4j: AsyncDriver, config: DataSourceConfig
) -> None:
    """The graph holds the tables information_schema lists, each written once."""
    conn = await pg(settings, config.name)
    truth = {r["table_name"] for r in await conn.fetch(INFORMATION_SCHEMA)}
    await conn.close()
    graph = await read(neo4j, settings.neo4j.database, IN_GRAPH, source=config.name)
    assert {r["name"] for r in graph} == truth
    assert {r["versions"] for r in graph} == {1}, "each table written once"


def finished_after_resuming(
    result: ScanProgress, seen: list[ScanProgress], words: str
) -> ScanProgress:
    """The scan finished, and said it was interrupted by ``words``, then resumed; its state
    when interrupted."""
    assert (result.stage, result.error) == ("finished", None)
    stages = [p.stage for p in seen]
    assert "interrupted" in stages, stages
    cut = stages.index("interrupted")
    assert "resumed" in stages[cut:]
    assert seen[cut].error == f"{words}; the scan resumes when it is back"
    return seen[cut]


@pytest.mark.timeout(240)
async def test_a_scan_cut_off_from_its_source_resumes_where_it_was(
    source: tuple[DataSourceConfig, FaultProxy],
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    config, proxy = source
    cfg = scan_settings.model_copy(update={"resilience": FAST})
    db = cfg.neo4j.database
    seen: list[ScanProgress] = []
    restored: list[float] = []

    def restore() -> None:
        proxy.restore()
        restored.append(time.monotonic())

    async def follow(p: ScanProgress) -> None:
        seen.append(p)
        if p.stage == "discover" and p.tables >= CUT_AT and not proxy.is_cut and not restored:
            proxy.cut()
            asyncio.get_running_loop().call_later(OUTAGE_S, restore)

    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db)
    async with running(worker):
        result = await run_scan(cfg, neo4j, config.name, on_progress=follow, ingest_timeout_s=120)
    assert restored, f"discovery ended before a report showed {CUT_AT} tables: {seen}"
    print(
        f"source cut {OUTAGE_S}s mid-discovery: scan finished "
        f"{time.monotonic() - restored[0]:.1f}s after it was back"
    )

    interrupted = finished_after_resuming(
        result, seen, f"the source {config.name} stopped answering"
    )
    assert CUT_AT <= interrupted.tables < N_TABLES  # what was acknowledged at the cut

    counts = await published(settings, cfg.ingest.topics[0], result.scan_id)
    assert set(counts) == all_tables(config), "every table published"
    assert set(counts.values()) == {1}, "none published twice"
    await same_as_information_schema(settings, neo4j, config)
    assert result.tables == N_TABLES
    recorded = await get_scan(neo4j, db, result.scan_id)
    assert recorded and (recorded["status"], recorded["interruptions"]) == ("finished", 1)


@pytest.mark.chaos
@pytest.mark.timeout(400)
@pytest.mark.parametrize("source", [LARGE_TABLES], indirect=True)
async def test_a_scan_across_a_kafka_outage_resumes_and_sends_again_only_the_unacknowledged(
    source: tuple[DataSourceConfig, FaultProxy],
    broker: PrivateKafka,
    private_kafka: KafkaSettings,
    private_ingest: IngestSettings,
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    """The private broker is SIGKILLed for longer than the producer's own retries (40 s)."""
    config, _ = source
    ingest = private_ingest
    update = {"resilience": FAST, "kafka": private_kafka, "ingest": ingest}
    cfg = settings.model_copy(update=update)
    db = cfg.neo4j.database
    seen: list[ScanProgress] = []
    restart: list[asyncio.Task[None]] = []
    started: list[float] = []
    sent_at_kill: list[int] = []

    async def start_again() -> None:
        await asyncio.sleep(KAFKA_OUTAGE_S)
        await asyncio.to_thread(broker.start)
        started.append(time.monotonic())

    async def follow(p: ScanProgress) -> None:
        seen.append(p)
        if p.stage == "discover" and p.tables >= CUT_AT and not restart:
            broker.kill()
            sent_at_kill.append(p.tables)
            restart.append(asyncio.create_task(start_again()))

    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db, FAST)
    async with running(worker):
        result = await run_scan(cfg, neo4j, config.name, on_progress=follow, ingest_timeout_s=180)
    await restart[0]
    print(
        f"kafka killed {KAFKA_OUTAGE_S}s mid-discovery: scan finished "
        f"{time.monotonic() - started[0]:.1f}s after the broker was started again"
    )

    if "interrupted" in [p.stage for p in seen]:
        finished_after_resuming(result, seen, "the event broker (Kafka) is unreachable")
    else:  # the producer held the events until the broker was back: aiokafka expires a batch
        # only while its partition has no known leader, which a dead broker need not cause
        assert (result.stage, result.error) == ("finished", None)
    # Only what was sent before the kill may go twice: the broker may have written some of it
    # and lost the acknowledgement. What the scan sent after the kill waited in its producer
    # and went once, when the broker was back; what was acknowledged was not sent again.
    counts = await published(cfg, ingest.topics[0], result.scan_id)
    assert set(counts) == all_tables(config, LARGE_TABLES), "every table published"
    twice = sum(counts.values()) - LARGE_TABLES
    print(f"{sent_at_kill[0]} tables sent at the kill, {twice} of them sent again")
    assert twice <= sent_at_kill[0]
    await same_as_information_schema(settings, neo4j, config)
    assert worker.stats.dlq == 0


@pytest.mark.timeout(400)
@pytest.mark.parametrize("source", [LARGE_TABLES], indirect=True)
async def test_a_scan_whose_process_died_is_taken_over_by_the_next_scan(
    source: tuple[DataSourceConfig, FaultProxy],
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """``datawave scan`` is SIGKILLed mid-discovery (while it waits out its source, cut after
    CUT_AT tables); ``datawave scan`` again takes that scan over: same id, resumed, and only
    the tables not yet acknowledged are sent, so each is published once in all."""
    config, proxy = source
    cfg = scan_settings
    db = cfg.neo4j.database
    ingest = cfg.ingest
    env = os.environ | {
        "DATAWAVE_INGEST__TOPICS": json.dumps(ingest.topics),
        "DATAWAVE_INGEST__DLQ_TOPIC": ingest.dlq_topic,
        "DATAWAVE_INGEST__CHANGES_TOPIC": ingest.changes_topic,
        "DATAWAVE_INGEST__GROUP_ID": ingest.group_id,
        "DATAWAVE_RESILIENCE__HEARTBEAT_S": "1",  # its lease lapses 3 s after it died
    }
    cli = Path(sys.executable).with_name("datawave")
    with (tmp_path / "scan.log").open("wb") as out:
        scanning = await asyncio.create_subprocess_exec(
            cli, "scan", config.name, env=env, stdout=out, stderr=out
        )
    try:
        async with Redis.from_url(settings.redis_url) as redis:

            async def acknowledged() -> int:  # tables the broker acknowledged, as kept
                ids = await unfinished_scans(neo4j, db, config.name)
                kept = await redis.hkeys(f"datawave:scan-acks:{ids[0]}") if ids else []
                return sum(1 for field in kept if field.decode().startswith(TABLE_DISCOVERED))

            async def interrupted() -> bool:
                ids = await unfinished_scans(neo4j, db, config.name)
                found = await get_scan(neo4j, db, ids[0]) if ids else None
                return bool(found) and found["status"] == "interrupted"

            await eventually(lambda: _at_least(acknowledged(), CUT_AT), 120)
            proxy.cut()
            await eventually(interrupted, 60)
            (dead,) = await unfinished_scans(neo4j, db, config.name)
            acked_at_kill = await acknowledged()
    finally:
        with contextlib.suppress(ProcessLookupError):  # it ended by itself: the test says why
            scanning.kill()
        await scanning.wait()
        proxy.restore()
    await asyncio.sleep(4)  # its lease lapses

    seen: list[ScanProgress] = []

    async def follow(p: ScanProgress) -> None:
        seen.append(p)

    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db)
    async with running(worker):
        result = await run_scan(cfg, neo4j, config.name, on_progress=follow, ingest_timeout_s=180)
    assert (result.scan_id, result.stage, result.error) == (dead, "finished", None)
    stages = [p.stage for p in seen]
    assert stages.index("interrupted") < stages.index("resumed"), stages
    assert seen[stages.index("interrupted")].error == (
        "the process running the scan stopped; the scan resumes when it is back"
    )
    print(f"scan process killed with {acked_at_kill} tables acknowledged: taken over, finished")
    counts = await published(cfg, ingest.topics[0], dead)
    assert set(counts) == all_tables(config, LARGE_TABLES), "every table published"
    assert set(counts.values()) == {1}, "none published twice, across both processes"
    await same_as_information_schema(settings, neo4j, config)
    recorded = await get_scan(neo4j, db, dead)
    assert recorded and recorded["status"] == "finished"


async def _at_least(count: Awaitable[int], n: int) -> bool:
    return await count >= n
