"""Catalog search in OpenSearch: a projection of the graph, refreshed per asset."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from core.settings import Settings
from graph.driver import write
from live import search as live_search
from live.search import (
    MAPPING,
    SearchUnavailable,
    count_matches,
    create_index,
    ensure_index,
    reindex,
    search,
)
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate


@pytest.fixture
async def opensearch(settings: Settings, unique: str) -> AsyncIterator[AsyncOpenSearch]:
    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    yield client
    await client.indices.delete(index=f"{unique}-assets", ignore_unavailable=True)
    await client.close()


@pytest.fixture
async def estate(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[Estate]:
    estate = Estate(unique)
    estate.table("customers", ("id", "email", "full_name"), description="people who buy")
    estate.table("orders", ("id", "customer_id", "total"), description="what they bought")
    estate.table("legacy_orders", ("id",), removed=True)
    estate.label(estate.column_urn("customers", "email"), "Email")
    await estate.write(neo4j, settings.neo4j.database)
    yield estate
    await drop_sources(settings, neo4j, unique)


async def test_search_finds_assets_by_name_column_and_label(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str,
) -> None:  # fmt: skip
    index = f"{unique}-assets"
    await create_index(opensearch, index)
    urns = [estate.table_urn(t) for t in ("customers", "orders", "legacy_orders")]
    assert await reindex(opensearch, neo4j, settings.neo4j.database, urns, index) == 3

    by_name = await search(opensearch, "orders", source=unique, index=index)
    assert [h.name for h in by_name] == ["orders"], "removed assets are left out by default"
    by_column = await search(opensearch, "full_name", source=unique, index=index)
    assert by_column[0].urn == estate.table_urn("customers")
    assert any("<em>full</em>" in h for h in by_column[0].highlights)
    typo = await search(opensearch, "custmers", source=unique, index=index)
    assert typo and typo[0].name == "customers"
    with_removed = await search(opensearch, "orders", source=unique, include_removed=True,
                                index=index)  # fmt: skip
    assert {h.name for h in with_removed} == {"orders", "legacy_orders"}


async def test_reindex_follows_the_graph(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str,
) -> None:  # fmt: skip
    index, db = f"{unique}-assets", settings.neo4j.database
    await create_index(opensearch, index)
    orders = estate.table_urn("orders")
    await reindex(opensearch, neo4j, db, [orders], index)
    await write(neo4j, db, "MATCH (t:Table {urn: $urn}) SET t.name = 'purchases'", urn=orders)
    await reindex(opensearch, neo4j, db, [orders], index)
    assert [h.name for h in await search(opensearch, "purchases", source=unique, index=index)] == [
        "purchases"
    ]
    await write(neo4j, db, "MATCH (t:Table {urn: $urn}) DETACH DELETE t", urn=orders)
    await reindex(opensearch, neo4j, db, [orders], index)
    assert await search(opensearch, "purchases", source=unique, index=index) == []


async def test_search_before_any_index_is_empty(opensearch: AsyncOpenSearch, unique: str) -> None:
    assert await search(opensearch, "anything", index=f"{unique}-assets") == []


async def test_search_while_the_index_is_created_again_is_unavailable(
    opensearch: AsyncOpenSearch, unique: str
) -> None:
    """The index was deleted and is being created again, its shard not yet started: OpenSearch
    answers 503, which went through as an internal error instead of SEARCH_UNAVAILABLE."""
    index = f"{unique}-assets"
    unstarted = {
        **MAPPING,
        "settings": {**MAPPING["settings"], "index.routing.allocation.require._name": "nowhere"},
    }
    await opensearch.indices.create(index=index, body=unstarted, wait_for_active_shards=0)
    with pytest.raises(SearchUnavailable, match="not ready"):
        await search(opensearch, "orders", index=index)
    with pytest.raises(SearchUnavailable, match="not ready"):
        await count_matches(opensearch, "orders", index=index)


async def test_a_new_index_is_filled_from_the_graph(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str,
) -> None:  # fmt: skip
    """A new mapping version starts as a new index: whoever creates it fills it, so scoped
    searches find every table without waiting for each one to change."""
    index, db = f"{unique}-assets", settings.neo4j.database
    assert await ensure_index(opensearch, neo4j, db, index) >= 3
    found = await search(opensearch, "full_name", source=unique, index=index)
    assert [h.name for h in found] == ["customers"]
    assert await search(opensearch, "customers", domains=frozenset({"x"}), index=index) == [], (
        "a table in no domain is found only by callers unrestricted by domain"
    )
    assert await ensure_index(opensearch, neo4j, db, index) == 0, "an existing one is kept"


async def meta(client: AsyncOpenSearch, index: str) -> dict[str, Any]:
    """The index's ``_meta`` mapping, where a fill that went to its end leaves its mark."""
    return (await client.indices.get_mapping(index=index))[index]["mappings"].get("_meta", {})


async def found_in(client: AsyncOpenSearch, index: str, unique: str) -> set[str]:
    hits = [*await search(client, "full_name", source=unique, index=index),
            *await search(client, "orders", source=unique, index=index)]  # fmt: skip
    return {h.name for h in hits}


async def test_a_fill_cut_short_is_filled_again_at_the_next_start(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str,
) -> None:  # fmt: skip
    """The relay died halfway through the fill: the index existed, so every later start took
    it for filled and search missed the tables the fill had not reached, for ever."""
    index, db = f"{unique}-assets", settings.neo4j.database
    fill = asyncio.create_task(ensure_index(opensearch, neo4j, db, index))
    while not await opensearch.indices.exists(index=index):  # noqa: ASYNC110 (no notification)
        await asyncio.sleep(0.005)
    assert not fill.done(), "the fill ended before it could be cut short"
    fill.cancel()  # the relay dies: the index exists, its fill did not end
    with pytest.raises(asyncio.CancelledError):
        await fill
    assert "filledFromGraphAt" not in await meta(opensearch, index)

    assert await ensure_index(opensearch, neo4j, db, index) >= 2, "filled again"
    assert await found_in(opensearch, index, unique) == {"customers", "orders"}
    assert "filledFromGraphAt" in await meta(opensearch, index)
    assert await ensure_index(opensearch, neo4j, db, index) == 0, "a filled one is kept"


async def test_replicas_starting_together_leave_one_whole_marked_index(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str,
) -> None:  # fmt: skip
    """Two relays start on a new index at once: one creates it, and neither returns on the
    other's unfinished fill; the mark says a whole fill went through."""
    index, db = f"{unique}-assets", settings.neo4j.database
    both = [ensure_index(opensearch, neo4j, db, index) for _ in range(2)]
    assert sum(await asyncio.gather(*both)) >= 2
    assert await found_in(opensearch, index, unique) == {"customers", "orders"}
    assert (await meta(opensearch, index))["documents"] >= 2


async def test_an_index_deleted_while_it_is_filled_is_created_again_with_its_mapping(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, estate: Estate,
    unique: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Deleted after the fill's first chunk, the index was created again by OpenSearch on the
    second chunk's write, with a mapping of its own (``urn`` as text, no simple analyzer), then
    marked filled: search ranked and analysed wrongly for ever after."""
    index, db = f"{unique}-assets", settings.neo4j.database
    refresh, chunks, deleted = live_search._refresh, [], []

    async def deleting(*args: Any) -> tuple[int, int]:
        if chunks and not deleted:  # before the second chunk's write, which re-creates it
            deleted.append(await opensearch.indices.delete(index=index))
        chunks.append(args[3])
        return await refresh(*args)

    monkeypatch.setattr(live_search, "_refresh", deleting)
    assert await ensure_index(opensearch, neo4j, db, index, chunk=10) >= 2
    assert deleted, "the index was not deleted under the fill"
    mapping = (await opensearch.indices.get_mapping(index=index))[index]["mappings"]
    assert mapping["properties"]["urn"] == {"type": "keyword"}
    assert mapping["properties"]["name"]["analyzer"] == "simple"
    assert "filledFromGraphAt" in mapping["_meta"]
    assert await found_in(opensearch, index, unique) == {"customers", "orders"}


async def test_identifiers_are_found_by_their_words_and_numbers(
    opensearch: AsyncOpenSearch, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    """Real schemas name things ``customerOrders``, ``orders_2024`` and ``HTTPLog``. The simple
    analyzer kept ``customerorders`` whole and dropped every digit: "orders" missed the
    camelCase table and "2024" found nothing."""
    index, db = f"{unique}-assets", settings.neo4j.database
    estate = Estate(unique)
    names = ("customerOrders", "orders_2024", "orders_2023", "HTTPLog", "stock")
    for name in names[:-1]:
        estate.table(name, ("id",))
    estate.table("stock", ("skuCode", "qty_q3"))
    await estate.write(neo4j, db)
    try:
        await create_index(opensearch, index)
        await reindex(opensearch, neo4j, db, [estate.table_urn(n) for n in names], index)

        async def found(text: str) -> list[str]:
            return [h.name for h in await search(opensearch, text, source=unique, index=index)]

        assert set(await found("orders")) == {"customerOrders", "orders_2024", "orders_2023"}
        assert (await found("2024"))[0] == "orders_2024"
        assert (await found("orders 2023"))[0] == "orders_2023"
        assert await found("customer") == ["customerOrders"]
        assert await found("customerOrders") == ["customerOrders"], "the whole name still"
        assert await found("http") == ["HTTPLog"]
        assert await found("log") == ["HTTPLog"]
        assert await found("code") == ["stock"], "column names are split alike"
        assert await found("q3") == ["stock"]
    finally:
        await drop_sources(settings, neo4j, unique)
