"""``search`` over the API: OpenSearch ranks, the graph and the caller's scopes decide."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from core.settings import Settings
from live.search import INDEX, create_index, reindex
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute

SEARCH = """
query ($text: String!, $source: String, $kind: TableKind, $first: Int, $after: String) {
  search(text: $text, source: $source, kind: $kind, first: $first, after: $after) {
    totalCount
    edges { node { score highlights asset { id name kind } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def hits_of(execute: Execute, **variables: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in (await execute(SEARCH, **variables))["search"]["edges"]]


@pytest.fixture
async def indexed(
    estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> AsyncIterator[list[str]]:
    urns = [
        estate.table("invoices", ("id", "iban", "amount"), description="what customers owe"),
        estate.table("refunds", ("id", "invoice_id")),
        estate.table("open_invoices", ("invoice_id",), kind="view"),
    ]
    await estate.write(neo4j, settings.neo4j.database)
    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    await create_index(client)
    await reindex(client, neo4j, settings.neo4j.database, urns)
    yield urns
    for urn in urns:
        await client.delete(index=INDEX, id=urn, ignore=[404])
    await client.close()


async def test_search_returns_assets_best_first(
    execute: Execute, indexed: list[str], estate: Estate
) -> None:
    hits = await hits_of(execute, text="invoice", source=estate.name, kind="TABLE")
    assert [h["asset"]["id"] for h in hits] == indexed[:2], "the name match ranks above the column"
    assert hits[0]["asset"] == {"id": indexed[0], "name": "invoices", "kind": "TABLE"}
    assert hits[0]["score"] > hits[1]["score"]
    by_column = await hits_of(execute, text="iban", source=estate.name)
    assert [h["asset"]["name"] for h in by_column] == ["invoices"]
    assert any("<em>iban</em>" in h for h in by_column[0]["highlights"])


async def test_search_kinds_are_an_enum_and_pages_a_connection(
    execute: Execute, indexed: list[str], estate: Estate
) -> None:
    """Issue 12 (5): ``search(kind: "VIEW")`` returned nothing (only "view" worked), and the
    hits were a plain list of at most ``first``."""
    views = await hits_of(execute, text="invoice", source=estate.name, kind="VIEW")
    assert [h["asset"]["name"] for h in views] == ["open_invoices"]
    with pytest.raises(TransportQueryError, match="TableKind"):
        await execute(SEARCH, text="invoice", source=estate.name, kind="view")
    page = (await execute(SEARCH, text="invoice", source=estate.name, first=2))["search"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    rest = await hits_of(execute, text="invoice", source=estate.name,
                         after=page["pageInfo"]["endCursor"])  # fmt: skip
    seen = [h["node"]["asset"]["id"] for h in page["edges"]] + [h["asset"]["id"] for h in rest]
    assert sorted(seen) == sorted(indexed)


async def test_search_without_matches_is_empty(execute: Execute, estate: Estate) -> None:
    assert await hits_of(execute, text="zzzqqq", source=estate.name) == []


async def test_search_text_is_bounded(execute: Execute, estate: Estate) -> None:
    """A long text is refused with a typed error before OpenSearch parses it (a 60 KB text
    hit its clause limit; 120 KB took seconds)."""
    assert await hits_of(execute, text="x" * 256, source=estate.name) == []
    for text in ("x" * 257, "invoice " * 7_000):
        with pytest.raises(TransportQueryError) as refused:
            await execute(SEARCH, text=text, source=estate.name)
        (error,) = refused.value.errors or []
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == "search text is longer than 256 characters"
