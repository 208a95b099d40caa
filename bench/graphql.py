"""GraphQL API throughput and latency: DataWave vs @neo4j/graphql on Apollo Server.

Run alone with ``.venv/bin/python bench/graphql.py`` (the local stack's Neo4j and Redis up, the
demo estate in the graph; ``datawave stack up neo4j redis`` starts them). In one run it:

1. starts the DataWave API three times as subprocesses (``datawave serve --workers
   BENCH_WORKERS`` on free ports; rate limit raised out of the way, Kafka relay off, everything
   else as configured): compiled reads with the Redis read cache off
   (``DATAWAVE_CACHE_TTL_S=0``, every read a miss: the cold path), compiled reads with the
   cache on (as in production), and field by field with the cache off
   (``DATAWAVE_COMPILED_READS=false``, the resolver path compiled reads replace); and the
   peer: ``bench/neo4j-graphql/server.mjs`` (``@neo4j/graphql`` 7 on Apollo Server 5, typeDefs
   for Table, Column, Label and ``FEEDS``) over the same Neo4j, after ``npm ci`` into
   ``bench/neo4j-graphql`` (``node_modules`` is not committed);
2. for each of three equivalent queries, and for each server in turn (so all four share the
   same minutes of a machine other work also loads), warms up then drives it with
   ``CONCURRENCY`` closed-loop connections of vegeta (Go; ``bench/api_support/load.py``) for
   ``DURATION_S`` seconds, counting only responses with HTTP 200 and no GraphQL errors:

   - ``detail``: one table (the demo's widest, ``crm.contacts``) with its columns in ordinal
     order and their labels (name, category, status, confidence);
   - ``lineage5``: the 5-hop upstream table lineage of a view (DataWave
     ``lineage(urn, direction: UPSTREAM, depth: 5)``; peer: ``upstream`` nested 5 levels);
   - ``page100``: the first page of 100 live columns of the demo source ``acme-postgres`` by
     name (DataWave ``assets(first: 100, filter: {kind: COLUMN, source: ...})``; peer
     ``columns(limit: 100, where: {source, removedAt: null}, sort: [{name: ASC}])``). Columns
     of one demo source rather than all tables, because the demo estate has only ~50 tables and
     the shared graph also holds tables other runs write and remove, which would make the two
     sides page over different sets;
3. prints requests/s, p50 and p95 per server and each DataWave set-up's throughput as a
   multiple of the peer's, and the targets (issue 17: cache off >= 1.5x the peer, cache on
   >= 2x, on all three queries; lineage p95 <= 30 ms with the cache on).

DataWave calls carry an admin JWT minted in-process (``security.auth.mint_token``); the peer has no
auth. Env overrides: ``BENCH_DURATION_S`` (10), ``BENCH_CONCURRENCY`` (16),
``BENCH_WARMUP_S`` (2), ``BENCH_WORKERS`` (2: API processes per DataWave set-up, one per core
as a deployment on this machine runs it; the peer is one Node process).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

# Run as a script, this file's directory would come first on sys.path, and this file's name
# would shadow graphql-core: put the repository there instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)

from bench.api_support import free_port, npm_ci, pct, start_datawave, stop, wait_http  # noqa: E402
from bench.api_support.load import drive  # noqa: E402
from core.settings import Settings  # noqa: E402
from security.auth import mint_token  # noqa: E402

PEER_DIR = ROOT / "bench" / "neo4j-graphql"
DURATION_S = float(os.environ.get("BENCH_DURATION_S", "10"))
WARMUP_S = float(os.environ.get("BENCH_WARMUP_S", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
# API processes per DataWave set-up (`datawave serve --workers`); the peer is one Node process,
# as `node server.mjs` runs it.
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# The DataWave set-ups: name -> the API's environment on top of the bench's.
SETUPS: dict[str, dict[str, str]] = {
    "cache off": {"DATAWAVE_CACHE_TTL_S": "0"},
    "cache on": {},
    "field by field, cache off": {"DATAWAVE_CACHE_TTL_S": "0", "DATAWAVE_COMPILED_READS": "false"},
}
TARGETS = {"cache off": 1.5, "cache on": 2.0}  # throughput as a multiple of the peer's
LINEAGE_P95_MS = 30.0  # with the cache on

TABLE = "urn:dw:table:acme-mongo/crm/crm/contacts"
PAGE_SOURCE = "acme-postgres"
VIEW = "urn:dw:table:acme-postgres/analytics/marts/high_value_customers"

DW_QUERIES = {
    "detail": (
        """query($urn: ID!) { asset(urn: $urn) { id name ... on Table { kind
        columns { id name dataType nullable ordinal
          labels { status confidence label { name category } } } } } }""",
        {"urn": TABLE},
    ),
    "lineage5": (
        """query($urn: ID!) { lineage(urn: $urn, direction: UPSTREAM, depth: 5) {
        nodes { id name } edges { from to } truncated } }""",
        {"urn": VIEW},
    ),
    "page100": (
        """query($source: String!) { assets(first: 100,
          filter: {kind: COLUMN, source: $source}, sort: {field: NAME, direction: ASC}) {
        edges { node { id name source ... on Column { dataType nullable ordinal } } }
        pageInfo { hasNextPage endCursor } } }""",
        {"source": PAGE_SOURCE},
    ),
}


def _nested_upstream(levels: int) -> str:
    inner = "urn name"
    for _ in range(levels):
        inner = f"urn name upstream {{ {inner} }}"
    return inner


PEER_QUERIES = {
    "detail": (
        """query($urn: ID!) { tables(where: {urn: {eq: $urn}}) { urn name kind
        columns(sort: [{ordinal: ASC}]) { urn name dataType nullable ordinal
          labelsConnection { edges { properties { status confidence }
            node { name category } } } } } }""",
        {"urn": TABLE},
    ),
    "lineage5": (
        "query($urn: ID!) { tables(where: {urn: {eq: $urn}}) { " + _nested_upstream(5) + " } }",
        {"urn": VIEW},
    ),
    "page100": (
        """query($source: String!) { columns(limit: 100,
          where: {source: {eq: $source}, removedAt: {eq: null}},
          sort: [{name: ASC}, {urn: ASC}]) { urn name source dataType nullable ordinal } }""",
        {"source": PAGE_SOURCE},
    ),
}


def start_peer(settings: Settings) -> tuple[subprocess.Popen, str]:
    node = npm_ci(PEER_DIR)
    port = free_port()
    env = dict(os.environ)
    env.update(
        PORT=str(port),
        NEO4J_URI=settings.neo4j.uri,
        NEO4J_USER=settings.neo4j.user,
        NEO4J_PASSWORD=settings.neo4j.password.get_secret_value(),
    )
    proc = subprocess.Popen([node, "server.mjs"], cwd=PEER_DIR, env=env)
    wait_http(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}/"


async def check(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], query: str, variables: dict
) -> dict:
    r = await client.post(url, json={"query": query, "variables": variables}, headers=headers)
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise SystemExit(f"{url}: {r.status_code} {body}")
    return body["data"]


def shape(name: str, data: dict) -> str:
    """What a response holds, to show both sides answer with the same data."""
    if name == "detail":
        table = data["asset"] if "asset" in data else data["tables"][0]
        cols = table["columns"]
        labels = sum(
            len(c["labels"]) if "labels" in c else len(c["labelsConnection"]["edges"]) for c in cols
        )
        return f"{len(cols)} columns, {labels} labels"
    if name == "lineage5":
        if "lineage" in data:
            g = data["lineage"]
            return f"{len(g['nodes'])} nodes, {len(g['edges'])} edges"
        nodes: set[str] = set()
        edges: set[tuple[str, str]] = set()

        def walk(t: dict) -> None:
            nodes.add(t["urn"])
            for u in t.get("upstream", []):
                edges.add((u["urn"], t["urn"]))
                walk(u)

        walk(data["tables"][0])
        return f"{len(nodes)} nodes, {len(edges)} edges"
    items = data["assets"]["edges"] if "assets" in data else data["columns"]
    return f"{len(items)} items"


async def bench(servers: dict[str, str], token: str) -> dict:
    """``servers``: set-up name (or ``peer``) -> URL."""
    results: dict = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for name in DW_QUERIES:
            for side, url in servers.items():
                peer = side == "peer"
                headers = {} if peer else {"Authorization": f"Bearer {token}"}
                query, variables = PEER_QUERIES[name] if peer else DW_QUERIES[name]
                data = await check(client, url, headers, query, variables)
                print(f"  {name:9s} {side:26s} returns {shape(name, data)}", flush=True)
                body = json.dumps({"query": query, "variables": variables}).encode()
                await asyncio.to_thread(drive, url, body, headers, WARMUP_S, CONCURRENCY)
                lat, failures = await asyncio.to_thread(
                    drive, url, body, headers, DURATION_S, CONCURRENCY
                )
                results[(name, side)] = {
                    "rps": len(lat) / DURATION_S,
                    "p50": pct(lat, 50),
                    "p95": pct(lat, 95),
                    "failures": failures,
                }
    return results


def report(results: dict, sides: list[str]) -> None:
    print(
        f"\nconcurrency {CONCURRENCY}, {DURATION_S:g} s per run after {WARMUP_S:g} s warm-up, "
        f"DataWave workers {WORKERS}, load average {os.getloadavg()[0]:.2f}\n"
    )
    head = f"{'query':9s} | {'server':26s} | {'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>7s} | "
    head += f"{'x peer':>6s}"
    print(head)
    print("-" * len(head))
    for name in DW_QUERIES:
        peer = results[(name, "peer")]
        for side in sides:
            r = results[(name, side)]
            print(
                f"{name:9s} | {side:26s} | {r['rps']:7.1f} {r['p50']:7.1f} {r['p95']:7.1f} | "
                f"{r['rps'] / peer['rps']:6.2f}"
                + (f"  failures {r['failures']}" if r["failures"] else "")
            )
    print()
    for setup, target in TARGETS.items():
        ratios = {n: results[(n, setup)]["rps"] / results[(n, "peer")]["rps"] for n in DW_QUERIES}
        met = all(r >= target for r in ratios.values())
        shown = ", ".join(f"{n} {r:.2f}x" for n, r in ratios.items())
        print(f"target {setup} >= {target:g}x peer: {'met' if met else 'NOT met'} ({shown})")
    p95 = results[("lineage5", "cache on")]["p95"]
    print(
        f"target lineage5 p95 <= {LINEAGE_P95_MS:g} ms, cache on: "
        f"{'met' if p95 <= LINEAGE_P95_MS else 'NOT met'} ({p95:.1f} ms)"
    )


def main() -> None:
    settings = Settings(_env_file=None)
    token = mint_token(settings.auth, "bench", ["admin"], ttl_s=3600)
    procs: list[subprocess.Popen] = []
    servers: dict[str, str] = {}
    try:
        peer_proc, servers["peer"] = start_peer(settings)
        procs.append(peer_proc)
        for setup, env in SETUPS.items():
            proc, servers[setup] = start_datawave(workers=WORKERS, env=env)
            procs.append(proc)
        print("  ".join(f"{side} {url}" for side, url in servers.items()), flush=True)
        report(asyncio.run(bench(servers, token)), list(servers))
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
