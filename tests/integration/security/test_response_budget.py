"""The budget of related objects one operation is handed (resolvers/loaders.py,
``MAX_RELATED``): what the cost estimate cannot see, a wide table's real columns nested in
each other, is stopped while it runs, with one error; each subscription event has a budget of
its own, also beside another subscription on the same WebSocket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from live.changes import CATALOG_CHANNEL
from resolvers import loaders
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import ws_client
from tests.integration.graphql.test_subscriptions import until
from tests.integration.security.conftest import Api, nudging

WIDE = 200
# Within the cost estimate (255,000 at 50 a list): 8 million columns at 200 a table.
NESTED = """query ($urn: ID!) { asset(urn: $urn) { ... on Table {
  columns { table { columns { table { columns { id } } } } } } } }"""
COLUMNS = "query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { id } } } }"
WATCH = """subscription ($urns: [ID!]) { catalogChanges(filter: {urns: $urns}) {
  asset { ... on Table { columns { id } } } } }"""
# Each event is handed the columns, then waits for their labels (none): what another
# subscription's event was handed meanwhile counted against it.
LABELLED = "(filter: {$by: $t}) { asset { ... on Table { columns { id labels { status } } } } }"
BY_URN = "subscription ($t: [ID!]) { catalogChanges" + LABELLED.replace("$by", "urns") + " }"
WITHIN = "subscription ($t: [ID!]) { catalogChanges" + LABELLED.replace("$by", "within") + " }"


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


DESCRIBE = """mutation ($urn: ID!, $text: String) {
  describeAsset(input: {urn: $urn, description: $text}) { errors { message }
    asset { ... on Table { columns { table { columns { table { columns { id } } } } } } } } }"""


async def test_a_mutation_past_the_budget_says_it_was_applied(api: Api, wide: str) -> None:
    """The write is done before its answer is read: ``data: null`` read as a failure, and a
    client retrying wrote again (a second access request, a second scan)."""
    steward = api.token("steward")
    answer = await api.graphql(steward, DESCRIBE, urn=wide, text="orders, by hand")
    assert answer["data"]["describeAsset"]["errors"] == [], "the payload is kept, cut below"
    [error] = answer["errors"]
    assert error["extensions"] == {
        "code": "REQUEST_TOO_LARGE",
        "maxRelated": loaders.MAX_RELATED,
        "applied": True,
    }
    assert error["message"].endswith("the mutation was applied, only its answer was cut")
    read = await api.graphql(steward, "query ($u: ID!) { asset(urn: $u) { description } }", u=wide)
    assert read["data"]["asset"]["description"] == "orders, by hand"


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


async def test_subscriptions_on_one_socket_do_not_share_a_budget(
    api: Api, wide: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two subscriptions of one client, each hearing of the same change at once: they shared
    the connection's loaders, so each event was refused for what the other's was handed."""
    monkeypatch.setattr(loaders, "MAX_RELATED", WIDE + WIDE // 2)
    hub = api.served.hub
    before = hub.subscriber_count(CATALOG_CHANNEL)
    async with api.socket(api.token("viewer"), api.request_id()) as ws:
        await ws.subscribe("table", BY_URN, t=[wide])
        await ws.subscribe("within", WITHIN, t=[wide])
        await until(lambda: hub.subscriber_count(CATALOG_CHANNEL) == before + 2)
        async with nudging(settings, wide), asyncio.timeout(10):
            received = await ws.results(3, "table", "within")
    handed = {id: [columns(r) for r in results[:3]] for id, results in received.items()}
    assert handed == {"table": [WIDE] * 3, "within": [WIDE] * 3}


def columns(result: dict[str, Any]) -> int | str:
    """How many columns an event holds, or the code of its error."""
    if result.get("data") is None:
        return result["errors"][0]["extensions"]["code"]
    return len(result["data"]["catalogChanges"]["asset"]["columns"])
