"""Product search in OpenSearch: full text, and by meaning with the classifier's encoder.

Each data product is a document of ``datawave-products-v1``: name, domain, description, tags
and what its contracts say (tables, columns, their descriptions, purpose), written by the
mesh steps that change them (``index_products``) and filled from the graph when the index is
created. The OpenSearch here has no k-NN plugin, so meaning is a re-rank: the query's best
``CANDIDATES`` by BM25 (every product takes part, unmatched ones at zero) are scored by the
cosine of all-MiniLM-L6-v2 embeddings (ml/detectors/semantic.py) of the query and of each
product's text, plus a tenth of the normalised text score as a tie-breaker. A product's
embedding is computed the first time a semantic search meets it and kept in its document with
the digest of the text it embeds, so the encoder loads only in a process that searches by
meaning, and an edit re-embeds at the next search.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from opensearchpy import NotFoundError
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import OpenSearchException
from opensearchpy.helpers import async_bulk

from core.outages import in_words
from graph import products as graph
from live.search import SearchUnavailable
from live.state import AppState
from mesh import contracts
from mesh.errors import InvalidContract

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger("datawave.mesh.search")

INDEX = "datawave-products-v1"
MAPPING: dict[str, Any] = {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {
        "properties": {
            "urn": {"type": "keyword"},
            "domain": {"type": "keyword"},
            "name": {"type": "text", "analyzer": "simple"},
            "description": {"type": "text"},
            "tags": {"type": "text", "analyzer": "simple"},
            "contract": {"type": "text"},
            "text": {"type": "text", "index": False},
            "digest": {"type": "keyword"},
            # The embedding of ``text`` when its digest was ``embedded``: kept, not indexed.
            "embedded": {"type": "keyword"},
            "embedding": {"type": "object", "enabled": False},
        }
    },
}
CANDIDATES = 200
FIELDS = ["name^3", "description^2", "tags^2", "contract"]
MAX_PRODUCTS = 10_000  # filled from the graph when the index is created
TEXT_WEIGHT = 0.1
_encoder_lock = asyncio.Lock()


@dataclass(frozen=True)
class ProductHit:
    urn: str
    score: float


def _contract_words(odcs: str) -> list[str]:
    try:
        doc = contracts.parse(odcs, stored=True)
    except InvalidContract:
        return []
    return contracts.words(doc)


def document(record: dict[str, Any]) -> dict[str, Any]:
    """A product's search document (without its embedding)."""
    props = record["props"]
    live = [v for v in record.get("versions") or [] if v.get("status") != "retired"]
    contract = " ".join(dict.fromkeys(w for v in live for w in _contract_words(v["odcs"])))
    tags = props.get("tags") or []
    text = (
        f"data product {props['name']} of domain {props.get('domain')}: "
        f"{props.get('description') or ''}. tags: {', '.join(tags)}. {contract}"
    )[:2000]
    return {
        "urn": props["urn"], "domain": props.get("domain"), "name": props["name"],
        "description": props.get("description") or "", "tags": " ".join(tags),
        "contract": contract, "text": text, "digest": hashlib.sha256(text.encode()).hexdigest(),
    }  # fmt: skip


async def _create(state: AppState) -> bool:
    """Create the index if it is missing; whether this call created it."""
    client = state.opensearch
    if await client.indices.exists(index=INDEX):
        return False
    await client.indices.create(index=INDEX, body=MAPPING, ignore=400)  # 400: raced, exists
    return True


async def _write(state: AppState, urns: list[str]) -> None:
    found = await graph.details(state.neo4j, state.settings.neo4j.database, urns)
    actions = [
        {"_op_type": "update", "_index": INDEX, "_id": urn, "doc": document(found[urn]),
         "doc_as_upsert": True}
        for urn in urns if urn in found
    ]  # fmt: skip
    if actions:
        await async_bulk(state.opensearch, actions, refresh="wait_for")


async def index_products(state: AppState, urns: list[str]) -> None:
    """Write the products' documents after a mesh step; OpenSearch failing does not undo the
    step (the graph has it; the next step or the index's creation writes it)."""
    try:
        if not await _ensure(state):
            await _write(state, urns)
    except (OpenSearchException, OSError) as err:
        log.warning("products %s not indexed: %s", urns, err)


async def _ensure(state: AppState) -> bool:
    """Create the index if it is missing and fill it from the graph; whether this call did."""
    if not await _create(state):
        return False
    db = state.settings.neo4j.database
    await _write(state, await graph.product_urns(state.neo4j, db, None, MAX_PRODUCTS))
    return True


@cache
def _loaded() -> SentenceTransformer:
    from ml.detectors.semantic import load_encoder

    return load_encoder()


async def _embed(texts: list[str]) -> np.ndarray:
    async with _encoder_lock:  # one load, and one batch at a time on the process's thread
        encoder = await asyncio.to_thread(_loaded)
        return await asyncio.to_thread(
            encoder.encode, texts, batch_size=32, normalize_embeddings=True,
            convert_to_numpy=True,
        )  # fmt: skip


async def _vectors(state: AppState, hits: list[dict[str, Any]]) -> np.ndarray:
    """The embedding of each hit's text: kept ones, and the missing or stale ones computed
    now and kept."""
    stale = [h for h in hits if h["_source"].get("embedded") != h["_source"]["digest"]]
    if stale:
        fresh = await _embed([h["_source"]["text"] for h in stale])
        for hit, vector in zip(stale, fresh, strict=True):
            hit["_source"]["embedding"] = vector.tolist()
        actions = [
            {"_op_type": "update", "_index": INDEX, "_id": h["_id"],
             "doc": {"embedding": h["_source"]["embedding"], "embedded": h["_source"]["digest"]}}
            for h in stale
        ]  # fmt: skip
        await async_bulk(state.opensearch, actions, raise_on_error=False)
    return np.array([h["_source"]["embedding"] for h in hits], dtype=np.float32)


async def search(
    state: AppState, text: str, domain: str | None, semantic: bool
) -> list[ProductHit]:
    """Products ranked for ``text`` (of ``domain``, or all): by meaning, or by full text only
    (then only matching ones), best first, at most ``CANDIDATES``."""
    match = {"multi_match": {"query": text, "fuzziness": "AUTO", "fields": FIELDS}}
    # By meaning every product is a candidate (the text only orders them); by text, matches.
    where: dict[str, Any] = (
        {"must": [{"match_all": {}}], "should": [match]} if semantic else {"must": [match]}
    )
    if domain is not None:
        where["filter"] = [{"term": {"domain": domain}}]
    body = {"query": {"bool": where}, "size": CANDIDATES, "sort": ["_score", {"urn": "asc"}]}
    try:
        await _ensure(state)
        hits = (await state.opensearch.search(index=INDEX, body=body))["hits"]["hits"]
        if not semantic or not hits:
            return [ProductHit(h["_id"], float(h["_score"])) for h in hits]
        vectors = await _vectors(state, hits)
    except OpenSearchConnectionError as err:
        raise SearchUnavailable(in_words(err)) from err
    except NotFoundError:
        return []
    [query_vector] = await _embed([text])
    best = max(float(h["_score"]) for h in hits) or 1.0
    scores = vectors @ query_vector + TEXT_WEIGHT * np.array([h["_score"] / best for h in hits])
    ranked = sorted(zip(hits, scores, strict=True), key=lambda p: (-p[1], p[0]["_id"]))
    return [ProductHit(h["_id"], round(float(s), 4)) for h, s in ranked]
