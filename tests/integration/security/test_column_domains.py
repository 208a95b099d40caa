"""The domains RBAC reads a table's columns with are the same however the query finds them.

A table's columns are read with their domains in the detail (graph/projections.py ``DETAIL``)
and the columns relation (graph/catalog.py ``COLUMNS``), and a scoped caller's pages of columns
keep those in its domains; these walk up from the table once and check each column alone
(``domains_below``). Read one by one by URN, each column walks all the way up itself
(``domains_of``). The estate puts the nearest exposure or assignment at
every distance a column has one, with ties between domains, so the three must agree on every
column, in the same order, and with what the rules of graph/domains.py say.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from core.urns import domain_urn, source_urn
from graph import catalog
from graph.catalog import (
    AssetFilter,
    AssetKind,
    AssetSort,
    Relation,
    count_assets,
    nodes_by_urn,
    page_assets,
    related,
)
from graph.domains import assign, create_domain
from graph.driver import write
from graph.projections import asset_details
from tests.integration.estate import Estate
from tests.integration.pages import every_page


async def _domain(neo4j: AsyncDriver, database: str, estate: Estate, name: str) -> str:
    """A managed domain ``<source>-<name>`` (dropped with the estate); returns its URN."""
    full = f"{estate.name}-{name}"
    await create_domain(neo4j, database, domain_urn(full), full, None, [], "test")
    return domain_urn(full)


# A steward's page is read from the name's index first, within a budget of entries
# (graph/catalog.py ``SCAN_BUDGET``): 1 never fills a page of two (the query's own plan reads
# it), 3 sometimes does, 1000 always.
@pytest.mark.parametrize("budget", [1, 3, 1000])
async def test_columns_are_read_with_the_domains_of_their_own_walk(
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
    budget: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog, "SCAN_BUDGET", budget)
    db = settings.neo4j.database
    col = estate.column_urn
    twice = estate.table("twice", ("a", "b"))
    own = estate.table("own", ("a", "b"))
    tie = estate.table("tie", ("a", "b"))
    assigned = estate.table("assigned", ("a", "b"))
    estate.table("loose", ("a",))
    estate.product("sales", twice, own, tie)
    estate.product("finance", twice, col("own", "a"), col("tie", "a"), col("assigned", "a"))
    await estate.write(neo4j, db)
    names = {k: f"{estate.name}-{k}" for k in ("sales", "finance", "ops", "hr", "all")}
    # An assignment counts as an exposure of the node assigned.
    ops = await _domain(neo4j, db, estate, "ops")
    await assign(neo4j, db, ops, [col("own", "b"), col("tie", "a")])
    await assign(neo4j, db, await _domain(neo4j, db, estate, "hr"), [assigned])
    await assign(neo4j, db, await _domain(neo4j, db, estate, "all"), [source_urn(estate.name)])

    tables = [twice, own, tie, assigned, estate.table_urn("loose")]
    details = await asset_details(neo4j, db, tables)
    columns = await related(neo4j, db, Relation.COLUMNS, tables)
    found: dict[str, list[str]] = {}
    for table in tables:
        from_detail = {c.column.node.urn: c.column.node.domains for c in details[table].columns}
        from_relation = {r.node.urn: r.node.domains for r in columns[table]}
        alone = await nodes_by_urn(neo4j, db, "Asset", list(from_detail))
        assert from_detail == from_relation == {u: r.domains for u, r in alone.items()}
        found |= from_detail

    # A page of columns holds those whose every domain is in the caller's scope.
    for scope in ({names["sales"]}, {names["finance"], names["ops"]}, {names["all"]}):
        where = AssetFilter(source=estate.name, kind=AssetKind.COLUMN, domains=frozenset(scope))
        page = await page_assets(neo4j, db, where, AssetSort(), 50)
        listed = [item.node.urn for item in page.items]
        assert sorted(listed) == sorted(u for u, d in found.items() if set(d) <= scope), scope
        assert await count_assets(neo4j, db, where) == len(listed)
        paged = [n.urn for n in await every_page(neo4j, db, where)]
        assert paged == listed, "in name order, page after page"

    # A domain that holds nothing of the source sees none of it, and no column is read.
    await _domain(neo4j, db, estate, "nowhere")
    nowhere = frozenset({f"{estate.name}-nowhere"})
    where = AssetFilter(source=estate.name, kind=AssetKind.COLUMN, domains=nowhere)
    assert (await catalog.widened(neo4j, db, where)).matches_nothing
    assert (await page_assets(neo4j, db, where, AssetSort(), 50)).items == []
    assert await count_assets(neo4j, db, where) == 0

    # Tied domains come in the order Neo4j meets them, the same for all three reads above.
    found = {urn: sorted(domains) for urn, domains in found.items()}
    sales, finance = names["sales"], names["finance"]
    assert found == {
        col("twice", "a"): sorted([sales, finance]),  # two products expose the table: a tie
        col("twice", "b"): sorted([sales, finance]),
        col("own", "a"): [finance],  # its own exposure is nearer than its table's
        col("own", "b"): [names["ops"]],  # so is its own assignment
        col("tie", "a"): sorted([finance, names["ops"]]),  # exposed and assigned itself: a tie
        col("tie", "b"): [sales],
        col("assigned", "a"): [finance],
        col("assigned", "b"): [names["hr"]],  # its table's assignment
        col("loose", "a"): [names["all"]],  # the source's assignment, four hops up
    }


async def test_a_scope_is_read_from_what_domains_hold_as_the_walk_reads_it(
    estate: Estate, neo4j: AsyncDriver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A steward's scope is read from the nodes domains hold (``catalog.widened``): none at all
    when their domains alone hold the source and hold it whole, else each asset is as the
    nearest node held at or above it, found by URN; a page of every source reads the sources
    the caller sees a held node of. Pages and counts are those the walk up from every asset
    gives, for every filter, whichever domains hold what."""
    db = settings.neo4j.database
    col = estate.column_urn
    orders = estate.table("orders", ("id", "total"))
    estate.table("orders2", ("id", "note"))  # its URN starts with the URN of ``orders``
    people = estate.table("people", ("id", "email"))
    estate.table("gone", ("id", "note"), removed=True)
    await estate.write(neo4j, db)
    owner = await _domain(neo4j, db, estate, "owner")
    mine = frozenset({f"{estate.name}-owner"})
    columns = AssetFilter(source=estate.name, kind=AssetKind.COLUMN)
    steward = replace(columns, domains=mine)
    shapes = [
        columns,
        replace(columns, text="ID"),
        replace(columns, removed=None),
        replace(columns, kind=AssetKind.TABLE),
        replace(columns, kind=None),
        AssetFilter(schema=estate.schema, kind=AssetKind.TABLE, removed=None),
    ]
    everywhere = AssetFilter(kind=AssetKind.COLUMN)  # no source: the whole graph
    across = [
        everywhere,
        replace(everywhere, kind=AssetKind.TABLE),
        replace(everywhere, removed=None),
        replace(everywhere, kind=None),
    ]

    async def seen(where: AssetFilter) -> tuple[list[str], int]:
        urns = [n.urn for n in await every_page(neo4j, db, where)]
        return urns, await count_assets(neo4j, db, where)

    async def walked(where: AssetFilter) -> tuple[list[str], int]:
        """What the scope's walk up from every asset finds, without ``widened``."""
        with monkeypatch.context() as m:
            m.setattr(catalog, "widened", _as_given)
            return await seen(where)

    async def same_as_the_walk(widens_to: dict[str, Any], across_to: dict[str, Any]) -> None:
        for shape, to in [(s, widens_to) for s in shapes] + [(s, across_to) for s in across]:
            scoped = replace(shape, domains=mine)
            assert await catalog.widened(neo4j, db, scoped) == replace(scoped, **to)
            assert await seen(scoped) == await walked(scoped), shape

    # One table held: it and its columns, not those of ``orders2``.
    await assign(neo4j, db, owner, [orders])
    await same_as_the_walk(*[{"domains": None, "held": ((orders, True),)}] * 2)
    mine_of_orders = ([col("orders", "id"), col("orders", "total")], 2)
    assert await seen(steward) == mine_of_orders
    assert await seen(replace(everywhere, domains=mine)) == mine_of_orders
    # A domain that holds nothing anywhere reads no source at all.
    await _domain(neo4j, db, estate, "nowhere")
    nowhere = replace(everywhere, domains=frozenset({f"{estate.name}-nowhere"}))
    gone: dict[str, Any] = {"domains": None, "sources": None}
    assert await catalog.widened(neo4j, db, nowhere) == replace(nowhere, **gone, held=())
    assert await seen(nowhere) == await walked(nowhere) == ([], 0)
    # Nor do domains held in a source out of the caller's sources.
    elsewhere = replace(everywhere, domains=mine, sources=frozenset({"elsewhere"}))
    assert await catalog.widened(neo4j, db, elsewhere) == replace(elsewhere, **gone, held=())
    assert await seen(elsewhere) == await walked(elsewhere) == ([], 0)
    with monkeypatch.context() as m:  # held in too many parts, it is walked again
        m.setattr(catalog, "MAX_PREFIXES", 0)
        assert await catalog.widened(neo4j, db, steward) == steward
    # The source held: everything an unrestricted caller sees.
    await assign(neo4j, db, owner, [source_urn(estate.name)])
    whole = (source_urn(estate.name), True)
    await same_as_the_walk({"domains": None}, {"domains": None, "held": (whole, (orders, True))})
    assert await seen(steward) == await seen(columns)
    assert (await seen(columns))[1] == 6  # the removed table's columns are not counted

    # Out of the caller's sources, asking for labels inherited along lineage (a path may
    # cross sources), or holding grants beside a part, the scope stays; a scope by source
    # alone that holds this one is no scope for it.
    await assign(neo4j, db, owner, [source_urn(estate.name)], remove=True)  # orders remains
    for kept in (
        replace(steward, sources=frozenset({"elsewhere"})),
        replace(steward, label="PII", inherited_labels=True),
        replace(steward, granted=frozenset({people})),
    ):
        assert await catalog.widened(neo4j, db, kept) == kept
    by_source = replace(columns, sources=frozenset({estate.name}), granted=frozenset({people}))
    assert await catalog.widened(neo4j, db, by_source) == columns
    by_source = replace(everywhere, sources=frozenset({estate.name}))
    assert await catalog.widened(neo4j, db, by_source) == replace(everywhere, held=(whole,))
    assert await seen(by_source) == await walked(by_source)
    await assign(neo4j, db, owner, [source_urn(estate.name)])

    # Another domain's product exposing a table is nearer to its columns than the source's
    # assignment: they are that domain's, and the caller does not see them.
    estate.product("shop", people)
    await estate.write(neo4j, db)
    shared = {"domains": None, "held": (whole, (orders, True), (people, False))}
    await same_as_the_walk(shared, shared)
    assert col("people", "id") not in (await seen(steward))[0]

    # So does another domain's assignment of a single column, once the product is gone.
    shop = f"urn:dw:product:{estate.name}/shop"
    await write(neo4j, db, "MATCH (p:DataProduct {urn: $urn}) DETACH DELETE p", urn=shop)
    assert await catalog.widened(neo4j, db, steward) == columns
    await assign(neo4j, db, await _domain(neo4j, db, estate, "ops"), [col("orders", "total")])
    held = ((col("orders", "total"), False), whole, (orders, True))
    await same_as_the_walk(*[{"domains": None, "held": held}] * 2)
    assert col("orders", "total") not in (await seen(steward))[0]


async def _as_given(_driver: AsyncDriver, _database: str, where: AssetFilter) -> AssetFilter:
    return where
