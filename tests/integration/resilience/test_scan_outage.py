"""A scan across a Neo4j outage, through a fault proxy in front of the shared Neo4j: it waits
and finishes once the graph is back, or fails past its retry time with the outage in words."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from neo4j import AsyncDriver

from core.settings import ResilienceSettings, Settings
from core.sources import DataSourceConfig
from graph.driver import open_driver, read
from graph.scans import get_scan
from ingest.scan import ScanError, run_scan
from ingest.worker import Worker
from tests.factories import running
from tests.integration.ingest.test_scan import TABLES, estate, scan_settings  # noqa: F401
from tests.integration.resilience.proxy import FaultProxy

OUTAGE_S = 5


@pytest.fixture
async def proxy(settings: Settings) -> AsyncIterator[FaultProxy]:
    bolt = urlsplit(settings.neo4j.uri)
    async with FaultProxy(bolt.hostname or "127.0.0.1", bolt.port or 7687) as p:
        yield p


async def test_a_scan_waits_out_a_neo4j_outage_and_finishes(
    estate: list[DataSourceConfig],  # noqa: F811
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", scan_settings.source_password.get_secret_value())
    cfg = scan_settings.model_copy(
        update={"resilience": ResilienceSettings(backoff_initial_s=0.2, backoff_max_s=1)}
    )
    db = cfg.neo4j.database
    source = estate[0].name
    neo4j_cfg = cfg.neo4j.model_copy(update={"uri": f"bolt://127.0.0.1:{proxy.port}"})
    worker = Worker(cfg.ingest, cfg.kafka, neo4j, db)
    async with (
        open_driver(neo4j_cfg, max_transaction_retry_time=1) as through_proxy,
        running(worker),
    ):
        proxy.cut()
        scan = asyncio.create_task(run_scan(cfg, through_proxy, source, ingest_timeout_s=60))
        await asyncio.sleep(OUTAGE_S)
        assert not scan.done()
        proxy.restore()
        restored = time.monotonic()
        result = await asyncio.wait_for(scan, 120)
        print(
            f"neo4j outage {OUTAGE_S}s before a scan: done {time.monotonic() - restored:.1f}s after"
        )
    assert (result.stage, result.error) == ("finished", None)
    (row,) = await read(neo4j, db, TABLES, source=source)
    assert row["tables"] == result.tables > 0
    recorded = await get_scan(neo4j, db, result.scan_id)
    assert recorded and recorded["status"] == "finished"


async def test_past_its_retry_time_a_scan_fails_with_the_outage_in_words(
    estate: list[DataSourceConfig],  # noqa: F811
    scan_settings: Settings,  # noqa: F811
    proxy: FaultProxy,
) -> None:
    cfg = scan_settings.model_copy(
        update={"resilience": ResilienceSettings(backoff_initial_s=0.1, scan_retry_s=1)}
    )
    neo4j_cfg = cfg.neo4j.model_copy(update={"uri": f"bolt://127.0.0.1:{proxy.port}"})
    proxy.cut()
    async with open_driver(neo4j_cfg, max_transaction_retry_time=0.5) as through_proxy:
        with pytest.raises(ScanError) as refused:
            await run_scan(cfg, through_proxy, estate[0].name)
    assert str(refused.value) == (
        "interrupted: the graph database (Neo4j) is unreachable, and not back within 1s"
    )
