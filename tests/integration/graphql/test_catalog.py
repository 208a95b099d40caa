"""Catalog queries through the gql client: nodes by URN, relationships, filtered pages."""

from __future__ import annotations

from typing import Any

import pytest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver

from core.settings import Settings
from core.urns import database_urn, source_urn, version_urn
from resolvers.pagination import keyset_cursor
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute
from tests.integration.pages import walk

TABLE = """
query ($urn: ID!) {
  asset(urn: $urn) {
    __typename id name source description removedAt
    owners { name }
    ... on Table {
      kind rowCount
      schema { name database { name dataSource { name status } } }
      columns { name dataType ordinal labels { label { name category } status column at } }
      labels { label { name } column }
      versions { totalCount edges { node { version columns { name } } } }
      currentVersion { version }
      upstream { totalCount edges { node { name } } }
      downstream { totalCount edges { node { name } } }
    }
  }
}
"""
PAGE = """
query ($filter: AssetFilterInput, $first: Int!, $after: String, $sort: AssetSortInput) {
  assets(filter: $filter, first: $first, after: $after, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { __typename name ... on Table { kind rowCount } } }
  }
}
"""


@pytest.fixture
async def shop(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Estate:
    """customers -> orders -> report (a view), a removed table, labels, owners, versions."""
    customers = estate.table("customers", ("id", "email"), row_count=300, description="People")
    orders = estate.table("orders", ("id", "total"), row_count=1000)
    report = estate.table("report", ("email", "total"), kind="view")
    estate.table("legacy", removed=True)
    estate.feeds(customers, report)
    estate.feeds(orders, report)
    estate.job(f"urn:dw:job:{estate.name}/report", "report", report)
    estate.label(estate.column_urn("customers", "email"), "Email")
    estate.label(estate.column_urn("orders", "total"), "Money", status="rejected")
    estate.owner(customers, "crm")
    estate.version(customers, 1, [{"name": "id", "dataType": "int", "ordinal": 1}])
    estate.version(
        customers,
        2,
        [
            {"name": "id", "dataType": "int", "ordinal": 1},
            {"name": "email", "dataType": "varchar", "ordinal": 2},
        ],
    )
    await estate.write(neo4j, settings.neo4j.database)
    return estate


async def test_a_table_with_every_relationship(execute: Execute, shop: Estate) -> None:
    table = (await execute(TABLE, urn=shop.table_urn("customers")))["asset"]
    name = shop.name
    assert table["__typename"] == "Table"
    assert (table["name"], table["source"], table["kind"]) == ("customers", name, "TABLE")
    assert (table["rowCount"], table["description"], table["removedAt"]) == (300, "People", None)
    assert table["owners"] == [{"name": f"{name}-crm"}]
    assert table["schema"] == {
        "name": "public",
        "database": {"name": "db", "dataSource": {"name": name, "status": "REACHABLE"}},
    }
    assert [(c["name"], c["ordinal"]) for c in table["columns"]] == [("id", 1), ("email", 2)]
    email = shop.column_urn("customers", "email")
    assert table["columns"][1]["labels"] == [
        {
            "label": {"name": f"{name}.Email", "category": name},
            "status": "CONFIRMED",
            "column": email,
            "at": "2026-11-22T10:00:00+00:00",
        }
    ]
    assert table["labels"] == [{"label": {"name": f"{name}.Email"}, "column": email}]
    assert [v["node"]["version"] for v in table["versions"]["edges"]] == [1, 2]
    assert table["versions"]["totalCount"] == 2
    assert table["currentVersion"] == {"version": 2}
    assert (table["upstream"], table["downstream"]) == (
        {"totalCount": 0, "edges": []},
        {"totalCount": 1, "edges": [{"node": {"name": "report"}}]},
    )


VERSIONS = """
query ($urn: ID!, $after: String) { asset(urn: $urn) { ... on Table {
  versions(first: 4, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { version } } } } } }
"""


async def test_a_tables_schema_versions_page_in_version_order(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A table's layouts were one plain list; a page of them comes in version order, 10 after
    9 (their URNs sort 10 before 2), and a cursor that is no version is the caller's error."""
    table = estate.table("orders")
    for n in range(1, 12):
        estate.version(table, n, [{"name": "id"}, {"name": f"c{n}"}])
    await estate.write(neo4j, settings.neo4j.database)

    async def page(after: str | None) -> dict[str, Any]:
        return (await execute(VERSIONS, urn=table, after=after))["asset"]["versions"]

    seen, pages = await walk(page)
    assert [v["version"] for v in seen] == list(range(1, 12)) and pages == 3
    with pytest.raises(TransportQueryError, match="invalid cursor") as refused:
        await execute(VERSIONS, urn=table, after=keyset_cursor(["v2"]))
    assert refused.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_node_resolves_every_kind_of_urn(execute: Execute, shop: Estate) -> None:
    query = "query ($id: ID!) { node(id: $id) { __typename id } }"
    expected = {
        source_urn(shop.name): "DataSource",
        database_urn(shop.name, "db"): "Database",
        shop.schema: "Schema",
        shop.table_urn("orders"): "Table",
        shop.column_urn("orders", "total"): "Column",
        version_urn(shop.table_urn("customers"), 2): "SchemaVersion",
        f"urn:dw:job:{shop.name}/report": "Job",
    }
    for urn, typename in expected.items():
        assert (await execute(query, id=urn))["node"] == {"__typename": typename, "id": urn}
    for unknown in (shop.table_urn("nope"), "not-a-urn", f"urn:dw:scan:{shop.name}"):
        assert (await execute(query, id=unknown))["node"] is None


async def test_a_job_writes_its_view(execute: Execute, shop: Estate) -> None:
    query = """
    query ($id: ID!) { node(id: $id) { ... on Job { name kind writes { edges { node { id } } } } } }
    """
    job = (await execute(query, id=f"urn:dw:job:{shop.name}/report"))["node"]
    assert job == {
        "name": "report",
        "kind": "VIEW",
        "writes": {"edges": [{"node": {"id": shop.table_urn("report")}}]},
    }


async def test_filters(execute: Execute, shop: Estate) -> None:
    async def names(**filter: Any) -> list[str]:
        page = (await execute(PAGE, filter={"source": shop.name, **filter}, first=100))["assets"]
        assert page["totalCount"] == len(page["edges"])
        return [e["node"]["name"] for e in page["edges"]]

    assert await names(kind="TABLE") == ["customers", "orders"]
    assert await names(kind="VIEW") == ["report"]
    assert await names(kind="DATASET") == ["customers", "orders", "report"]
    assert await names(kind="DATASET", removed=True) == ["legacy"]
    assert await names(kind="DATASET", removed=None) == ["customers", "legacy", "orders", "report"]
    assert await names(kind="DATABASE") == ["db"]
    assert await names(kind="COLUMN", text="EMA") == ["email", "email"]
    assert await names(text="peop") == ["customers"], "text matches descriptions too"
    assert await names(label=f"{shop.name}.Email") == ["customers", "email"]
    assert await names(label=shop.name) == ["customers", "email"], "a category matches"
    assert await names(label=f"{shop.name}.Money") == [], "rejected labels do not count"
    assert await names(kind="DATASET", schema=shop.schema) == ["customers", "orders", "report"]


async def test_pages_walk_every_item_once_in_order(execute: Execute, shop: Estate) -> None:
    for sort, expected in (
        ({"field": "NAME"}, ["customers", "legacy", "orders", "report"]),
        ({"field": "NAME", "direction": "DESC"}, ["report", "orders", "legacy", "customers"]),
        ({"field": "ROW_COUNT", "direction": "DESC"}, ["orders", "customers", "report", "legacy"]),
    ):
        seen, after = [], None
        while True:
            page = (
                await execute(
                    PAGE,
                    filter={"source": shop.name, "kind": "DATASET", "removed": None},
                    first=3,
                    after=after,
                    sort=sort,
                )
            )["assets"]
            seen += [e["node"]["name"] for e in page["edges"]]
            assert page["totalCount"] == 4
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected, sort


async def test_bad_page_arguments_are_client_errors(execute: Execute, shop: Estate) -> None:
    with pytest.raises(TransportQueryError, match="first must be between 1 and 100"):
        await execute(PAGE, first=101)
    with pytest.raises(TransportQueryError, match="invalid cursor"):
        await execute(PAGE, first=1, after="garbage")
    page = (await execute(PAGE, filter={"source": shop.name}, first=1))["assets"]
    cursor = page["pageInfo"]["endCursor"]
    with pytest.raises(TransportQueryError, match="same sort"):
        await execute(PAGE, first=1, after=cursor, sort={"field": "ROW_COUNT"})


async def test_data_sources_and_schema_tables(execute: Execute, shop: Estate) -> None:
    query = """
    query ($after: String) {
      dataSources(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { id name configuredDatabases databases { edges { node { name } } } } }
      }
    }
    """
    sources, after = [], None
    while True:  # other tests' sources share the graph: read every page
        page = (await execute(query, after=after))["dataSources"]
        sources += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    ours = [s for s in sources if s["name"] == shop.name]
    assert ours == [
        {
            "id": source_urn(shop.name),
            "name": shop.name,
            "configuredDatabases": ["db"],
            "databases": {"edges": [{"node": {"name": "db"}}]},
        }
    ]
    query = """
    query ($urn: ID!) {
      asset(urn: $urn) {
        ... on Schema {
          tables(first: 2) { totalCount pageInfo { hasNextPage } edges { node { name } } }
        }
      }
    }
    """
    tables = (await execute(query, urn=shop.schema))["asset"]["tables"]
    assert [e["node"]["name"] for e in tables["edges"]] == ["customers", "orders"]
    assert (tables["totalCount"], tables["pageInfo"]["hasNextPage"]) == (3, True)
