"""Scans of one source, replayed by a steward in a loop and an admin unregistering mid-scan.

Before: every ``startScan`` of one source was accepted, so one steward filled all the scan
slots of a replica with the same source (every other source's scan answered ``BusyError``, the
source got ``4 x poolSize`` connections), and an admin who unregistered a source while it was
being scanned was told it was gone, then saw it come back (``REACHABLE``, every table and column
live again) as soon as the scan's events were written. Now a source is held by its running scan
(or by an unregistration): ``SourceBusyError`` names the scan, at the door and in the scan itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver
from redis.asyncio import Redis

from core.settings import IngestSettings, Settings
from core.urns import source_urn
from graph.driver import read
from graph.scans import UNREGISTERED, finish_scan, get_scan, start_scan, unfinished_scans
from graph.sources import get_source, register_source, unregister_source
from ingest.registration import source_config, unregister
from ingest.scan import UNREGISTERING, run_scan, source_claimed
from ingest.worker import Worker
from tests.factories import eventually, running
from tests.integration.databases import postgres_database
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import serve
from tests.integration.kafka import end_offsets
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
LIVE = "MATCH (a:Asset {source: $source}) WHERE a.removedAt IS NULL RETURN count(a) AS n"


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


async def test_a_scan_that_gave_up_on_ingest_does_not_bring_its_unregistered_source_back(
    estate: Estate,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    admin: AIOKafkaAdminClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`datawave scan` gave up waiting for ingest (no worker) and let go of its source, its
    events still on Kafka: the source, unregistered then, came back (reachable, its tables
    live) once a worker started. The unregistration voids the scan; workers drop its events."""
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    name, db = estate.name, settings.neo4j.database
    own = settings.model_copy(update={"ingest": ingest_cfg})
    config = source_config(
        {"name": name, "kind": "postgresql", "user": "datawave", "databases": [name],
         "secret_ref": f"env:{PASSWORD_ENV}"}
    )  # fmt: skip
    async with postgres_database(settings.source_password.get_secret_value(), name) as pg:
        await pg.execute("CREATE TABLE orders (id int PRIMARY KEY, email text)")
        await register_source(neo4j, db, config)
        result = await run_scan(own, neo4j, name, ingest_timeout_s=1)
    assert (result.stage, result.tables) == ("failed", 1), result
    assert "ingest did not finish" in (result.error or "")

    producer = AIOKafkaProducer(**settings.kafka.client_options())
    await producer.start()
    try:
        async with Redis.from_url(settings.redis_url) as redis:
            topic = ingest_cfg.changes_topic
            assert await unregister(neo4j, db, producer, topic, name, redis) == []
    finally:
        await producer.stop()

    worker = Worker(ingest_cfg, settings.kafka, neo4j, db)
    ends = await end_offsets(own, ingest_cfg.topics[0])
    assert sum(ends.values()) == result.events

    async def drained() -> bool:
        committed = await admin.list_consumer_group_offsets(ingest_cfg.group_id)
        return all(end == 0 or (tp in committed and committed[tp].offset >= end)
                   for tp, end in ends.items())  # fmt: skip

    async with running(worker):
        await eventually(drained, 60)
    assert await get_source(neo4j, db, name) is None
    assert (await read(neo4j, db, LIVE, source=name))[0]["n"] == 0
    assert worker.stats.voided == result.events


async def test_an_unregistration_leaves_no_scan_to_take_over(
    estate: Estate, settings: Settings, neo4j: AsyncDriver
) -> None:
    """A scan whose process died is taken over by the next scan of its source; once voided by
    an unregistration it must not be (under its id all the next scan sent would be dropped)."""
    name, db, scan_id = estate.name, settings.neo4j.database, str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": name, "kind": "postgresql"}))
    await start_scan(neo4j, db, scan_id, name, source_urn(name))
    assert await unfinished_scans(neo4j, db, name) == [scan_id]
    assert await unregister_source(neo4j, db, name) == []
    assert await unfinished_scans(neo4j, db, name) == []


async def test_an_unregistration_ends_the_scans_whose_process_died(
    estate: Estate, settings: Settings, ingest_cfg: IngestSettings, neo4j: AsyncDriver
) -> None:
    """A scan whose process died (no lease), its source then unregistered, was voided and so
    never taken over: it read ``running`` in the source's scan history for ever. It ends
    ``failed``, saying why; a scan whose lease is alive is left to its process to end."""
    name, db = estate.name, settings.neo4j.database
    dead, live = str(uuid.uuid4()), str(uuid.uuid4())
    await register_source(neo4j, db, source_config({"name": name, "kind": "postgresql"}))
    for scan_id in (dead, live):
        await start_scan(neo4j, db, scan_id, name, source_urn(name))
    producer = AIOKafkaProducer(**settings.kafka.client_options())
    await producer.start()
    try:
        async with Redis.from_url(settings.redis_url) as redis:
            await redis.set(f"datawave:scan-lease:{live}", "1", px=60_000)  # as _hold_lease does
            try:
                await unregister(neo4j, db, producer, ingest_cfg.changes_topic, name, redis)
                # Read while the lease lives: a worker's sweep ends it once it lapses.
                ended, running_still = (
                    await get_scan(neo4j, db, dead),
                    await get_scan(neo4j, db, live),
                )
            finally:
                await redis.delete(f"datawave:scan-lease:{live}")
    finally:
        await producer.stop()
    assert ended and running_still
    assert (ended["status"], ended["stage"], ended["error"]) == ("failed", "failed", UNREGISTERED)
    assert ended["finishedAt"] is not None and ended["voidedAt"] is not None
    assert (running_still["status"], running_still.get("finishedAt")) == ("running", None)
    assert running_still["voidedAt"] is not None
    await finish_scan(neo4j, db, live, status="finished")  # its process ends it, as it would
    assert (await get_scan(neo4j, db, live) or {})["status"] == "finished"
