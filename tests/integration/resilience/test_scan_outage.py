"""A scan across a Neo4j outage, through a fault proxy in front of the shared Neo4j: it says it
is interrupted, waits, resumes and finishes once the graph is back, or fails past its retry
time with the outage in words."""

from __future__ import annotations

import asyncio
import time

import pytest
from neo4j import AsyncDriver

from core.settings import ResilienceSettings, Settings
from core.sources import DataSourceConfig
from graph.driver import open_driver, read
from graph.scans import get_scan
from ingest.scan import ScanError, ScanProgress, run_scan
from ingest.worker import Worker
from tests.factories import running
from tests.integration.ingest.test_scan import TABLES, estate, scan_settings  # noqa: F401
from tests.integration.resilience.proxy import FaultProxy

OUTAGE_S = 5


async def test_a_scan_waits_out_a_neo4j_outage_and_finishes(
    estate: list[DataSourceConfig],  # noqa: F811
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    neo4j_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", scan_settings.source_password.get_secret_value())
    cfg = scan_settings.model_copy(
        update={"resilience": ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1)}
    )
    db = cfg.neo4j.database
    source = estate[0].name
    neo4j_cfg = cfg.neo4j.model_copy(update={"uri": neo4j_proxy.url(cfg.neo4j.uri)})
    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db)
    seen: list[ScanProgress] = []

    async def collect(p: ScanProgress) -> None:
        seen.append(p)

    async with (
        open_driver(neo4j_cfg, max_transaction_retry_time=1) as through_proxy,
        running(worker),
    ):
        neo4j_proxy.cut()
        scan = asyncio.create_task(
            run_scan(cfg, through_proxy, source, on_progress=collect, ingest_timeout_s=60)
        )
        await asyncio.sleep(OUTAGE_S)
        assert not scan.done()
        neo4j_proxy.restore()
        restored = time.monotonic()
        result = await asyncio.wait_for(scan, 120)
        print(
            f"neo4j outage {OUTAGE_S}s before a scan: done {time.monotonic() - restored:.1f}s after"
        )
    assert (result.stage, result.error) == ("finished", None)
    stages = [p.stage for p in seen]
    assert stages[:2] == ["interrupted", "resumed"] and stages[-1] == "finished", stages
    assert seen[0].error == (
        "the graph database (Neo4j) is unreachable; the scan resumes when it is back"
    )
    (row,) = await read(neo4j, db, TABLES, source=source)
    assert row["tables"] == result.tables > 0
    recorded = await get_scan(neo4j, db, result.scan_id)
    assert recorded and (recorded["status"], recorded["interruptions"]) == ("finished", 1)


async def test_past_its_retry_time_a_scan_fails_with_the_outage_in_words(
    estate: list[DataSourceConfig],  # noqa: F811
    scan_settings: Settings,  # noqa: F811
    neo4j_proxy: FaultProxy,
) -> None:
    cfg = scan_settings.model_copy(
        update={"resilience": ResilienceSettings(backoff_initial_s=0.1, scan_retry_s=1)}
    )
    neo4j_cfg = cfg.neo4j.model_copy(update={"uri": neo4j_proxy.url(cfg.neo4j.uri)})
    neo4j_proxy.cut()
    async with open_driver(neo4j_cfg, max_transaction_retry_time=0.5) as through_proxy:
        with pytest.raises(ScanError) as refused:
            await run_scan(cfg, through_proxy, estate[0].name)
    assert str(refused.value) == (
        "interrupted: the graph database (Neo4j) is unreachable, and not back within 1s"
    )
