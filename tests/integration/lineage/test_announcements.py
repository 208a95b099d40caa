"""What lineage changes announce, through the worker and a relay: a dataset a scan finds as a
table, and an output a job stopped writing, reach ``catalogChanges`` subscribers and the
cached reads of them (whole responses holding a ``Dataset`` included) at once, not after
``DATAWAVE_CACHE_TTL_S``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from core.events import Event
from core.settings import IngestSettings, Settings
from core.sources import DataSourceConfig
from graph.batch import apply_batch
from graph.datasets import dataset_urn
from graph.sources import register_source
from ingest.openlineage.envelope import wrap
from ingest.producer import EventProducer
from live.cache import RESPONSE
from live.changes import CATALOG_CHANNEL
from tests.factories import Source, columns, eventually
from tests.integration.cleanup import drop_sources
from tests.integration.graphql.conftest import Execute, Served
from tests.integration.graphql.test_subscriptions import Subscriber
from tests.integration.ingest.test_ingest import ingest
from tests.integration.lineage.producers import run_event, table
from tests.integration.lineage.relayed import relayed

HEARD = """
subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) { type urn kind fields replacedBy }
}"""
# ``node`` is no root field of kept responses: the dataset is read through the asset cache.
ADOPTED = """
query ($dataset: ID!, $input: ID!) {
  node(id: $dataset) { __typename id }
  input: node(id: $input) { ... on Dataset { downstream { edges { node { id } } } } }
}"""
# Catalog data only, a Dataset among it: kept whole (resolvers/responses.py).
OUTPUT = """
query ($urn: ID!) {
  asset(urn: $urn) {
    id ... on Dataset { namespace fields { name } upstream { edges { node { id } } } }
  }
  lineage(urn: $urn, direction: UPSTREAM) { nodes { id } }
}"""


async def written(
    settings: Settings, ingest_cfg: IngestSettings, neo4j: AsyncDriver, events: list[Event]
) -> None:
    """``events`` written by a worker on the test's topics, which announces what they changed."""
    async with EventProducer(settings.kafka, ingest_cfg.topics[0]) as producer:
        await producer.publish_many(events)
    await ingest(ingest_cfg, settings, neo4j, len(events))


async def heard(sub: Subscriber, count: int) -> list[dict[str, Any]]:
    changes = [(await sub.next())["catalogChanges"] for _ in range(count)]
    return sorted(changes, key=lambda c: c["urn"])


def _ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


@pytest.mark.parametrize("crashed", [False, True], ids=["announced", "replayed"])
async def test_a_dataset_a_scan_finds_as_a_table_is_announced_replaced(
    served: Served,
    token: str,
    execute: Execute,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    unique: str,
    crashed: bool,
) -> None:
    """A job writes a PostgreSQL table on a server no source scans: a dataset of its own.
    Once a source there is registered and its scan finds the table, the dataset is announced
    REMOVED, replaced by the table (ADDED), and its input CHANGED lineage: a subscriber of
    any hears it, and reads cached before (the dataset, the input's downstream) follow at once.
    ``crashed``: a worker committed the scan's batch and died before announcing it; the batch
    replayed (no dataset left to adopt) announces the same."""
    db = settings.neo4j.database
    host, lake = f"{unique}.pg.invalid", f"s3://{unique}-lake"
    namespace = f"postgres://{host}:5432"
    dataset, upstream = dataset_urn(namespace, "shop.public.orders"), dataset_urn(lake, "raw/o")
    source = Source(unique, db="shop")
    orders = source.table_urn("orders")
    load = run_event(
        RunState.COMPLETE, str(uuid.uuid4()), (unique, "load"), 0,
        inputs=[(lake, "raw/o", {})], outputs=[(namespace, "shop.public.orders", {})],
    )  # fmt: skip
    try:
        await apply_batch(neo4j, db, [wrap(Serde.to_dict(load))])
        before = await execute(ADOPTED, dataset=dataset, input=upstream)  # read, and cached
        assert before["node"]["__typename"] == "Dataset"
        assert _ids(before["input"]["downstream"]) == [dataset]

        server = DataSourceConfig(name=unique, kind="postgresql", host=host, port=5432)
        await register_source(neo4j, db, server)
        scan = [*source.containers(), source.table("orders", columns("id:int"))]
        if crashed:  # the worker's write step; it dies before announcing
            await apply_batch(neo4j, db, scan)
        filter = {"urns": [dataset, upstream, orders]}
        async with (
            relayed(served, settings, ingest_cfg, unique),
            Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter=filter) as sub,
        ):
            await written(settings, ingest_cfg, neo4j, scan)
            changes = await heard(sub, 3)
        assert changes == [
            {"type": "REMOVED", "urn": dataset, "kind": "DATASET", "fields": [],
             "replacedBy": orders},
            {"type": "CHANGED", "urn": upstream, "kind": "DATASET", "fields": ["lineage"],
             "replacedBy": None},
            {"type": "ADDED", "urn": orders, "kind": "TABLE", "fields": [], "replacedBy": None},
        ]  # fmt: skip

        async def followed() -> bool:  # the relay invalidates as it broadcasts
            now = await execute(ADOPTED, dataset=dataset, input=upstream)
            return now["node"] is None and _ids(now["input"]["downstream"]) == [orders]

        await eventually(followed, timeout_s=10)
    finally:
        await drop_sources(settings, neo4j, unique, lake)


async def test_an_output_a_job_stopped_writing_is_announced(
    served: Served,
    token: str,
    execute: Execute,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    unique: str,
) -> None:
    """A job's run writes a topic, its next run another: the first topic's lineage ended, and
    it is announced CHANGED lineage. A response holding the dataset is kept whole, and the
    next read after the announcement answers the ended edge."""
    db = settings.neo4j.database
    lake, broker, job = f"s3://{unique}-lake", f"kafka://{unique}.broker:9092", (unique, "export")
    source, output = dataset_urn(lake, "raw/o"), dataset_urn(broker, "orders")

    def export(minutes: float, topic: str) -> Event:
        return wrap(Serde.to_dict(run_event(
            RunState.COMPLETE, str(uuid.uuid4()), job, minutes,
            inputs=[(lake, "raw/o", {})], outputs=[(broker, topic, table(topic, "id"))],
        )))  # fmt: skip

    try:
        await apply_batch(neo4j, db, [export(0, "orders")])
        before = await execute(OUTPUT, urn=output)
        assert _ids(before["asset"]["upstream"]) == [source]
        # Kept whole: the response is in the cache (its body names the dataset).
        redis = served.app.state.datawave.redis
        kept = [await redis.get(k) async for k in redis.scan_iter(f"{RESPONSE}*", count=1000)]
        assert any(output.encode() in (body or b"") for body in kept)

        async with (
            relayed(served, settings, ingest_cfg, unique),
            Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter={"urns": [output]}) as sub,
        ):
            await written(settings, ingest_cfg, neo4j, [export(10, "orders.v2")])
            changes = await heard(sub, 1)
        assert changes == [
            {"type": "CHANGED", "urn": output, "kind": "DATASET", "fields": ["lineage"],
             "replacedBy": None}
        ]  # fmt: skip

        async def ended() -> bool:  # the kept response, refreshed: the edge ended
            now = await execute(OUTPUT, urn=output)
            return now["lineage"]["nodes"] == [{"id": output}]

        await eventually(ended, timeout_s=10)
    finally:
        await drop_sources(settings, neo4j, unique, lake, broker)
