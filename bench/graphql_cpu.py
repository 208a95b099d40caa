"""CPU per cold request: DataWave's API processes and Neo4j, beside @neo4j/graphql's.

Throughput ratios (``bench/graphql.py``) move with whatever else the machine runs; CPU seconds
per request served move much less, so a change to the read path shows here when it hides in
req/s (docs/benchmarks.md, issue 17). Run alone with ``.venv/bin/python bench/graphql_cpu.py``
(the local stack and the demo estate as for ``bench/graphql.py``). Both servers run for the
whole bench (DataWave with its read cache off and ``BENCH_WORKERS`` API processes; the peer's
one Node process, warm); for each query of ``bench/graphql.py``, one server at a time, it
warms up, drives ``CONCURRENCY`` connections for ``DURATION_S`` seconds, and reads the CPU time
(user and system, by psutil) of the server's processes and of Neo4j before and after, divided
by the requests answered. Same environment overrides as ``bench/graphql.py``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # as bench/graphql.py: this directory would shadow graphql-core

from bench.api_support import services, start_datawave, stop  # noqa: E402
from bench.api_support.load import drive  # noqa: E402
from bench.graphql import (  # noqa: E402
    CONCURRENCY,
    DURATION_S,
    DW_QUERIES,
    PEER_QUERIES,
    WARMUP_S,
    WORKERS,
    shape,
    start_peer,
)
from core.settings import Settings  # noqa: E402
from security.auth import mint_token  # noqa: E402


def cpu(processes: list[psutil.Process]) -> tuple[float, float]:
    """CPU seconds (user and system, system alone) the processes have used so far."""
    times = [p.cpu_times() for p in processes]
    return sum(t.user + t.system for t in times), sum(t.system for t in times)


def measure(
    url: str, body: bytes, headers: dict[str, str], server: list[psutil.Process],
    neo4j: psutil.Process | None,
) -> dict:  # fmt: skip
    """Requests/s, and CPU ms per request of ``server``'s processes and of Neo4j."""
    drive(url, body, headers, WARMUP_S, CONCURRENCY)
    graph = [neo4j] if neo4j else []
    (api0, sys0), (db0, _) = cpu(server), cpu(graph)
    latencies, failures = drive(url, body, headers, DURATION_S, CONCURRENCY)
    (api1, sys1), (db1, _) = cpu(server), cpu(graph)
    n = max(1, len(latencies))
    return {
        "rps": len(latencies) / DURATION_S,
        "api_ms": 1000 * (api1 - api0) / n,
        "sys_ms": 1000 * (sys1 - sys0) / n,
        "neo4j_ms": 1000 * (db1 - db0) / n if graph else float("nan"),
        "failures": failures,
    }


def main() -> None:
    settings = Settings(_env_file=None)
    token = mint_token(settings.auth, "bench", ["admin"], ttl_s=3600)
    results: dict[tuple[str, str], dict] = {}
    neo4j = services(settings).get("neo4j")
    ours, ours_url = start_datawave(workers=WORKERS, env={"DATAWAVE_CACHE_TTL_S": "0"})
    try:
        peer, peer_url = start_peer(settings)
    except BaseException:
        stop([ours])
        raise
    try:
        servers = {
            "cache off": (ours_url, {"Authorization": f"Bearer {token}"}, DW_QUERIES, ours),
            "peer": (peer_url, {}, PEER_QUERIES, peer),
        }
        for name in DW_QUERIES:
            for side, (url, headers, queries, proc) in servers.items():
                query, variables = queries[name]
                answer = httpx.post(url, json={"query": query, "variables": variables},
                                    headers=headers, timeout=30).json()  # fmt: skip
                if answer.get("errors") or not answer.get("data"):
                    raise SystemExit(f"{side} {name}: {answer}")
                print(f"  {name:9s} {side:9s} returns {shape(name, answer['data'])}", flush=True)
                body = json.dumps({"query": query, "variables": variables}).encode()
                server = psutil.Process(proc.pid)
                tree = [server, *server.children(recursive=True)]  # serve spawns its workers
                results[(name, side)] = measure(url, body, headers, tree, neo4j)
    finally:
        stop([ours, peer])
    print(f"\nconcurrency {CONCURRENCY}, {DURATION_S:g} s per run, DataWave workers {WORKERS}, "
          f"load average {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    head = f"{'query':9s} | {'server':9s} | {'req/s':>7s} | {'API ms/req (system)':>20s} | "
    head += f"{'Neo4j ms/req':>12s}"
    print(head)
    print("-" * len(head))
    for name in DW_QUERIES:
        for side in ("cache off", "peer"):
            r = results[(name, side)]
            api = f"{r['api_ms']:.2f} ({r['sys_ms']:.2f})"
            print(
                f"{name:9s} | {side:9s} | {r['rps']:7.1f} | {api:>20s} | {r['neo4j_ms']:12.2f}"
                + (f"  failures {r['failures']}" if r["failures"] else "")
            )
        ratio = results[(name, "cache off")]["api_ms"] / results[(name, "peer")]["api_ms"]
        print(f"{name:9s} | API CPU per request, DataWave / peer: {ratio:.2f}")


if __name__ == "__main__":
    main()
