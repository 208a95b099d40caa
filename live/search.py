"""Full-text search over the catalog in OpenSearch.

Neo4j stays the system of record; the index is a projection of it, rebuilt per asset from the
graph whenever a catalog change names that asset (``reindex``), so replays and out-of-order
changes converge on what the graph says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.helpers import async_bulk

from graph.search_docs import search_documents

INDEX = "datawave-assets"
MAPPING: dict[str, Any] = {
    "settings": {
        "number_of_shards": 1,
        "number_of_replicas": 0,
    },
    "mappings": {
        "properties": {
            "urn": {"type": "keyword"},
            "name": {
                "type": "text",
                "analyzer": "simple",
                "fields": {"raw": {"type": "keyword"}},
            },
            "kind": {"type": "keyword"},
            "source": {"type": "keyword"},
            "description": {"type": "text"},
            "tags": {"type": "keyword"},
            "columns": {"type": "text", "analyzer": "simple"},
            "labels": {"type": "keyword"},
            "owners": {"type": "keyword"},
            "removed": {"type": "boolean"},
        }
    },
}
# Identifiers are analysed with the built-in "simple" analyzer, which splits on anything that is
# not a letter (legacy_orders -> legacy, orders) and needs no analysis plugin.
# Name matches weigh most, then columns, then the description.
FIELDS = ["name^4", "columns^2", "description", "tags^2", "labels", "owners"]


@dataclass(frozen=True)
class SearchHit:
    urn: str
    name: str
    kind: str
    source: str
    score: float
    highlights: list[str]


async def ensure_index(client: AsyncOpenSearch, index: str = INDEX) -> None:
    if not await client.indices.exists(index=index):
        await client.indices.create(index=index, body=MAPPING)


async def reindex(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, urns: Sequence[str],
    index: str = INDEX,
) -> int:  # fmt: skip
    """Refresh the documents of ``urns`` from the graph; assets gone from the graph are dropped."""
    docs = await search_documents(driver, database, urns)
    found = {d["urn"] for d in docs}
    actions: list[dict[str, Any]] = [
        {"_op_type": "index", "_index": index, "_id": d["urn"], "_source": d} for d in docs
    ]
    actions += [
        {"_op_type": "delete", "_index": index, "_id": urn}
        for urn in urns
        if urn not in found and urn.startswith("urn:dw:table:")
    ]
    if not actions:
        return 0
    ok, _ = await async_bulk(client, actions, raise_on_error=False, refresh="wait_for")
    return ok


async def search(
    client: AsyncOpenSearch,
    text: str,
    *,
    source: str | None = None,
    kind: str | None = None,
    include_removed: bool = False,
    size: int = 20,
    index: str = INDEX,
) -> list[SearchHit]:
    """Best matches first; filters narrow without changing the ranking."""
    filters: list[dict[str, Any]] = []
    if source:
        filters.append({"term": {"source": source}})
    if kind:
        filters.append({"term": {"kind": kind}})
    if not include_removed:
        filters.append({"term": {"removed": False}})
    body = {
        "size": size,
        "query": {
            "bool": {
                "must": [{"multi_match": {"query": text, "fields": FIELDS, "fuzziness": "AUTO"}}],
                "filter": filters,
            }
        },
        "highlight": {"fields": {"name": {}, "columns": {}, "description": {}}},
    }
    try:
        result = await client.search(index=index, body=body)
    except NotFoundError:
        return []
    return [
        SearchHit(
            urn=h["_source"]["urn"],
            name=h["_source"]["name"],
            kind=h["_source"]["kind"],
            source=h["_source"]["source"],
            score=h["_score"],
            highlights=[frag for frags in h.get("highlight", {}).values() for frag in frags],
        )
        for h in result["hits"]["hits"]
    ]
