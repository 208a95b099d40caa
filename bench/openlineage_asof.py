"""Column lineage through time: 5 hops upstream of a column ``asOf`` a past moment, on the
scale-100 estate plus 10^5 OpenLineage run events, DataWave's query beside the naive one.

    .venv/bin/python bench/openlineage_asof.py [--runs 100000] [--queries 200]

Graph: the scale-100 demo estate (bench/ingest_support/estate.py: its captured discovery
events, under sources of this bench's own, ``asof-acme-*``, written as the worker writes them)
and ``--chains`` chains of 6 tables (6 columns each) fed column by column by 5 jobs; each job
completes ``runs / (5 * chains)`` runs, one every ten minutes, reading the table before it
in the first half of its history and an alternate table afterwards: before the switch a
column's lineage is 5 hops deep, after it one (an edge keeps one interval, docs/lineage.md).
The events go through ``graph.batch.apply_batch`` in batches of ``--batch``, as the ingest
worker writes them.

Query: ``lineage(urn, UPSTREAM, depth 5, COLUMN, asOf)`` (graph/lineage_queries.py, what the
GraphQL field runs) for the last column of a random chain at a random moment of its history;
naive: a variable-length ``FEEDS*1..5`` match filtered on ``since``/``until`` afterwards. Both
must find the same columns. Prints p50/p95 of each, their ratio and the plan's index use.
Results: docs/benchmarks.md. The bench removes what it wrote, the estate included.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this directory would shadow the project's `ingest` package

from bench.ingest_support.estate import bench_sources, estate  # noqa: E402
from core.events import parse_event  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.sources import DataSourceConfig  # noqa: E402
from core.urns import column_urn, table_urn  # noqa: E402
from graph import lineage_queries as lq  # noqa: E402
from graph.batch import apply_batch  # noqa: E402
from graph.driver import open_driver, read  # noqa: E402
from graph.sources import register_source  # noqa: E402
from ingest.openlineage.envelope import wrap  # noqa: E402

SOURCE, HOST, DB = "bench-asof", "bench-asof.invalid", "asofdb"
NAMESPACE = f"postgres://{HOST}:5432"
JOBS = "bench-asof-jobs"
COLUMNS = [f"c{i}" for i in range(6)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
NAIVE = """
MATCH (c:Asset {urn: $urn})
MATCH p = (c)<-[:FEEDS*1..5]-(u:Column)
WHERE all(r IN relationships(p) WHERE r.since <= $asOf AND (r.until IS NULL OR r.until > $asOf))
RETURN DISTINCT u.urn AS urn
"""
CLEANUP = """
MATCH (n) WHERE n.source IN $names OR (n:DataSource AND n.name IN $names)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS
"""
# The estate's sources, renamed so that this bench never touches bench/ingest.py's.
OWN, THEIRS = "asof-", "bench-"
COUNTS = "MATCH (r:Run) RETURN count(r) AS runs"


def dataset(name: str, inputs: list[str] | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "schema": {"_producer": SPEC, "_schemaURL": SPEC, "fields": [{"name": c} for c in COLUMNS]}
    }
    if inputs:
        fields = {
            c: {"inputFields": [{"namespace": NAMESPACE, "name": i, "field": c,
                                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
                                for i in inputs]}
            for c in COLUMNS
        }  # fmt: skip
        facets["columnLineage"] = {"_producer": SPEC, "_schemaURL": SPEC, "fields": fields}
    return {"namespace": NAMESPACE, "name": f"{DB}.public.{name}", "facets": facets}


def table_name(chain: int, hop: int) -> str:
    return f"t{chain}_{hop}"


def chain_events(chains: int, runs: int) -> list[dict[str, Any]]:
    """COMPLETE events of every job, oldest first."""
    per_job = max(1, runs // (5 * chains))
    out = []
    for n in range(per_job):
        at = (T0 + timedelta(minutes=10 * n)).isoformat()
        for chain in range(chains):
            for hop in range(1, 6):
                source = table_name(chain, hop - 1) if n < per_job // 2 else f"alt{chain}_{hop}"
                out.append({
                    "eventType": "COMPLETE", "eventTime": at, "producer": SPEC,
                    "schemaURL": SPEC, "run": {"runId": str(uuid.uuid4())},
                    "job": {"namespace": JOBS, "name": f"chain{chain}.hop{hop}"},
                    "inputs": [dataset(source)],
                    "outputs": [dataset(table_name(chain, hop), [f"{DB}.public.{source}"])],
                })  # fmt: skip
    return out


async def load(driver: Any, db: str, settings: Settings, args: argparse.Namespace) -> None:
    found = await estate(settings, 100)
    for source in own_sources():
        await register_source(driver, db, source)
    prefix = f"{THEIRS}acme-".encode(), f"{OWN}acme-".encode()
    values = [parse_event(value.replace(*prefix)) for _, value in found.records]
    started = time.perf_counter()
    for i in range(0, len(values), 500):
        await apply_batch(driver, db, values[i : i + 500])
    print(f"estate: {len(found.tables)} tables in {time.perf_counter() - started:.0f} s")
    source = DataSourceConfig(name=SOURCE, kind="postgresql", host=HOST, port=5432, databases=[DB])
    await register_source(driver, db, source)
    events = chain_events(args.chains, args.runs)
    started = time.perf_counter()
    for i in range(0, len(events), args.batch):
        await apply_batch(driver, db, [wrap(e) for e in events[i : i + args.batch]])
    seconds = time.perf_counter() - started
    print(f"run events: {len(events)} in {seconds:.0f} s ({len(events) / seconds:.0f}/s)")


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[18]


async def measure(driver: Any, db: str, args: argparse.Namespace) -> None:
    per_job = max(1, args.runs // (5 * args.chains))
    switch = T0 + timedelta(minutes=10 * (per_job // 2))
    rng = random.Random(16)
    cases = []
    for _ in range(args.queries):
        chain = rng.randrange(args.chains)
        urn = column_urn(table_urn(SOURCE, DB, "public", table_name(chain, 5)), "c0")
        cases.append((urn, T0 + timedelta(minutes=rng.uniform(0, 10 * per_job))))
    ours, naive = [], []
    for urn, as_of in cases[:10]:  # warm-up: plans compiled, pages cached
        await lq.lineage(driver, db, urn, lq.Direction.UPSTREAM, 5, lq.Level.COLUMN, as_of=as_of)
        await read(driver, db, NAIVE, urn=urn, asOf=as_of)
    for urn, as_of in cases:
        started = time.perf_counter()
        graph = await lq.lineage(
            driver, db, urn, lq.Direction.UPSTREAM, 5, lq.Level.COLUMN, as_of=as_of
        )
        ours.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        rows = await read(driver, db, NAIVE, urn=urn, asOf=as_of)
        naive.append((time.perf_counter() - started) * 1000)
        found = {n.urn for n in graph.nodes} - {urn} if graph else set()
        assert found == {r["urn"] for r in rows}, (urn, as_of)
        assert len(found) == (5 if as_of < switch else 1), (as_of, found)
    (p50, p95), (n50, n95) = percentiles(ours), percentiles(naive)
    print(f"DataWave lineage asOf, 5 hops: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"naive FEEDS*1..5 then filter: p50 {n50:.1f} ms, p95 {n95:.1f} ms")
    print(f"ratio (naive / DataWave) at p95: {n95 / p95:.1f}x")
    query = lq.LINEAGE_QUERIES[(lq.Direction.UPSTREAM, 5)]
    async with driver.session(database=db) as session:
        result = await session.run(
            "PROFILE " + query, urn=cases[0][0], level="column", maxNodes=lq.MAX_NODES,
            includeRemoved=False, asOf=cases[0][1],
        )  # fmt: skip
        summary = await result.consume()
    print(f"plan: {', '.join(sorted(set(operators(summary.profile))))}")


def operators(plan: dict[str, Any]) -> list[str]:
    """The plan's operators that find nodes (index seeks or scans)."""
    own = [plan["operatorType"].split("@")[0]]
    own = [o for o in own if "Seek" in o or "Scan" in o]
    return own + [o for child in plan.get("children", []) for o in operators(child)]


def own_sources() -> list[DataSourceConfig]:
    return [
        s.model_copy(update={"name": OWN + s.name.removeprefix(THEIRS)}) for s in bench_sources()
    ]


async def cleanup(driver: Any, db: str, names: list[str]) -> None:
    async with driver.session(database=db) as session:  # IN TRANSACTIONS: an implicit one
        await (await session.run(CLEANUP, names=names)).consume()


async def main(args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None)
    db = settings.neo4j.database
    names = [SOURCE, JOBS, *(s.name for s in own_sources())]
    async with open_driver(settings.neo4j) as driver:
        await cleanup(driver, db, names)
        try:
            await load(driver, db, settings, args)
            print(f"graph: {(await read(driver, db, COUNTS))[0]['runs']} runs in all")
            await measure(driver, db, args)
        finally:
            await cleanup(driver, db, names)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="run events (COMPLETE)")
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--batch", type=int, default=2000, help="events a transaction")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    asyncio.run(main(args))
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
