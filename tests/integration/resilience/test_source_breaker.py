"""A source's circuit breaker, with the source (the demo PostgreSQL database) behind a fault
proxy: three unreachable scans open it, the next scan is refused with the reason without
connecting, and once the reset time has passed a probe scan of the source, back, closes it.
The API shows it as Redis holds it: ``DataSource.circuitBreaker``, ``startScan`` refused with a
``CircuitOpenError``, and the count of open breakers on /metrics (never a source's name),
whichever process ran the scans."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis
from starlette.testclient import TestClient

from app.main import create_app
from core.settings import ResilienceSettings, Settings
from core.sources import DataSourceConfig
from core.urns import source_urn
from graph.sources import register_source
from ingest.breakers import PREFIX
from ingest.scan import run_scan
from ingest.worker import Worker
from security.auth import mint_token
from tests.factories import running
from tests.integration.ingest.test_scan import estate, scan_settings  # noqa: F401
from tests.integration.resilience.proxy import FaultProxy

RESET_S = 8
BREAKER = """query($id: ID!) {
  node(id: $id) { ... on DataSource { circuitBreaker { state failures reopensAt } } }
}"""
START = """mutation($source: String!) {
  startScan(source: $source) {
    scan { id }
    errors { __typename message ... on CircuitOpenError { reopensAt } }
  }
}"""


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    token = mint_token(settings.auth, "breaker-tester", ["admin"])
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def breaker(api: TestClient, source: str) -> dict[str, object]:
    r = api.post("/graphql", json={"query": BREAKER, "variables": {"id": source_urn(source)}})
    return r.json()["data"]["node"]["circuitBreaker"]


@pytest.fixture
async def postgres(
    estate: list[DataSourceConfig],  # noqa: F811
    settings: Settings,
    neo4j: AsyncDriver,
) -> AsyncIterator[tuple[DataSourceConfig, FaultProxy]]:
    """The demo PostgreSQL source registered behind a fault proxy."""
    config = next(c for c in estate if c.kind == "postgresql")
    async with FaultProxy(config.host, config.port) as proxy:
        behind = config.model_copy(update={"port": proxy.port})
        await register_source(neo4j, settings.neo4j.database, behind)
        yield behind, proxy
    async with Redis.from_url(settings.redis_url) as redis:
        await redis.delete(
            f"cbr::{PREFIX}{config.name}", f"cbr::{PREFIX}{config.name}::failure_count"
        )


async def test_a_failing_source_opens_its_breaker_until_a_probe_succeeds(
    postgres: tuple[DataSourceConfig, FaultProxy],
    scan_settings: Settings,  # noqa: F811
    neo4j: AsyncDriver,
    api: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATAWAVE_SOURCE_PASSWORD", scan_settings.source_password.get_secret_value())
    config, proxy = postgres
    cfg = scan_settings.model_copy(
        update={"resilience": ResilienceSettings(breaker_threshold=3, breaker_reset_s=RESET_S)}
    )
    worker = Worker(cfg.ingest, cfg.kafka, neo4j, cfg.neo4j.database)
    async with running(worker):
        proxy.cut()
        failed = [await run_scan(cfg, neo4j, config.name, ingest_timeout_s=60) for _ in range(3)]
        assert all("unreachable" in (r.error or "") for r in failed), [r.error for r in failed]

        proxy.restore()  # the source is back, but the breaker is open: refused without a try
        refused = await run_scan(cfg, neo4j, config.name, ingest_timeout_s=60)
        assert refused.stage == "failed"
        assert refused.error and refused.error.startswith(
            f"refused: source {config.name} failed 3 scans in a row"
        )
        assert "Error" not in refused.error

        shown = await asyncio.to_thread(breaker, api, config.name)
        assert (shown["state"], shown["failures"]) == ("OPEN", 3)
        reopens_at = datetime.fromisoformat(str(shown["reopensAt"]))
        r = await asyncio.to_thread(
            api.post, "/graphql", json={"query": START, "variables": {"source": config.name}}
        )
        payload = r.json()["data"]["startScan"]
        assert payload["scan"] is None
        (error,) = payload["errors"]
        assert error["__typename"] == "CircuitOpenError"
        assert datetime.fromisoformat(error["reopensAt"]) == reopens_at
        assert error["message"].startswith(f"refused: source {config.name} failed 3 scans")
        metrics = (await asyncio.to_thread(api.get, "/metrics")).text
        (open_now,) = re.findall(r'^datawave_source_breakers\{state="open"\} (\S+)$', metrics, re.M)
        assert float(open_now) >= 1 and config.name not in metrics

        await asyncio.sleep(RESET_S + 0.5)
        probe = await run_scan(cfg, neo4j, config.name, ingest_timeout_s=60)
        assert (probe.stage, probe.error) == ("finished", None)
        assert (await asyncio.to_thread(breaker, api, config.name))["state"] == "CLOSED"
        again = await run_scan(cfg, neo4j, config.name, ingest_timeout_s=60)
        assert again.stage == "finished"
