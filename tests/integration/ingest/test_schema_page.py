"""A page of a schema's tables, or of a source's columns or tables, reads them through an index
on ``(schemaUrn, name)`` or ``(source, name, urn)`` in name order (migrations 0014 and 0015): ingest
must keep the properties, the migration must give them to tables written before it, and the
cursors must cross ties of name (a source's columns share names), or a page would silently list
fewer assets than it holds."""

from __future__ import annotations

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph import catalog
from graph.batch import apply_batch
from graph.catalog import (
    Anchor,
    AssetFilter,
    AssetKind,
    AssetSort,
    SortField,
    count_assets,
    page_assets,
)
from graph.driver import write
from graph.migrations import load_migrations, run_statements
from tests.factories import Source, columns
from tests.integration import pages
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate


async def every_page(
    neo4j: AsyncDriver, db: str, where: AssetFilter, descending: bool = False
) -> list[str]:
    """The names of a filter's assets, two a page, following the cursors."""
    return [n.props["name"] for n in await pages.every_page(neo4j, db, where, descending)]


async def test_a_schemas_tables_come_in_name_order_page_after_page(
    neo4j: AsyncDriver, settings: Settings, source: Source
) -> None:
    db = settings.neo4j.database
    names = ["b", "A", "c_2", "c_10", "a", "Z"]  # names that sort apart from their URNs
    events = [source.checked(), *source.containers()]
    events += [source.table(name, columns("id:int")) for name in names]
    # A view, and a foreign key to a table of the schema no scan has found (a placeholder).
    events += [source.table("v", columns("id:int"), kind="view", fks={"id": ("unseen", "id")})]
    await apply_batch(neo4j, db, events)

    tables = AssetFilter(schema=source.schema_urn, kind=AssetKind.TABLE, source=source.name)
    assert await every_page(neo4j, db, tables) == sorted(names)
    assert await every_page(neo4j, db, tables, descending=True) == sorted(names, reverse=True)
    assert await count_assets(neo4j, db, tables) == len(names)
    anything = AssetFilter(schema=source.schema_urn)
    assert await every_page(neo4j, db, anything) == sorted([*names, "v"])
    assert await count_assets(neo4j, db, anything) == len(names) + 1
    # The schema's tables are its source's: asked with another source, there are none.
    elsewhere = AssetFilter(schema=source.schema_urn, source=source.name + "-other")
    assert await every_page(neo4j, db, elsewhere) == []
    assert await count_assets(neo4j, db, elsewhere) == 0

    # A rescan without ``Z`` removes it: counts (from the indexes, the removed less) agree
    # with the pages whichever removal and kind are asked.
    await apply_batch(neo4j, db, [source.at(10).scanned(*(n for n in names if n != "Z"), "v")])
    gone = AssetFilter(schema=source.schema_urn, kind=AssetKind.TABLE, removed=True)
    assert await every_page(neo4j, db, gone) == ["Z"]
    for removed in (False, True, None):
        for kind in (AssetKind.TABLE, AssetKind.VIEW, None):
            where = AssetFilter(schema=source.schema_urn, kind=kind, removed=removed)
            assert await count_assets(neo4j, db, where) == len(await every_page(neo4j, db, where))
    assert await count_assets(neo4j, db, tables) == len(names) - 1


async def test_the_migration_gives_tables_written_before_it_their_schema(
    neo4j: AsyncDriver, settings: Settings, estate: Estate
) -> None:
    db = settings.neo4j.database
    estate.table("accounts", ("id",))
    estate.table("invoices", ("id",))
    await estate.write(neo4j, db)
    old_style = "MATCH (t:Table {source: $source}) SET t.schemaUrn = null"
    await write(neo4j, db, old_style, source=estate.name)
    where = AssetFilter(schema=estate.schema)
    assert await every_page(neo4j, db, where) == []

    (migration,) = [m for m in load_migrations() if m.id == "0014_schema_page_index"]
    await run_statements(neo4j, db, migration)  # its backfill commits in batches

    assert await every_page(neo4j, db, where) == ["accounts", "invoices"]


# A page filtered by text is read from the name's index first, within a budget of entries
# (graph/catalog.py ``SCAN_BUDGET``), and by the query's own plan when they do not fill it.
@pytest.mark.parametrize("budget", [1, 3, 1000])
async def test_a_sources_columns_and_tables_come_in_name_order_page_after_page(
    neo4j: AsyncDriver,
    settings: Settings,
    source: Source,
    budget: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog, "SCAN_BUDGET", budget)
    db = settings.neo4j.database
    # ``id`` in both tables: ties that the cursor must cross by URN. ``ref`` of ``customers``, a
    # placeholder until that table is discovered, is not one of the source's columns.
    orders = source.table(
        "orders", columns("id:int", "B:int", "c_10:int"), fks={"B": ("customers", "ref")}
    )
    lines = source.table("lines", columns("id:int", "a:int"))
    gone = source.table("gone", columns("zz:int"))
    await apply_batch(neo4j, db, [source.checked(), *source.containers(), orders, lines, gone])
    await apply_batch(neo4j, db, [source.at(10).scanned("orders", "lines")])  # ``gone`` goes

    names = ["B", "a", "c_10", "id", "id"]  # code point order; pages of two split the tie
    live = AssetFilter(source=source.name, kind=AssetKind.COLUMN)
    assert await every_page(neo4j, db, live) == names
    assert await every_page(neo4j, db, live, descending=True) == names[::-1]
    assert await count_assets(neo4j, db, live) == len(names)
    removed = AssetFilter(source=source.name, kind=AssetKind.COLUMN, removed=True)
    assert await every_page(neo4j, db, removed) == ["zz"]
    texts = {"i": ["id", "id"], "a": ["a"], "C": ["c_10"], "b": ["B"], "zz": []}
    for text, found in texts.items():
        where = AssetFilter(source=source.name, kind=AssetKind.COLUMN, text=text)
        assert await every_page(neo4j, db, where) == found, text
        assert await every_page(neo4j, db, where, descending=True) == found[::-1], text
    tables = AssetFilter(source=source.name, kind=AssetKind.TABLE)
    assert await every_page(neo4j, db, tables) == ["lines", "orders"]
    assert await count_assets(neo4j, db, tables) == 2


PLACEHOLDER = "CREATE (:Asset:{label}:Unresolved {urn: $urn, name: 'ref', source: $source})"


async def test_a_page_of_every_sources_live_assets_merges_each_sources_own_page(
    estate: Estate, neo4j: AsyncDriver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of all live columns or tables by name is read as each source's page through its
    ``(source, name, urn)`` index, merged (``catalog.merged_page_query``): it must be the page
    the label's scan and sort give, on whatever the graph holds, from the start and from a
    cursor among namesakes of two sources."""
    db = settings.neo4j.database
    other = Estate(estate.name + "-b")  # its URNs sort before the estate's ('-' < '/')
    x = estate.name

    async def counts() -> list[int]:
        """Live columns and tables of every source, each counted from each source's indexes
        and by the label's scan."""
        found = []
        for kind in (AssetKind.COLUMN, AssetKind.TABLE):
            found.append(await count_assets(neo4j, db, AssetFilter(kind=kind)))
            with monkeypatch.context() as m:
                m.setattr(catalog, "merges_sources", lambda *_: False)
                found.append(await count_assets(neo4j, db, AssetFilter(kind=kind)))
        return found

    before = await counts()
    try:
        for e in (estate, other):
            e.table(f"{x}_t", (f"{x}_id", f"{x}_x"))
            e.table(f"{x}_u", (f"{x}_id",))
        other.table(f"{x}_gone", (f"{x}_id",), removed=True)
        await estate.write(neo4j, db)
        await other.write(neo4j, db)
        # A column and a table something refers to that no scan has found: not assets yet.
        for label in ("Column", "Table"):
            await write(
                neo4j, db, PLACEHOLDER.replace("{label}", label),
                urn=f"urn:dw:{label.lower()}:{x}/db/public/ref", source=x,
            )  # fmt: skip
        added = [n - m for n, m in zip(await counts(), before, strict=True)]
        assert added == [6, 6, 4, 4], "each way: the live columns, then tables, written"
        column, table = estate.column_urn, estate.table_urn
        cases = {
            AssetKind.COLUMN: (
                (f"{x}_id", column(f"{x}_t", f"{x}_id")),
                [column(f"{x}_u", f"{x}_id"), other.column_urn(f"{x}_t", f"{x}_x"),
                 column(f"{x}_t", f"{x}_x")],
            ),
            AssetKind.TABLE: (
                (f"{x}_t", table(f"{x}_t")),
                [other.table_urn(f"{x}_u"), table(f"{x}_u")],
            ),
        }  # fmt: skip
        for kind, (cursor, after_it) in cases.items():
            where = AssetFilter(kind=kind)
            label = catalog.KIND_MATCH[kind][0]
            for descending in (False, True):
                sort = AssetSort(descending=descending)
                assert catalog.merges_sources(label, where, sort)
                for after in (None, cursor):
                    merged = await page_assets(neo4j, db, where, sort, 5, after)
                    with monkeypatch.context() as m:
                        m.setattr(catalog, "merges_sources", lambda *_: False)
                        scanned = await page_assets(neo4j, db, where, sort, 5, after)
                    assert merged == scanned, (kind, descending, after)
            page = await page_assets(neo4j, db, where, AssetSort(), 5, cursor)
            assert [i.node.urn for i in page.items][: len(after_it)] == after_it
        # Removed assets may have lost their source's node with its registration: their pages
        # read the label.
        assert not catalog.merges_sources("Column", AssetFilter(removed=None), AssetSort())
    finally:
        await drop_sources(settings, neo4j, other.name)


LABEL_COLUMNS = """
UNWIND $rows AS row
MATCH (c:Asset {urn: row.urn})
MERGE (l:Label {name: row.label}) SET l.category = $category
MERGE (c)-[r:LABELED]->(l) SET r.status = row.status
"""
# As graph/inheritance.py keeps it: a column's copy of an upstream column's label.
INHERIT = """
MATCH (c:Asset {urn: $urn}), (l:Label {name: $label})
MERGE (c)-[r:INHERITS]->(l) SET r.path = [$urn], r.status = 'confirmed'
"""


async def test_a_page_of_every_kind_or_by_label_is_what_the_asset_label_gives(
    neo4j: AsyncDriver, settings: Settings, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of every kind of asset is each kind's page, merged (``catalog.splits_by_kind``:
    the ``Asset`` label has no index by source or in name order), and a page by label starts
    from the label (``Anchor.CLASSIFIED``). Page after page, in both orders and by row count,
    and counted, each must be what a scan of the ``Asset`` label gives, namesakes of other
    kinds (a table and columns named like the database and the schema) and rejected labels
    included."""
    db = settings.neo4j.database
    orders = source.table("orders", columns("id:int", "db:int", "public:int"))
    named_like_db = source.table("db", columns("id:int"))
    gone = source.table("gone", columns("zz:int"))
    await apply_batch(
        neo4j,
        db,
        [source.checked(), *source.containers(), orders, named_like_db, gone],
    )
    await apply_batch(neo4j, db, [source.at(10).scanned("orders", "db")])
    category = source.name
    pii, money = f"{category}.Email", f"{category}.Money"
    labels = [
        {"urn": source.column_urn("orders", "db"), "label": pii, "status": "confirmed"},
        {"urn": source.column_urn("db", "id"), "label": pii, "status": "suggested"},
        {"urn": source.column_urn("orders", "id"), "label": money, "status": "rejected"},
    ]
    try:
        await write(neo4j, db, LABEL_COLUMNS, rows=labels, category=category)
        inherits = source.column_urn("orders", "public")
        await write(neo4j, db, INHERIT, urn=inherits, label=pii)
        every = AssetFilter(source=source.name)
        names = ["db", "db", "db", "id", "id", "orders", "public", "public"]
        assert await every_page(neo4j, db, every) == names, "database, schema, tables, columns"
        assert await count_assets(neo4j, db, every) == len(names)

        async def walk(where: AssetFilter, sort: AssetSort) -> tuple[list[str], int]:
            """The URNs of up to four pages of three, and the count."""
            urns, after = [], None
            for _ in range(4):
                page = await page_assets(neo4j, db, where, sort, 3, after)
                urns += [item.node.urn for item in page.items]
                if not page.has_next:
                    break
                after = (page.items[-1].key, page.items[-1].node.urn)
            return urns, await count_assets(neo4j, db, where)

        def scanned(where: AssetFilter) -> Anchor:
            if where.schema is not None:
                return Anchor.SCHEMA
            return Anchor.LABEL if where.source is None else Anchor.SOURCE

        by_label = AssetFilter(label=pii)
        assert (await walk(by_label, AssetSort()))[0] == [
            source.column_urn("orders", "db"), source.table_urn("db"),
            source.column_urn("db", "id"), source.table_urn("orders"),
        ], "a table carries its columns' labels"  # fmt: skip
        filters = [
            every,
            AssetFilter(source=source.name, removed=None),
            AssetFilter(source=source.name, text="D"),
            AssetFilter(),
            by_label,
            AssetFilter(label=category),
            AssetFilter(label=money),
            AssetFilter(label=pii, kind=AssetKind.COLUMN),
            AssetFilter(label=category, kind=AssetKind.TABLE, inherited_labels=True),
            AssetFilter(label=pii, inherited_labels=True),
        ]
        sorts = [AssetSort(), AssetSort(descending=True), AssetSort(SortField.ROW_COUNT, True)]
        for where in filters:
            for sort in sorts:
                read = await walk(where, sort)
                with monkeypatch.context() as m:
                    m.setattr(catalog, "splits_by_kind", lambda _where: False)
                    m.setattr(AssetFilter, "anchor", property(scanned))
                    assert read == await walk(where, sort), (where, sort)
        assert (await walk(AssetFilter(label=money), AssetSort())) == ([], 0), "rejected"
        inherited = AssetFilter(label=pii, kind=AssetKind.COLUMN, inherited_labels=True)
        assert inherits in (await walk(inherited, AssetSort()))[0]
    finally:
        await write(neo4j, db, "MATCH (l:Label) WHERE l.category = $c DETACH DELETE l", c=category)
