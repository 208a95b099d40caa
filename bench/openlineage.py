"""OpenLineage ingest, end to end: run events through ``POST /api/v1/lineage``, Kafka and the
ingest worker into Neo4j, side by side with the naive path (one transaction per event).

    .venv/bin/python bench/openlineage.py [--runs 1000] [--concurrency 8] [--batch 100]
        [--worker-batch 500] [--workers 1]

Input: ``--runs`` runs of 100 jobs, each a START and a COMPLETE event with 3 inputs and 2
outputs of 6 columns (PostgreSQL tables of a source registered for the bench, on a host that
does not exist) and column lineage for every output column (two inputs each), as
``openlineage-python`` builds them.

1. DataWave: the API (``datawave serve``, a process of its own, as a pipeline reaches it) takes
   the events over HTTP from this process, ``--batch`` events a request (``POST
   /api/v1/lineage/batch``; 1: one event a request to ``/api/v1/lineage``), ``--concurrency``
   requests in flight; ``--workers`` ``python -m ingest.worker`` processes (a fresh
   consumer group starting at the end of ``datawave.lineage.v1``, ``--worker-batch`` events a
   transaction) writes them. Timed from the first request until every run is COMPLETE in the
   graph.
2. Naive: the same events, validated and written one per transaction (``graph.batch.apply_batch``
   of one event), no HTTP or Kafka.

Both must leave the same graph (runs, FEEDS with their properties). Where the time goes: the
CPU seconds each process spent per 1,000 events during the DataWave run (this process, the
client; the API; the worker; Neo4j; Kafka) beside the whole machine's busy CPU (other
work on a shared machine included). The bench removes what it wrote. Results:
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this directory would shadow the project's `ingest` package

import httpx  # noqa: E402
import psutil  # noqa: E402
from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402
from openlineage.client.event_v2 import RunState  # noqa: E402
from openlineage.client.serde import Serde  # noqa: E402

from bench.api_support import cpu_seconds, services, start_datawave, stop  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.sources import DataSourceConfig  # noqa: E402
from core.topics import LINEAGE  # noqa: E402
from graph.batch import apply_batch  # noqa: E402
from graph.driver import open_driver, read, write  # noqa: E402
from graph.sources import register_source  # noqa: E402
from ingest.openlineage.envelope import wrap  # noqa: E402
from security.auth import mint_token  # noqa: E402
from tests.factories import eventually  # noqa: E402
from tests.integration.lineage.producers import derived, run_event, table  # noqa: E402

SOURCE, HOST, DB = "bench-ol", "bench-ol.invalid", "benchdb"
NAMESPACE = f"postgres://{HOST}:5432"
JOBS = "bench-ol-jobs"
COLUMNS = [f"c{i}" for i in range(6)]
DONE = "MATCH (r:Run {source: $ns}) WHERE r.state = 'COMPLETE' RETURN count(r) AS n"
DIGEST = """
MATCH (a)-[f:FEEDS]->(b) WHERE f.via STARTS WITH 'urn:dw:job:' + $ns
RETURN a.urn AS a, b.urn AS b, f.since AS since, f.transformations AS t ORDER BY a, b
"""
CLEANUP = """
MATCH (n) WHERE n.source IN [$source, $ns]
DETACH DELETE n
"""


def events(runs: int, ns: str) -> list[bytes]:
    out = []
    for i in range(runs):
        job = (ns, f"dag{i % 100}.task")
        run_id = str(uuid.UUID(int=i + 1))
        ins = [f"{DB}.public.src_{(i % 100) * 3 + k}" for k in range(3)]
        outs = [f"{DB}.public.out_{(i % 100) * 2 + k}" for k in range(2)]
        inputs = [(NAMESPACE, name, table(name, *COLUMNS)) for name in ins]
        mapping = [
            (c, NAMESPACE, ins[(n + k) % 3], c, "DIRECT/TRANSFORMATION", False)
            for n, c in enumerate(COLUMNS)
            for k in range(2)
        ]
        outputs = [
            (NAMESPACE, name, {**table(name, *COLUMNS), **derived(*mapping)}) for name in outs
        ]
        for state, minute in ((RunState.START, i), (RunState.COMPLETE, i + 0.5)):
            event = run_event(state, run_id, job, minute, inputs=inputs, outputs=outputs)
            out.append(Serde.to_json(event).encode())
    return out


class CpuShare:
    """CPU seconds of the processes of the path between ``start`` and ``stop``."""

    def __init__(self, processes: dict[str, psutil.Process | None]) -> None:
        self.processes = {name: p for name, p in processes.items() if p is not None}
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        times = {name: cpu_seconds([p]) for name, p in self.processes.items()}
        machine = psutil.cpu_times()
        return times | {"machine": machine.user + machine.system + machine.nice}

    def start(self) -> None:
        self.before = self._now()

    def report(self, events: int, seconds: float) -> str:
        spent = {k: v - self.before[k] for k, v in self._now().items()}
        parts = [f"{name} {1000 * s / events:.2f}" for name, s in spent.items()]
        busy = spent["machine"] / seconds / psutil.cpu_count()
        return f"  CPU s per 1,000 events: {', '.join(parts)} (machine busy {busy:.0%})"


async def skip_to_end(settings: Settings, group: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        parts = [TopicPartition(LINEAGE, p) for p in range(settings.kafka.topic_partitions)]
        consumer.assign(parts)
        await consumer.commit(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def digest(driver: object, db: str, ns: str) -> str:
    rows = await read(driver, db, DIGEST, ns=ns)  # type: ignore[arg-type]
    text = json.dumps([[r["a"], r["b"], str(r["since"]), r["t"]] for r in rows])
    return f"{len(rows)} edges, {hashlib.sha256(text.encode()).hexdigest()[:12]}"


async def until_done(driver: object, db: str, ns: str, runs: int) -> None:
    async def done() -> bool:
        return (await read(driver, db, DONE, ns=ns))[0]["n"] >= runs  # type: ignore[arg-type]

    await eventually(done, timeout_s=1800)


def requests(bodies: list[bytes], batch: int) -> list[tuple[str, bytes]]:
    """The bodies to post and where: one event each, or JSON arrays of ``batch`` events."""
    if batch == 1:
        return [("/api/v1/lineage", body) for body in bodies]
    chunks = (bodies[i : i + batch] for i in range(0, len(bodies), batch))
    return [("/api/v1/lineage/batch", b"[" + b",".join(chunk) + b"]") for chunk in chunks]


async def datawave(
    settings: Settings, driver: object, bodies: list[bytes], runs: int, args: argparse.Namespace
) -> float:
    group = f"bench-ol-{uuid.uuid4().hex[:8]}"
    await skip_to_end(settings, group)
    env = os.environ | {
        "DATAWAVE_INGEST__GROUP_ID": group,
        "DATAWAVE_INGEST__BATCH_SIZE": str(args.worker_batch),
    }
    command = (sys.executable, "-m", "ingest.worker")
    workers = [
        await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env)
        for _ in range(args.workers)
    ]
    cpu = CpuShare(
        {
            "client": psutil.Process(),
            **{f"worker {i + 1}": psutil.Process(w.pid) for i, w in enumerate(workers)},
            **services(settings),
        }
    )
    token = mint_token(settings.auth, "bench-pipeline", ["service"], ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # The API as a pipeline's door only, in a process of its own as pipelines reach it: a
    # bucket that fits the load (each event is a request of the principal), no change relay
    # (start_datawave's default) and no watchers.
    off = {"DATAWAVE_WATCH_COMPLIANCE": "false", "DATAWAVE_WATCH_CONTRACTS": "false"}
    proc, graphql = await asyncio.to_thread(start_datawave, env=off)
    cpu.processes["API"] = psutil.Process(proc.pid)
    try:
        async with httpx.AsyncClient(base_url=graphql.removesuffix("/graphql")) as http:
            await asyncio.sleep(5 * args.workers)  # the workers join their group
            queue = list(reversed(requests(bodies, args.batch)))
            started = time.perf_counter()
            cpu.start()

            async def sender() -> None:
                while queue:
                    path, body = queue.pop()
                    response = await http.post(path, content=body, headers=headers, timeout=120)
                    response.raise_for_status()

            await asyncio.gather(*(sender() for _ in range(args.concurrency)))
            sent = time.perf_counter() - started
            await until_done(driver, settings.neo4j.database, JOBS, runs)
            total = time.perf_counter() - started
            print(f"  HTTP accepted all in {sent:.1f} s ({len(bodies) / sent:,.0f} events/s)")
            print(cpu.report(len(bodies), total))
            return total
    finally:
        await asyncio.to_thread(stop, [proc])
        for worker in workers:
            worker.terminate()
            await worker.wait()


async def naive(settings: Settings, driver: object, bodies: list[bytes], runs: int) -> float:
    db = settings.neo4j.database
    started = time.perf_counter()
    for body in bodies:
        await apply_batch(driver, db, [wrap(json.loads(body))])  # type: ignore[arg-type]
    await until_done(driver, db, JOBS + "-naive", runs)
    return time.perf_counter() - started


async def main(runs: int, args: argparse.Namespace) -> None:
    settings = Settings(_env_file=None)
    db = settings.neo4j.database
    async with open_driver(settings.neo4j) as driver:
        source = DataSourceConfig(
            name=SOURCE, kind="postgresql", host=HOST, port=5432, databases=[DB]
        )
        await register_source(driver, db, source)
        try:
            paths = [(JOBS, "datawave")] + ([] if args.no_naive else [(JOBS + "-naive", "naive")])
            for ns, path in paths:
                await write(driver, db, CLEANUP, source=SOURCE, ns=ns)
                await register_source(driver, db, source)
                bodies = events(runs, ns)
                if path == "datawave":
                    seconds = await datawave(settings, driver, bodies, runs, args)
                else:
                    seconds = await naive(settings, driver, bodies, runs)
                print(
                    f"{path}: {len(bodies)} events ({runs} runs) in {seconds:.1f} s = "
                    f"{len(bodies) / seconds:,.0f} events/s; graph: {await digest(driver, db, ns)}"
                )
        finally:
            for ns in (JOBS, JOBS + "-naive"):
                await write(driver, db, CLEANUP, source=SOURCE, ns=ns)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--batch", type=int, default=100, help="events a request (1: single)")
    parser.add_argument("--worker-batch", type=int, default=500, help="events a transaction")
    parser.add_argument("--workers", type=int, default=1, help="ingest worker processes")
    parser.add_argument("--no-naive", action="store_true", help="DataWave's path only")
    args = parser.parse_args()
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    asyncio.run(main(args.runs, args))
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
