"""Full-text search over the catalog in OpenSearch.

Neo4j stays the system of record; the index is a projection of it, rebuilt per asset from the
graph whenever a catalog change names that asset (``reindex``), so replays and out-of-order
changes converge on what the graph says. A new index (a new mapping version) is filled from
the graph (``ensure_index``) until a fill has gone through every table: only then is the index
marked filled, in its mapping's ``_meta`` (``FILLED``). A fill cut short (its process died,
OpenSearch went away, a document was refused) leaves no mark, so the next start fills it again
instead of taking the index's existence for completeness; replicas starting together each fill,
and one stops early once another's mark appears. ``datawave search prune`` drops no older index
while the live one has no mark (live/index_versions.py).

Each document carries the source and the domains RBAC scopes its table by, and a caller's
scope (widened by their teams' access grants) is a filter of the query itself: hits, ranks and
page sizes say nothing about tables out of scope.

While OpenSearch is unreachable, or cannot search the index yet (503: it was deleted and is
being created again), ``search`` and ``count_matches`` raise ``SearchUnavailable``
(the API answers SEARCH_UNAVAILABLE, the rest of the catalog answers from the graph) and the
relay's reindexing waits; once it is back the relay reindexes every table changed meanwhile.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError
from opensearchpy.helpers import async_bulk

from core.outages import in_words
from core.urns import Urn
from graph.search_docs import search_documents, table_urns

log = logging.getLogger("datawave.search")

# The version changes with the mapping: a new index is created and filled from the graph.
INDEX = "datawave-assets-v3"
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
            "name_words": {"type": "text"},
            "column_words": {"type": "text"},
            "labels": {"type": "keyword"},
            "owners": {"type": "keyword"},
            "removed": {"type": "boolean"},
            "domains": {"type": "keyword"},
            "domain_count": {"type": "integer"},
        }
    },
}
# Identifiers are analysed with the built-in "simple" analyzer, which splits on anything that is
# not a letter (legacy_orders -> legacy, orders) and needs no analysis plugin. It keeps
# ``customerOrders`` whole and drops digits, and OpenSearch's core has no filter that splits
# words (word_delimiter is a module the stack does not ship), so the words of names and columns
# are also indexed as split here (``identifier_words``), under the standard analyzer.
# Name matches weigh most, then columns, then the description.
FIELDS = [
    "name^4", "name_words^3", "columns^2", "column_words", "description", "tags^2", "labels",
    "owners",
]  # fmt: skip
# Runs of digits or of letters; a run of letters splits where its case turns, but not before
# the plural of an acronym (``customerIDs`` is "customer IDs", not "customer I Ds").
WORD = re.compile(r"\d+|[^\W\d_]+")
CASE_TURN = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])(?![A-Z]s(?![a-z]))")
# The key of the mark in the mapping's ``_meta``: when a fill from the graph went to its end.
FILLED = "filledFromGraphAt"
# Fills of one start before ``ensure_index`` gives up on an index deleted under each of them.
FILLS = 3


class SearchUnavailable(Exception):
    """OpenSearch does not answer: search cannot, the rest of the catalog can."""


class IndexLost(Exception):
    """The search index was deleted during every fill: something deletes it as it is filled."""


# What OpenSearch answers while it cannot search the index: its shards not yet started (the
# index deleted and created again, a node starting), or itself overloaded.
NOT_READY = 503


@asynccontextmanager
async def _answering() -> AsyncIterator[None]:
    try:
        yield
    except OpenSearchConnectionError as err:
        raise SearchUnavailable(in_words(err)) from err
    except TransportError as err:
        if err.status_code != NOT_READY:
            raise
        raise SearchUnavailable(f"the search index is not ready ({err.error})") from err


@dataclass(frozen=True)
class SearchHit:
    urn: str
    name: str
    kind: str
    source: str
    score: float
    highlights: list[str]


def identifier_words(names: Sequence[str]) -> str:
    """The words of identifiers, space-separated: ``customerOrders`` -> ``customer Orders``,
    ``orders_2024`` -> ``orders 2024``, ``HTTPLog`` -> ``HTTP Log``, ``userIDs`` -> ``user IDs``."""
    return " ".join(
        word for name in names for run in WORD.findall(name) for word in CASE_TURN.split(run)
    )


def _document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the index holds for an asset: the graph's fields and the words of its names."""
    words = {"name_words": identifier_words([doc["name"]]),
             "column_words": identifier_words(doc["columns"])}  # fmt: skip
    return {**doc, **words}


async def create_index(client: AsyncOpenSearch, index: str = INDEX) -> bool:
    """Create the index with its mapping unless it exists; True if this call created it."""
    if await client.indices.exists(index=index):
        return False
    created = await client.indices.create(index=index, body=MAPPING, ignore=[400])
    return "error" not in created  # 400: another replica created it first


async def filled(client: AsyncOpenSearch, index: str = INDEX) -> bool:
    """Whether ``index`` carries the mark of a fill from the graph that went to its end (an
    index created before the mark existed has none: it is filled once more)."""
    mappings = await client.indices.get_mapping(index=index)
    return any(FILLED in (m["mappings"].get("_meta") or {}) for m in mappings.values())


async def mark_filled(client: AsyncOpenSearch, index: str, documents: int) -> None:
    """Mark ``index`` filled: called only once a fill has gone through every table."""
    meta = {FILLED: datetime.now(UTC).isoformat(), "documents": documents}
    await client.indices.put_mapping(index=index, body={"_meta": meta})


async def ensure_index(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, index: str = INDEX,
    chunk: int = 500,
) -> int:  # fmt: skip
    """Create the index if it is missing and fill it from the graph unless it is marked filled;
    returns the documents written (0 when it was). A replica whose fill sees another's mark
    stops there: that fill went through every table. An index deleted during the fill is
    created again with its mapping and filled from the start (``_fill``)."""
    for _ in range(FILLS):
        uuid = await _owned(client, index)
        if await filled(client, index):
            return 0
        written = await _fill(client, driver, database, index, chunk, uuid)
        if written is not None:
            return written
        log.warning("search index %s was deleted while it was filled: filled again", index)
    raise IndexLost(f"search index {index} was deleted during each of {FILLS} fills")


async def _owned(client: AsyncOpenSearch, index: str) -> str:
    """The id of ``index``, created with its mapping if it is missing, and created again if
    OpenSearch created it by itself (a write after it was deleted: a guessed mapping)."""
    await create_index(client, index)
    mapping = (await client.indices.get_mapping(index=index))[index]["mappings"]
    if not _mapped(mapping):
        log.warning("search index %s has a mapping OpenSearch guessed: created again", index)
        await client.indices.delete(index=index, ignore_unavailable=True)
        await create_index(client, index)
    return await _uuid(client, index) or ""


def _mapped(mapping: Mapping[str, Any]) -> bool:
    """Whether an index's mapping is DataWave's (an automatic one maps ``urn`` as text...)."""
    ours: dict[str, Any] = MAPPING["mappings"]["properties"]
    found = mapping.get("properties") or {}
    return all(found.get(field) == spec for field, spec in ours.items())


async def _uuid(client: AsyncOpenSearch, index: str) -> str | None:
    """The id OpenSearch gave ``index`` when it was created (another after a deletion), or
    None while there is none."""
    try:
        found = await client.indices.get_settings(index=index, name="index.uuid")
    except NotFoundError:
        return None
    return found[index]["settings"]["index"]["uuid"]


async def _fill(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, index: str, chunk: int,
    uuid: str,
) -> int | None:  # fmt: skip
    """Fill the index ``uuid`` from the graph and mark it filled; the documents written, or
    None when the index was deleted meanwhile. OpenSearch creates a missing index on the next
    write (``action.auto_create_index`` is cluster-wide, and ``require_alias`` refuses writes to
    an index by its name) with a mapping of its own, which the fill would have marked filled:
    search ranked and analysed wrongly for ever after. So each chunk checks it wrote into the
    index it created."""
    log.info("filling the search index %s from the graph", index)
    written = refused = 0
    async for urns in table_urns(driver, database, chunk):
        done, failed = await _refresh(client, driver, database, urns, index)
        written, refused = written + done, refused + failed
        if await _uuid(client, index) != uuid:
            return None
        if await filled(client, index):
            return written
    if refused:  # left unmarked: the next start fills it again, prune keeps the older ones
        log.warning("search index %s: %d documents refused; not marked filled", index, refused)
    else:
        await mark_filled(client, index, written)
    return written


async def reindex(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, urns: Sequence[str],
    index: str = INDEX,
) -> int:  # fmt: skip
    """Refresh the documents of ``urns`` from the graph; assets gone from the graph are dropped."""
    return (await _refresh(client, driver, database, urns, index))[0]


async def reindex_kept(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, urns: Sequence[str],
    index: str = INDEX,
) -> int:  # fmt: skip
    """``reindex``, then, if the index was deleted since it was filled (OpenSearch created
    it again for these documents with a mapping it guessed) or is missing, create it again
    with its mapping and fill it from the graph (``ensure_index``): the relay's way of keeping
    the index it filled at its start."""
    written = await reindex(client, driver, database, urns, index)
    if await _kept(client, index):
        return written
    log.warning("search index %s was deleted: created again and filled from the graph", index)
    return await ensure_index(client, driver, database, index)


async def _kept(client: AsyncOpenSearch, index: str) -> bool:
    """Whether ``index`` exists with DataWave's mapping (filled or being filled)."""
    try:
        mappings = await client.indices.get_mapping(index=index)
    except NotFoundError:
        return False
    return all(_mapped(m["mappings"]) for m in mappings.values())


async def _refresh(
    client: AsyncOpenSearch, driver: AsyncDriver, database: str, urns: Sequence[str], index: str
) -> tuple[int, int]:
    """``reindex``: the documents written, and those OpenSearch refused (a drop of one that was
    not there is no refusal)."""
    docs = await search_documents(driver, database, urns)
    found = {d["urn"] for d in docs}
    actions: list[dict[str, Any]] = [
        {"_op_type": "index", "_index": index, "_id": d["urn"], "_source": _document(d)}
        for d in docs
    ]
    actions += [
        {"_op_type": "delete", "_index": index, "_id": urn}
        for urn in urns
        if urn not in found and urn.startswith("urn:dw:table:")
    ]
    if not actions:
        return 0, 0
    ok, errors = await async_bulk(client, actions, raise_on_error=False, refresh="wait_for")
    absent = [e for e in errors if e.get("delete", {}).get("status") == 404]
    return ok, len(errors) - len(absent)


def granted_clauses(granted: frozenset[str]) -> list[dict[str, Any]]:
    """Queries for the tables within URNs a caller holds access grants on: a table itself, or
    every table under a source, database or schema (its URN path is a prefix of theirs)."""
    clauses: list[dict[str, Any]] = []
    for urn in sorted(granted):
        parsed = Urn.parse(urn)
        if parsed.kind == "table":
            clauses.append({"term": {"urn": urn}})
        elif parsed.kind in ("source", "database", "schema"):
            prefix = urn.replace(f":{parsed.kind}:", ":table:", 1) + "/"
            clauses.append({"prefix": {"urn": prefix}})
    return clauses


def _query(
    text: str, source: str | None, kind: str | None, include_removed: bool,
    domains: frozenset[str] | None, sources: frozenset[str] | None,
    granted: frozenset[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The OpenSearch query: the text, within the RBAC scope ``domains``/``sources`` (None:
    unrestricted) or the tables ``granted`` (access grants) reach; filters narrow without
    changing the ranking."""
    scope: list[dict[str, Any]] = []
    if sources is not None:
        scope.append({"terms": {"source": sorted(sources)}})
    if domains is not None:  # every domain of the table is one of the caller's
        scope.append(
            {
                "terms_set": {
                    "domains": {
                        "terms": sorted(domains),
                        "minimum_should_match_field": "domain_count",
                    }
                }
            }
        )
    grants = granted_clauses(granted) if granted else []
    if scope and grants:
        either = [{"bool": {"filter": scope}}, *grants]
        filters = [{"bool": {"should": either, "minimum_should_match": 1}}]
    else:
        filters = scope
    if source:
        filters.append({"term": {"source": source}})
    if kind:
        filters.append({"term": {"kind": kind}})
    if not include_removed:
        filters.append({"term": {"removed": False}})
    return {
        "bool": {
            "must": [{"multi_match": {"query": text, "fields": FIELDS, "fuzziness": "AUTO"}}],
            "filter": filters,
        }
    }


async def search(
    client: AsyncOpenSearch,
    text: str,
    *,
    source: str | None = None,
    kind: str | None = None,
    include_removed: bool = False,
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
    granted: frozenset[str] | None = None,
    size: int = 20,
    offset: int = 0,
    index: str = INDEX,
) -> list[SearchHit]:
    """Best matches first, from the ``offset``-th, within the RBAC scope and the grants."""
    body = {
        "from": offset,
        "size": size,
        "query": _query(text, source, kind, include_removed, domains, sources, granted),
        "highlight": {"fields": {"name": {}, "columns": {}, "description": {}}},
    }
    try:
        async with _answering():
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


async def count_matches(
    client: AsyncOpenSearch,
    text: str,
    *,
    source: str | None = None,
    kind: str | None = None,
    include_removed: bool = False,
    domains: frozenset[str] | None = None,
    sources: frozenset[str] | None = None,
    granted: frozenset[str] | None = None,
    index: str = INDEX,
) -> int:
    """How many tables ``search`` would rank for these arguments, in all."""
    query = _query(text, source, kind, include_removed, domains, sources, granted)
    try:
        async with _answering():
            return (await client.count(index=index, body={"query": query}))["count"]
    except NotFoundError:
        return 0
