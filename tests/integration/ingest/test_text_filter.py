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
from graph.driver import write
from graph.migrations import load_migrations, run_statements
from tests.factories import Source, shop
from tests.integration.estate import Estate


def described(event: Event, description: str) -> Event:
    return event.model_copy(
        update={"data": event.data.model_copy(update={"description": description})}
    )


async def found(neo4j: AsyncDriver, db: str, owner: Source | Estate, **filter: Any) -> list[str]:
    where = AssetFilter(source=owner.name, **filter)
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


async def test_the_migration_makes_assets_written_before_it_findable(
    neo4j: AsyncDriver, settings: Settings, estate: Estate
) -> None:
    db = settings.neo4j.database
    estate.table("accounts", ("id",))
    await estate.write(neo4j, db)
    old_style = """
    MATCH (t:Asset {urn: $table})
    CREATE (t)-[:HAS_COLUMN]->(:Asset:Column {urn: $column, name: 'Billing_EMAIL', source: $source})
    SET t.curatedDescription = 'Who PAYS', t.nameLower = null, t.descriptionLower = null
    """
    table = estate.table_urn("accounts")
    column = estate.column_urn("accounts", "Billing_EMAIL")
    await write(neo4j, db, old_style, table=table, column=column, source=estate.name)
    assert await found(neo4j, db, estate, text="billing_e") == []

    (migration,) = [m for m in load_migrations() if m.id == "0013_text_filter_indexes"]
    await run_statements(neo4j, db, migration)  # its backfill commits in batches

    assert await found(neo4j, db, estate, text="billing_e") == [column]
    assert await found(neo4j, db, estate, text="who pays") == [table]
