"""``search`` and ``reviewQueue`` for a caller scoped to one domain: the scope is applied by
OpenSearch and Neo4j before ranking and paging, so a page is as full as the caller's own
matches allow, and nothing out of scope shows, not even as a short page or a rank."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from core.settings import Settings
from live.search import INDEX, create_index, reindex
from tests.integration.estate import Estate
from tests.integration.security.conftest import Api

SEARCH = """
query ($text: String!, $first: Int!) {
  search(text: $text, first: $first) { edges { node { asset { name } } } }
}
"""
QUEUE = """
query ($source: String!, $first: Int!) {
  reviewQueue(source: $source, first: $first) { edges { node { column { id } } } }
}
"""


@dataclass(frozen=True)
class Ledger:
    estate: Estate
    sales: str
    finance: str


@pytest.fixture
async def ledger(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> AsyncIterator[Ledger]:
    """Finance tables named ``ledger*`` (the best matches of "ledger", hidden from sales), one
    in no domain, and two sales tables that mention a ledger only in a column or description.
    Review labels on finance, unassigned and sales columns (finance's sort first)."""
    finance = [estate.table(n, ("id", "iban")) for n in ("ledger", "ledger_lines", "ledger_x")]
    loose = estate.table("ledger_old", ("id", "iban"))
    sales = [
        estate.table("orders", ("id", "ledger_ref")),
        estate.table("returns", ("id", "reason"), description="the ledger of returns"),
    ]
    for table in ("ledger", "ledger_lines", "ledger_old", "orders", "returns"):
        column = "ledger_ref" if table == "orders" else "id" if table == "returns" else "iban"
        estate.label(estate.column_urn(table, column), "Iban", status="review")
    ledger = Ledger(estate, estate.product("sales", *sales), estate.product("finance", *finance))
    await estate.write(neo4j, settings.neo4j.database)
    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    await create_index(client)
    urns = [*finance, loose, *sales]
    await reindex(client, neo4j, settings.neo4j.database, urns)
    yield ledger
    for urn in urns:
        await client.delete(index=INDEX, id=urn, ignore=[404])
    await client.close()


async def test_search_ranks_only_what_the_caller_may_see(api: Api, ledger: Ledger) -> None:
    sales = api.token("viewer", subject="sales", domains=[ledger.sales])
    hits = (await api.graphql(sales, SEARCH, text="ledger", first=2))["data"]["search"]["edges"]
    assert sorted(h["node"]["asset"]["name"] for h in hits) == ["orders", "returns"], (
        "a full page of the caller's own matches, though three hidden tables rank higher"
    )
    other_source = api.token("viewer", subject="other", sources=["elsewhere"])
    assert (await api.graphql(other_source, SEARCH, text="ledger", first=5))["data"] == {
        "search": {"edges": []}
    }
    finance = api.token("viewer", subject="finance", domains=[ledger.finance])
    hits = (await api.graphql(finance, SEARCH, text="ledger", first=10))["data"]["search"]["edges"]
    assert sorted(h["node"]["asset"]["name"] for h in hits) == [
        "ledger",
        "ledger_lines",
        "ledger_x",
    ]


async def test_review_queue_pages_within_the_scope(api: Api, ledger: Ledger) -> None:
    estate = ledger.estate
    sales = api.token("steward", subject="sales", domains=[ledger.sales])
    body = await api.graphql(sales, QUEUE, source=estate.name, first=2)
    assert {q["node"]["column"]["id"] for q in body["data"]["reviewQueue"]["edges"]} == {
        estate.column_urn("orders", "ledger_ref"),
        estate.column_urn("returns", "id"),
    }, "the first page is the caller's, though three hidden labels sort before it"
    everyone = api.token("steward", subject="all")
    body = await api.graphql(everyone, QUEUE, source=estate.name, first=10)
    assert len(body["data"]["reviewQueue"]["edges"]) == 5
