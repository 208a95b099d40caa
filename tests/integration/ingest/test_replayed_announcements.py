"""A worker that dies between its commit and its announcement: Kafka replays the batch, and
the replay announces what the batch did again, through the worker and a relay, to
``catalogChanges`` subscribers and the cached reads of the tables (docs/ingest.md, Delivery)."""

from __future__ import annotations

import pytest
from neo4j import AsyncDriver

from core.events import CONTAINER_SCANNED, ContainerScanned, Event, make_event
from core.settings import IngestSettings, Settings
from core.urns import Urn, database_urn
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


CONTAINER = "query ($urn: ID!) { asset(urn: $urn) { id ... on Schema { removedAt } } }"


def _retired(source: Source, level: str) -> tuple[Event, list[str]]:
    """A listing of the source's database (``level``: its schemas) or of the source itself
    (its databases) that finds none, ten minutes on; and the containers it retires."""
    database = database_urn(source.name, source.db)
    subject, gone = {
        "database": (database, [source.schema_urn]),
        "source": (source.urn, [database, source.schema_urn]),
    }[level]
    listing = make_event(CONTAINER_SCANNED, source.urn, subject, ContainerScanned(children=[]))
    return listing.model_copy(update={"time": source.at(10).time}), gone


@pytest.mark.parametrize("level", ["database", "source"])
@pytest.mark.parametrize("crashed", [False, True], ids=["announced", "replayed"])
async def test_a_listing_announces_the_containers_it_retired_with_their_tables(
    served: Served,
    token: str,
    execute: Execute,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    source: Source,
    crashed: bool,
    level: str,
) -> None:
    """A database's listing without its schema (``level``: a source's without its database)
    soft-deletes the schema (and the database) with its tables: a subscriber of the database
    hears each REMOVED, the containers too; discovered again, the containers are ADDED (their
    tables come back with their own snapshots). A cached read of the schema follows each at
    once. ``crashed``: the worker committed each batch and died before announcing it; the
    batch replayed (nothing left to change) announces the same."""
    db, schema = settings.neo4j.database, source.schema_urn
    await apply_batch(neo4j, db, shop(source))
    assert (await execute(CONTAINER, urn=schema))["asset"]["removedAt"] is None  # and cached
    listing, gone = _retired(source, level)

    async def announced(events: list[Event], change: str, urns: list[str]) -> None:
        if crashed:  # the worker's write step; it dies before announcing
            await apply_batch(neo4j, db, events)
        within = {"within": [database_urn(source.name, source.db)]}
        async with (
            relayed(served, settings, ingest_cfg, f"{source.name}.{level}.{change}"),
            Subscriber(served, token, HEARD, CATALOG_CHANNEL, filter=within) as sub,
        ):
            await written(settings, ingest_cfg, neo4j, events)
            expected = [_heard(change, u) | {"kind": Urn.parse(u).kind.upper()} for u in urns]
            assert await heard(sub, len(urns)) == sorted(expected, key=lambda c: str(c["urn"]))

    async def removed() -> bool:  # the relay invalidates as it broadcasts
        return (await execute(CONTAINER, urn=schema))["asset"]["removedAt"] is not None

    tables = [source.table_urn(t) for t in ("big_orders", "customers", "orders")]
    await announced([listing], "REMOVED", tables + gone)
    await eventually(removed, timeout_s=10)

    async def back() -> bool:
        return not await removed()

    await announced(source.at(20).containers(), "ADDED", gone)
    await eventually(back, timeout_s=10)
