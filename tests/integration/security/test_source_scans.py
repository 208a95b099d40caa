"""Scans of one source, replayed by a steward in a loop and an admin unregistering mid-scan.

Before: every ``startScan`` of one source was accepted, so one steward filled all the scan
slots of a replica with the same source (every other source's scan answered ``BusyError``, the
source got ``4 x poolSize`` connections), and an admin who unregistered a source while it was
being scanned was told it was gone, then saw it come back (``REACHABLE``, every table and column
live again) as soon as the scan's events were written. Now a source is held by its running scan
(or by an unregistration): ``SourceBusyError`` names the scan, at the door and in the scan itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import IngestSettings, Settings
from ingest.scan import UNREGISTERING, run_scan, source_claimed
from ingest.worker import Worker
from tests.factories import eventually, running
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import serve
from tests.integration.security.conftest import Api

PASSWORD_ENV = "DATAWAVE_SOURCE_SCAN_SUITE"
REGISTER = """
mutation ($input: DataSourceInput!) {
  registerDataSource(input: $input) { errors { __typename message } }
}
"""
BUSY = "errors { __typename message ... on SourceBusyError { scanId } }"
SCAN = f"mutation ($source: String!) {{ startScan(source: $source) {{ scanId {BUSY} }} }}"
UNREGISTER = f"""
mutation ($source: String!) {{ unregisterDataSource(source: $source) {{ removedAssets {BUSY} }} }}
"""
SCAN_BY_ID = "query ($id: ID!) { scan(id: $id) { status progress { stage } } }"
SOURCES = "{ dataSources(first: 100) { edges { node { name } } } }"
ASSETS = "query ($source: String!) { assets(filter: {source: $source}, first: 1) { totalCount } }"


async def stage(api: Api, token: str, scan_id: str) -> tuple[str, str | None]:
    scan = (await api.graphql(token, SCAN_BY_ID, id=scan_id))["data"]["scan"]
    return scan["status"], (scan["progress"] or {}).get("stage")


def busy(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["__typename"], e.get("scanId")) for e in payload["errors"]]


async def test_a_source_runs_one_scan_and_is_not_unregistered_under_it(
    api: Api,
    estate: Estate,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    name = estate.name
    own = api.served.app.state.datawave.settings.model_copy(update={"ingest": ingest_cfg})
    worker = Worker(ingest_cfg, settings.kafka, neo4j, settings.neo4j.database)
    async with serve(own) as served, api.on(served):
        admin, steward = api.token("admin"), api.token("steward")
        source = {
            "name": name, "kind": "postgresql", "user": "datawave", "databases": ["billing"],
            "secretRef": f"env:{PASSWORD_ENV}",
        }  # fmt: skip
        body = await api.graphql(admin, REGISTER, input=source)
        assert body["data"]["registerDataSource"]["errors"] == [], body
        first = (await api.graphql(steward, SCAN, source=name))["data"]["startScan"]
        scan_id = first["scanId"]
        assert first["errors"] == [] and scan_id

        async def waits_for_ingest() -> bool:  # no worker yet: discovered, waiting to be written
            return await stage(api, steward, scan_id) == ("RUNNING", "INGEST")

        await eventually(waits_for_ingest, 60)
        for _ in range(3):  # a steward's loop
            again = (await api.graphql(steward, SCAN, source=name))["data"]["startScan"]
            assert again["scanId"] is None and busy(again) == [("SourceBusyError", scan_id)]
        gone = (await api.graphql(admin, UNREGISTER, source=name))["data"]["unregisterDataSource"]
        assert gone["removedAssets"] is None and busy(gone) == [("SourceBusyError", scan_id)]

        async with running(worker):

            async def finished() -> bool:
                return (await stage(api, steward, scan_id))[0] == "FINISHED"

            await eventually(finished, 60)
            gone = await api.graphql(admin, UNREGISTER, source=name)
            assert gone["data"]["unregisterDataSource"]["errors"] == [], gone
            assert gone["data"]["unregisterDataSource"]["removedAssets"] > 12  # billing's tables
            # What the scan sent is all written: nothing brings the source back.
            again = (await api.graphql(steward, SCAN, source=name))["data"]["startScan"]
            assert [e["__typename"] for e in again["errors"]] == ["NotFoundError"]
        listed = (await api.graphql(admin, SOURCES))["data"]["dataSources"]["edges"]
        assert name not in [s["node"]["name"] for s in listed]
        assets = await api.graphql(admin, ASSETS, source=name)
        assert assets["data"]["assets"]["totalCount"] == 0


async def test_a_scan_starting_while_its_source_is_unregistered_is_refused(
    settings: Settings, neo4j: AsyncDriver, unique: str
) -> None:
    """The scan holds its source before reading it: an unregistration under way refuses it
    (``datawave scan`` and a scan the API started alike), and it writes nothing."""
    async with Redis.from_url(settings.redis_url) as redis:
        async with source_claimed(redis, unique, UNREGISTERING):
            result = await run_scan(settings, neo4j, unique)
        assert (result.stage, result.error) == (
            "failed",
            f"refused: source {unique} is being unregistered",
        )
        async with source_claimed(redis, unique, "another"):  # nothing is left holding it
            pass
