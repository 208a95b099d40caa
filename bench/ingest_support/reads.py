"""Reads at the estate's size: an ``assets`` page with filters, ``search``, ``lineage`` and
``impact`` through the API (``datawave serve``, its Redis cache off, so every read reaches
Neo4j or OpenSearch), each asked about distinct subjects of the bench's area, p50 and p95 per
query. Run at two scales, the ratio tells how reads grow with the catalogue (issue 17: at 10^6
columns, within 2x of scale 100).

The bench's tables are indexed in OpenSearch for the search (the workers announce on the
bench's own topic, which no relay reads); ``refresh_index`` after the area is cleared drops
them again.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from typing import Any

import httpx
from neo4j import AsyncDriver
from opensearchpy import AsyncOpenSearch

from bench.api_support import pct, start_datawave, stop
from bench.ingest_support.estate import Estate
from core.settings import Settings
from core.urns import Urn, domain_urn
from graph.domains import assign, create_domain
from graph.driver import write
from live.search import reindex
from security.auth import mint_token

SAMPLES = 40
WARM_UP = 3
INDEX_CHUNK = 500
QUERIES = {
    # The first page of a whole source, as a catalogue opens it (its count is not asked: it
    # reads every column of the source, docs/benchmarks.md).
    "assets: columns of a source, by name": """
      query ($source: String!) {
        assets(filter: {source: $source, kind: COLUMN}, first: 50) {
          edges { node { id name } } pageInfo { hasNextPage } } }""",
    # The same page for a steward whose domain holds the estate's schemas, and nothing else
    # does: read from what the domain holds, not walked up from each column to its domains.
    "assets: a domain steward's columns of a source": """
      query ($source: String!) {
        assets(filter: {source: $source, kind: COLUMN}, first: 50) {
          edges { node { id name } } pageInfo { hasNextPage } } }""",
    # The catalogue's first page of every asset, and of every asset of a source: each kind's
    # page, merged (the ``Asset`` label has no index in name order).
    "assets: every asset, by name": """
      query { assets(first: 50) { edges { node { id name } } pageInfo { hasNextPage } } }""",
    "assets: every asset of a source, by name": """
      query ($source: String!) {
        assets(filter: {source: $source}, first: 50) {
          edges { node { id name } } pageInfo { hasNextPage } } }""",
    "assets: columns of a source, by text": """
      query ($source: String!, $text: String!) {
        assets(filter: {source: $source, kind: COLUMN, text: $text}, first: 50) {
          totalCount edges { node { id name } } } }""",
    "assets: tables of a schema": """
      query ($source: String!, $schema: ID!) {
        assets(filter: {source: $source, kind: TABLE, schema: $schema}, first: 50) {
          totalCount edges { node { id name } } } }""",
    "search": """
      query ($source: String!, $text: String!) {
        search(text: $text, source: $source) {
          totalCount edges { node { score asset { id name } } } } }""",
    "lineage: upstream, depth 5": """
      query ($urn: ID!) {
        lineage(urn: $urn, direction: UPSTREAM, depth: 5) { nodes { id } edges { from to } } }""",
    "impact": """
      query ($urn: ID!) { impact(urn: $urn) { urn truncated assets { __typename } } }""",
}


def variables(estate: Estate, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """``SAMPLES`` distinct subjects per query, drawn from the estate (seeded)."""
    picks = rng.sample(range(len(estate.tables)), min(SAMPLES, len(estate.tables)))
    tables = [(estate.urns[i], estate.tables[i]) for i in picks]
    views = [(u, t) for u, t in zip(estate.urns, estate.tables, strict=True) if t.lineage]
    views = rng.sample(views, min(SAMPLES, len(views)))
    upstream = sorted({e.upstream_urn for _, t in views for e in t.lineage} & set(estate.urns))
    return {
        "assets: columns of a source, by name": [
            {"source": Urn.parse(u).source} for u, _ in tables
        ],
        "assets: a domain steward's columns of a source": [
            {"source": Urn.parse(u).source} for u, _ in tables
        ],
        "assets: every asset, by name": [{} for _ in tables],
        "assets: every asset of a source, by name": [
            {"source": Urn.parse(u).source} for u, _ in tables
        ],
        "assets: columns of a source, by text": [
            {"source": Urn.parse(u).source, "text": rng.choice(t.columns).name} for u, t in tables
        ],
        "assets: tables of a schema": [
            {"source": Urn.parse(u).source, "schema": t.schema_urn} for u, t in tables
        ],
        "search": [{"source": Urn.parse(u).source, "text": t.name} for u, t in tables],
        "lineage: upstream, depth 5": [{"urn": u} for u, _ in views],
        "impact": [{"urn": u} for u in rng.sample(upstream, min(SAMPLES, len(upstream)))],
    }


async def refresh_index(settings: Settings, driver: AsyncDriver, estate: Estate) -> None:
    """Index the area's tables as the graph holds them: all of them after a scan, none once
    the area is cleared (``reindex`` drops what the graph lacks)."""
    client = AsyncOpenSearch(hosts=[settings.opensearch_url], timeout=60)
    try:
        for i in range(0, len(estate.urns), INDEX_CHUNK):
            await reindex(client, driver, settings.neo4j.database, estate.urns[i : i + INDEX_CHUNK])
    finally:
        await client.close()


async def _timed(
    client: httpx.AsyncClient, url: str, query: str, v: dict[str, Any], token: str
) -> tuple[float, bool]:
    """Seconds the query took, and whether it found anything."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    r = await client.post(url, json={"query": query, "variables": v}, headers=headers)
    elapsed = time.perf_counter() - started
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{query.split('(')[0].strip()} {v}: {r.status_code} {body}")
    return elapsed, any(k in r.text for k in ('"id"', '"__typename"'))


async def measure_reads(settings: Settings, driver: AsyncDriver, estate: Estate) -> None:
    """Each query once per subject, one at a time, against a fresh API with its cache off;
    prints p50 and p95 per query."""
    os.environ["DATAWAVE_CACHE_TTL_S"] = "0"  # inherited by the server started below
    actor = f"bench-reads-{uuid.uuid4().hex[:8]}"
    db = settings.neo4j.database
    token = mint_token(settings.auth, actor, ["steward"], ttl_s=3600)
    domain = f"{actor}-domain"
    await create_domain(driver, db, domain_urn(domain), domain, None, [], actor)
    await assign(driver, db, domain_urn(domain), sorted({t.schema_urn for t in estate.tables}))
    domain_token = mint_token(settings.auth, actor, ["steward"], domains=[domain], ttl_s=3600)
    proc, url = await asyncio.to_thread(start_datawave)
    try:
        await refresh_index(settings, driver, estate)
        async with httpx.AsyncClient(timeout=60) as client:
            for name, vs in variables(estate, random.Random(17)).items():
                as_whom = domain_token if "domain steward" in name else token
                for v in vs[:WARM_UP]:
                    await _timed(client, url, QUERIES[name], v, as_whom)
                timed = [await _timed(client, url, QUERIES[name], v, as_whom) for v in vs]
                times = [t for t, _ in timed]
                print(f"  reads, {name}: p50 {pct(times, 50):.0f} ms, p95 {pct(times, 95):.0f} "
                      f"ms ({len(times)} subjects, {sum(f for _, f in timed)} found something)",
                      flush=True)  # fmt: skip
    finally:
        await asyncio.to_thread(stop, [proc])
        query = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
        await write(driver, db, query, actor=actor)
        await write(driver, db, "MATCH (d:Domain {name: $name}) DETACH DELETE d", name=domain)
