"""The ``text`` filter of asset pages finds what ingest wrote, in any case, by name or by
description: it reads the lower-cased copies the writers keep behind TEXT indexes (migration
0013), so a table or column written without them would silently never match."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from core.events import Event
from core.settings import Settings
from graph.batch import apply_batch
from graph.catalog import AssetFilter, AssetKind, AssetSort, page_assets
from tests.factories import Source, shop


def described(event: Event, description: str) -> Event:
    return event.model_copy(
        update={"data": event.data.model_copy(update={"description": description})}
    )


async def found(neo4j: AsyncDriver, db: str, source: Source, **filter: Any) -> list[str]:
    where = AssetFilter(source=source.name, **filter)
    page = await page_assets(neo4j, db, where, AssetSort(), first=20)
    return [item.node.urn for item in page.items]


async def test_ingested_assets_are_found_by_any_case_of_their_name_or_description(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    events = shop(source)
    events[3] = described(events[3], "People who BUY from us")  # customers
    await apply_batch(neo4j, db, events)

    emails = [source.column_urn("big_orders", "email"), source.column_urn("customers", "email")]
    assert await found(neo4j, db, source, kind=AssetKind.COLUMN, text="MAIL") == emails
    assert await found(neo4j, db, source, kind=AssetKind.TABLE, text="Orders") == [
        source.table_urn("orders")
    ]
    assert await found(neo4j, db, source, text="who buy") == [source.table_urn("customers")]
    assert await found(neo4j, db, source, kind=AssetKind.SCHEMA, text="PUB") == [source.schema_urn]
    assert await found(neo4j, db, source, text="no such thing") == []
