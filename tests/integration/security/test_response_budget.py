"""The budget of related objects one operation is handed (resolvers/loaders.py,
``MAX_RELATED``): what the cost estimate cannot see, a wide table's real columns nested in
each other, is stopped while it runs, with one error; each subscription event has a budget of
its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from resolvers import loaders
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import ws_client
from tests.integration.security.conftest import Api, nudging

WIDE = 200
# Within the cost estimate (255,000 at 50 a list): 8 million columns at 200 a table.
NESTED = """query ($urn: ID!) { asset(urn: $urn) { ... on Table {
  columns { table { columns { table { columns { id } } } } } } } }"""
COLUMNS = "query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { id } } } }"
WATCH = """subscription ($urns: [ID!]) { catalogChanges(filter: {urns: $urns}) {
  asset { ... on Table { columns { id } } } } }"""


@pytest.fixture
async def wide(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> str:
    table = estate.table("wide", tuple(f"c{i:03}" for i in range(WIDE)))
    await estate.write(neo4j, settings.neo4j.database)
    return table


async def test_nesting_a_wide_tables_columns_is_refused_with_one_error(api: Api, wide: str) -> None:
    viewer = api.token("viewer")
    refused = await api.graphql(viewer, NESTED, urn=wide)
    assert refused["data"] is None
    assert refused["errors"] == [
        {
            "message": f"the response would hold more than {loaders.MAX_RELATED:,} related "
            "objects: ask for smaller pages (first) or fewer nested lists",
            "extensions": {"code": "REQUEST_TOO_LARGE", "maxRelated": loaders.MAX_RELATED},
        }
    ]
    served = await api.graphql(viewer, COLUMNS, urn=wide)
    assert len(served["data"]["asset"]["columns"]) == WIDE, "the table itself reads as ever"


async def events(api: Api, token: str, table: str, settings: Settings, n: int) -> list[Any]:
    """The first ``n`` changes of ``table`` a subscriber of it receives."""
    async with ws_client(api.url, token) as session, nudging(settings, table):
        received = session.subscribe(GraphQLRequest(WATCH, variable_values={"urns": [table]}))
        async with asyncio.timeout(10):
            return [await anext(received) for _ in range(n)]


async def test_each_subscription_event_has_a_budget_of_its_own(
    api: Api, wide: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscription lives for hours: its events do not add up to one response."""
    monkeypatch.setattr(loaders, "MAX_RELATED", WIDE + WIDE // 2)
    received = await events(api, api.token("viewer"), wide, settings, 3)
    assert [len(e["catalogChanges"]["asset"]["columns"]) for e in received] == [WIDE] * 3
