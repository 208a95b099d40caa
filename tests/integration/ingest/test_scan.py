"""A scan end to end: demo databases -> connectors -> Kafka -> worker -> Neo4j, with progress."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from neo4j import AsyncDriver

from app.cli.sources import print_summary
from core.events import TABLE_DISCOVERED, parse_event
from core.sample_cipher import SampleCipher
from core.settings import IngestSettings, Settings
from core.sources import DataSourceConfig
from core.urns import source_urn
from devstack.demo import PASSWORD_ENV, USER, demo_sources, drop_demo, load_demo
from graph.driver import read, write
from graph.scans import get_scan, start_scan
from graph.sources import get_source, register_source
from ingest.connectors.base import Failure
from ingest.scan import ScanError, ScanProgress, run_scan
from ingest.worker import Worker
from resolvers.sources.scans import Scan
from tests.factories import running
from tests.integration.databases import postgres_database
from tests.integration.ingest.test_ingest import read_all

TABLES = """
MATCH (t:Table {source: $source}) WHERE t.removedAt IS NULL
RETURN count(t) AS tables, sum(CASE t.kind WHEN 'view' THEN 1 ELSE 0 END) AS views
"""
CLEANUP = """
MATCH (n) WHERE n.source STARTS WITH $prefix OR n.urn STARTS WITH 'urn:dw:source:' + $prefix
DETACH DELETE n
"""


@pytest.fixture
async def estate(
    settings: Settings, neo4j: AsyncDriver, unique: str
) -> AsyncIterator[list[DataSourceConfig]]:
    """The demo estate under this test's prefix, registered as sources named after it."""
    password = settings.source_password.get_secret_value()
    await load_demo(password, prefix=f"{unique}_")
    regs = [
        c.model_copy(update={"name": f"{unique}-{c.name}"})
        for c in demo_sources(prefix=f"{unique}_")
    ]
    for reg in regs:
        await register_source(neo4j, settings.neo4j.database, reg)
    yield regs
    await drop_demo(password, prefix=f"{unique}_")
    await write(neo4j, settings.neo4j.database, CLEANUP, prefix=unique)


@pytest.fixture
def scan_settings(settings: Settings, ingest_cfg: IngestSettings) -> Settings:
    return settings.model_copy(update={"ingest": ingest_cfg})


async def test_scanning_the_demo_estate_fills_the_graph(
    estate: list[DataSourceConfig],
    scan_settings: Settings,
    neo4j: AsyncDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", scan_settings.source_password.get_secret_value())
    db = scan_settings.neo4j.database
    worker = Worker(scan_settings.ingest, scan_settings.kafka, neo4j, db)
    updates: list[ScanProgress] = []

    async def collect(p: ScanProgress) -> None:
        updates.append(p)

    async with running(worker):
        results = [
            await run_scan(scan_settings, neo4j, reg.name, on_progress=collect, ingest_timeout_s=60)
            for reg in estate
        ]
    assert [r.stage for r in results] == ["finished"] * 3, [r.error for r in results]
    total = 0
    for reg, result in zip(estate, results, strict=True):
        (row,) = await read(neo4j, db, TABLES, source=reg.name)
        assert row["tables"] == result.tables > 0
        total += row["tables"]
        assert (await get_source(neo4j, db, reg.name))["status"] == "reachable"
        scan = await get_scan(neo4j, db, result.scan_id)
        assert scan and scan["status"] == "finished" and scan["tables"] == result.tables
    assert total == 50, "the default demo estate has 50 tables, views and collections"
    stages = [u.stage for u in updates]
    assert stages[0] == "validate" and stages[-1] == "finished"
    assert "ingest" in stages
    percents = [u.percent for u in updates if u.source == estate[0].name]
    assert percents == sorted(percents) and percents[-1] == 100.0


async def test_an_unreachable_source_fails_its_scan_and_is_marked(
    scan_settings: Settings, neo4j: AsyncDriver, unique: str
) -> None:
    db = scan_settings.neo4j.database
    reg = DataSourceConfig(name=unique, kind="postgresql", host="127.0.0.1", port=1)
    await register_source(neo4j, db, reg)
    worker = Worker(scan_settings.ingest, scan_settings.kafka, neo4j, db)
    try:
        async with running(worker):
            result = await run_scan(scan_settings, neo4j, unique, ingest_timeout_s=30)
        assert result.stage == "failed"
        assert "unreachable" in (result.error or "")
        assert (await get_scan(neo4j, db, result.scan_id))["status"] == "failed"
    finally:
        await write(neo4j, db, CLEANUP, prefix=unique)


async def test_what_a_scan_could_not_do_fully_is_kept_as_its_warnings(
    scan_settings: Settings,
    neo4j: AsyncDriver,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A materialized view never refreshed is catalogued unprofiled: the scan finishes, and
    says so (its report's failures were kept nowhere, so a partial scan read as a clean one)."""
    password = scan_settings.source_password.get_secret_value()
    monkeypatch.setenv(PASSWORD_ENV, password)
    db = scan_settings.neo4j.database
    worker = Worker(scan_settings.ingest, scan_settings.kafka, neo4j, db)
    async with postgres_database(password, unique) as conn:
        await conn.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, total numeric);"
            "CREATE MATERIALIZED VIEW totals AS SELECT sum(total) AS total FROM orders WITH NO DATA"
        )
        reg = DataSourceConfig(
            name=unique, kind="postgresql", port=5432, user=USER,
            secret_ref=f"env:{PASSWORD_ENV}", databases=[unique],
        )  # fmt: skip
        await register_source(neo4j, db, reg)
        try:
            async with running(worker):
                result = await run_scan(scan_settings, neo4j, unique, ingest_timeout_s=60)
            stored = await get_scan(neo4j, db, result.scan_id)
        finally:
            await write(neo4j, db, CLEANUP, prefix=unique)
    assert result.stage == "finished" and result.tables == 2, result.error
    (warning,) = result.warnings
    # The kind of failure, as the source's lastError: the driver's words go to the log.
    assert warning == f"table {unique}.public.totals: catalogued unprofiled: {Failure.UNREADABLE}"
    assert stored is not None
    scan = Scan.from_props(stored)
    assert (scan.warnings, scan.warning_count) == ([warning], 1), "as the API reads it"
    print_summary([result])
    assert f"{unique}: 1 warning(s)" in capsys.readouterr().out


async def test_an_unknown_source_is_a_clear_error(settings: Settings, neo4j: AsyncDriver) -> None:
    with pytest.raises(ScanError, match="register it first"):
        await run_scan(settings, neo4j, "no-such-source-anywhere")


async def test_a_scan_of_a_source_unregistered_since_it_was_recorded_fails(
    settings: Settings, neo4j: AsyncDriver, unique: str
) -> None:
    """``startScan`` records the scan before its task reads the source; one unregistered in
    between stayed ``running`` for ever, and its subscribers waited for an end never sent."""
    db, scan_id = settings.neo4j.database, str(uuid.uuid4())
    await start_scan(neo4j, db, scan_id, unique, source_urn(unique))  # as startScan does
    try:
        with pytest.raises(ScanError, match="register it first"):
            await run_scan(settings, neo4j, unique, scan_id=scan_id)
        stored = await get_scan(neo4j, db, scan_id)
    finally:
        await write(neo4j, db, CLEANUP, prefix=unique)
    assert stored is not None and stored["status"] == "failed", stored
    assert "register it first" in stored["error"]


async def test_a_scan_puts_no_sample_on_kafka_in_clear(
    estate: list[DataSourceConfig],
    scan_settings: Settings,
    neo4j: AsyncDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The raw discovery topic of a real scan: every table's samples are sealed (the worker
    reads none), and opened with the keyring they are values the raw records do not contain,
    but for the profiles' min and max, which the graph keeps (masked by the API)."""
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", scan_settings.source_password.get_secret_value())
    db = scan_settings.neo4j.database
    async with running(Worker(scan_settings.ingest, scan_settings.kafka, neo4j, db)):
        results = [
            await run_scan(scan_settings, neo4j, reg.name, ingest_timeout_s=60) for reg in estate
        ]
    assert [r.stage for r in results] == ["finished"] * 3, [r.error for r in results]
    topic = scan_settings.ingest.topics[0]
    records = await read_all(scan_settings, topic, sum(r.events for r in results))
    cipher = SampleCipher.from_settings(scan_settings.kafka)
    opened = []
    for record in records:
        event = parse_event(record.value)
        if event.type != TABLE_DISCOVERED:
            continue
        assert all(c.samples == [] for c in event.data.columns), "no sample in clear"
        profiled = {
            v for c in event.data.columns if c.profile for v in (c.profile.min, c.profile.max)
        }
        samples = [s for c in cipher.open(event).data.columns for s in c.samples if len(s) > 5]
        leaked = [s for s in samples if orjson.dumps(s) in record.value and s not in profiled]
        assert not leaked
        opened += samples
    assert any("@" in s for s in opened), "the demo's emails were sampled, and travelled sealed"
