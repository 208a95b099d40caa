"""A worker that dies between its commit and its announcement: Kafka replays the batch, and
the replay announces what the batch did again, through the worker and a relay, to
``catalogChanges`` subscribers and the cached reads of the tables (docs/ingest.md, Delivery)."""

from __future__ import annotations

import pytest
from neo4j import AsyncDriver

from core.events import Event
from core.settings import IngestSettings, Settings
from graph.batch import apply_batch
from live.changes import CATALOG_CHANNEL
from tests.factories import Source, columns, eventually, shop
from tests.integration.graphql.conftest import Execute, Served
from tests.integration.graphql.test_subscriptions import Subscriber
from tests.integration.lineage.relayed import relayed
from tests.integration.lineage.test_announcements import HEARD, heard, written

TABLE = "query ($urn: ID!) { asset(urn: $urn) { id ... on Table { removedAt } } }"


def _heard(type: str, urn: str) -> dict[str, object]:
    return {"type": type, "urn": urn, "kind": "TABLE", "fields": [], "replacedBy": None}


@pytest.mark.parametrize("crashed", [False, True], ids=["announced", "replayed"])
async def test_a_listing_announces_the_tables_it_removed_and_brought_back(
    served: Served,
    token: str,
    execute: Execute,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    source: Source,
    crashed: bool,
) -> None:
    """A schema's listing without ``orders`` removes it, a later one that lists it again
    brings it back: a subscriber hears REMOVED, then ADDED, and a cached read of the table
    follows each at once. ``crashed``: a worker committed each listing's batch and died
    before announcing it; the batch replayed (nothing left to change) announces the same."""
    db, orders = settings.neo4j.database, source.table_urn("orders")
    await apply_batch(neo4j, db, shop(source))
    assert (await execute(TABLE, urn=orders))["asset"]["removedAt"] is None  # read, and cached

    async def announced(listing: Event, change: str) -> None:
        if crashed:  # the worker's write step; it dies before announcing
            await apply_batch(neo4j, db, [listing])
        async with (
            relayed(served, settings, ingest_cfg, f"{source.name}.{change}"),
            Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter={"urns": [orders]}) as sub,
        ):
            await written(settings, ingest_cfg, neo4j, [listing])
            assert await heard(sub, 1) == [_heard(change, orders)]

    await announced(source.at(10).scanned("customers", "big_orders"), "REMOVED")

    async def removed() -> bool:  # the relay invalidates as it broadcasts
        return (await execute(TABLE, urn=orders))["asset"]["removedAt"] is not None

    await eventually(removed, timeout_s=10)

    await announced(source.at(20).scanned("customers", "orders", "big_orders"), "ADDED")

    async def back() -> bool:
        return (await execute(TABLE, urn=orders))["asset"]["removedAt"] is None

    await eventually(back, timeout_s=10)


@pytest.mark.parametrize("rescanned", [False, True], ids=["once", "rescanned"])
async def test_a_replayed_snapshot_of_a_new_table_is_announced_added(
    served: Served,
    token: str,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    source: Source,
    rescanned: bool,
) -> None:
    """The batch that discovered a table, committed by a worker that died before announcing
    it, replayed: the table is announced ADDED again, not CHANGED, so a subscriber of new
    tables hears of it. ``rescanned``: a later scan's snapshot of it came in the same batch
    (the first one is stale when replayed)."""
    db, orders = settings.neo4j.database, source.table_urn("orders")
    found = [*source.containers(), source.table("orders", columns("id:int"))]
    if rescanned:
        found.append(source.at(5).table("orders", columns("id:int")))
    await apply_batch(neo4j, db, found)  # the worker's write step; it dies before announcing
    async with (
        relayed(served, settings, ingest_cfg, source.name),
        Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter={"urns": [orders]}) as sub,
    ):
        await written(settings, ingest_cfg, neo4j, found)
        assert await heard(sub, 1) == [_heard("ADDED", orders)]
