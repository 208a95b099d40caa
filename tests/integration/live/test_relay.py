"""The change relay: an asset change on Kafka reaches live subscribers and search once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from core.events import ASSET_CHANGED, AssetChanged, make_event
from core.settings import Settings
from core.urns import source_urn
from ingest.producer import EventProducer
from live.changes import CATALOG_CHANNEL
from live.relay import ChangeRelay
from live.search import INDEX, SearchUnavailable, search
from live.state import AppState, open_state
from tests.factories import eventually
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate


@pytest.fixture
async def state(settings: Settings) -> AsyncIterator[AppState]:
    async with open_state(settings) as s:
        yield s


@pytest.fixture
async def topic(admin: AIOKafkaAdminClient, unique: str) -> AsyncIterator[str]:
    name = f"{unique}.changes"
    await admin.create_topics([NewTopic(name, 2, 1)])
    yield name
    await admin.delete_topics([name])


async def test_a_change_is_broadcast_and_indexed(
    state: AppState, topic: str, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    estate = Estate(unique)
    urn = estate.table("shipments", ("id", "tracking_number"))
    await estate.write(neo4j, settings.neo4j.database)
    relay = ChangeRelay(state, topic=topic, group_id=unique)
    task = asyncio.create_task(relay.run())
    try:

        async def assigned() -> bool:
            return relay.ready()

        await eventually(assigned, timeout_s=30)
        async with state.broadcast.subscribe(CATALOG_CHANNEL) as live:
            async with EventProducer(settings.kafka, topic) as producer:
                event = make_event(
                    ASSET_CHANGED, source_urn(unique), urn, AssetChanged(change="added")
                )
                await producer.publish(event)
                await producer.publish(event.model_copy(update={"type": "datawave.other.v1"}))
            async with asyncio.timeout(15):
                message = await anext(live)
                while message["urn"] != urn:
                    message = await anext(live)
        assert message["type"] == "added" and message["kind"] == "table"

        async def indexed() -> bool:  # search is refreshed right after the broadcast
            hits = await search(state.opensearch, "tracking number", source=unique)
            return [h.urn for h in hits] == [urn]

        await eventually(indexed, timeout_s=10)
        assert (relay.stats.changes, relay.stats.skipped) == (1, 1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await state.opensearch.delete(index=INDEX, id=urn, ignore=[404], refresh=True)
        await drop_sources(settings, neo4j, unique)


async def test_a_relay_stopped_while_it_starts_leaves_the_group(
    state: AppState, topic: str, admin: AIOKafkaAdminClient, unique: str
) -> None:
    """An API shut down moments after it started (a failed deploy, a test) must not leave its
    relay in the consumer group: a member that never rejoins stalls every rebalance of the
    other replicas' relays, and with them search indexing and cache invalidation."""
    for step in range(40):  # stopped at every moment of its start, one after the other
        task = asyncio.create_task(ChangeRelay(state, topic=topic, group_id=unique).run())
        await asyncio.sleep(step * 0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def members() -> list[str]:
        (described,) = (await admin.describe_consumer_groups([unique]))[0].groups
        return [member[0] for member in described[5]]

    await asyncio.sleep(12)  # past the session timeout (10 s) of anything still heartbeating
    assert await members() == []


async def test_an_index_deleted_after_its_fill_is_created_again_with_its_mapping_and_filled(
    state: AppState, topic: str, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """Someone deleted the live search index after the relay had filled it: the relay's next
    refresh re-created it, OpenSearch guessing its mapping (``urn`` as text, no ``simple``
    analyzer: scoped searches and ranking wrong), and only the changed table was in it, until
    the relay restarted. It is created again with DataWave's mapping and filled from the graph."""
    index = f"{unique}-assets"
    estate = Estate(unique)
    shipments = estate.table("shipments", ("id", "tracking_number"))
    invoices = estate.table("invoices", ("id", "invoice_total"))
    await estate.write(neo4j, settings.neo4j.database)
    relay = ChangeRelay(state, topic=topic, group_id=unique, index=index)
    task = asyncio.create_task(relay.run())
    client = state.opensearch
    try:

        async def filled() -> bool:
            if not (relay.ready() and await client.indices.exists(index=index)):
                return False
            mapping = (await client.indices.get_mapping(index=index))[index]["mappings"]
            return "filledFromGraphAt" in mapping.get("_meta", {})

        await eventually(filled, timeout_s=120)
        await client.indices.delete(index=index)
        async with EventProducer(settings.kafka, topic) as producer:
            changed = AssetChanged(change="changed", fields=["description"])
            event = make_event(ASSET_CHANGED, source_urn(unique), shipments, changed)
            await producer.publish(event)

        async def both_found() -> bool:
            try:
                hits = [
                    *await search(client, "tracking number", source=unique, index=index),
                    *await search(client, "invoice total", source=unique, index=index),
                ]
            except SearchUnavailable:  # while the index is deleted and created again
                return False
            return {h.urn for h in hits} == {shipments, invoices}

        await eventually(both_found, timeout_s=120)
        mapping = (await client.indices.get_mapping(index=index))[index]["mappings"]
        assert mapping["properties"]["urn"] == {"type": "keyword"}
        assert mapping["properties"]["name"]["analyzer"] == "simple"
        scoped = await search(client, "invoices", sources=frozenset({unique}), index=index)
        assert [h.urn for h in scoped] == [invoices]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.indices.delete(index=index, ignore_unavailable=True)
        await drop_sources(settings, neo4j, unique)
