"""The ingest benchmark's runner; ``bench/ingest.py`` says what it measures and how."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import psutil
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver

from bench.api_support import services
from bench.ingest_support import amundsen
from bench.ingest_support.census import Census, census, clear
from bench.ingest_support.estate import Estate, estate
from bench.ingest_support.reads import measure_reads, refresh_index
from bench.ingest_support.runs import Run, create_topics, delete_topics, drain, publish
from core.settings import Settings
from graph.driver import open_driver

TARGET_COLUMNS_S = 25_000  # issue 17
TARGET_VS_NAIVE = 5.0
RSS_LIMIT_MIB = 500
RESCAN_WRITES = 0.10  # of the first scan's, at most, for a rescan that finds nothing new
RESCAN_LATER = timedelta(hours=1)


@dataclass(frozen=True)
class Result:
    path: str
    seconds: float
    events: int | None  # None: the path does not consume events
    columns: int
    rss: list[float]
    writes: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, by process

    @property
    def columns_s(self) -> float:
        return self.columns / self.seconds

    def row(self, best: Result) -> str:
        events = f"{self.events / self.seconds:>9,.0f}" if self.events else f"{'-':>9}"
        ratio = best.columns_s / self.columns_s
        peak = f"{max(self.rss):,.0f}" if self.rss else "-"
        return (
            f"{self.path:<34}{self.seconds:>8.1f}{events}{self.columns_s:>11,.0f}"
            f"{ratio:>10.1f}x{peak:>9}"
        )

    def cpu_line(self) -> str:
        """Where the run's CPU went, per column: what bounds columns/s on a shared machine."""
        per = ", ".join(f"{name} {s * 1e6 / self.columns:,.0f}" for name, s in self.cpu.items())
        return f"CPU µs per column: {per}"


@dataclass
class Bench:
    settings: Settings
    driver: AsyncDriver
    admin: AIOKafkaAdminClient
    estate: Estate
    services: dict[str, psutil.Process]
    topic: str
    ends: dict[TopicPartition, int]
    rescan_ends: dict[TopicPartition, int]

    @property
    def database(self) -> str:
        return self.settings.neo4j.database

    async def worker_path(
        self,
        path: str,
        workers: int,
        settings: dict[str, str] | None = None,
        *,
        digest: bool,
        rescan: bool = False,
    ) -> tuple[Result, Census]:
        """Drain the topic in a fresh group into a cleared area (``rescan``: the rescan topic
        into the area as the last run left it); check and take the census."""
        topic, ends = (self.rescan_topic, self.rescan_ends) if rescan else (self.topic, self.ends)
        if not rescan:
            await clear(self.driver, self.database, self.estate)
        group = f"{topic}.{uuid.uuid4().hex[:6]}"
        run: Run = await drain(
            self.admin, topic, group, ends, workers=workers, settings=settings,
            services=self.services,
        )  # fmt: skip
        found = await census(self.driver, self.database, self.estate, digest=digest)
        found.check(self.estate, path)
        e = self.estate
        result = Result(path, run.seconds, len(e.records), e.columns, run.rss, run.writes, run.cpu)
        return result, found

    @property
    def rescan_topic(self) -> str:
        return f"{self.topic}.rescan"


def rss_profile(rss: list[float]) -> str:
    """RSS at 0, 25, 50, 75 and 100 % of the run."""
    picks = [rss[min(len(rss) - 1, len(rss) * q // 4)] for q in range(5)]
    return " / ".join(f"{v:,.0f}" for v in picks)


async def run(args: argparse.Namespace) -> None:
    settings = Settings()
    e = await estate(settings, args.scale)
    print(
        f"ingest, scale {args.scale}: {len(e.records):,} events, {len(e.tables):,} tables, "
        f"{e.columns:,} columns; {os.cpu_count()} cores",
        flush=True,
    )
    topic = f"dwbench-{uuid.uuid4().hex[:8]}.discovery"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    results: list[Result] = []
    try:
        async with open_driver(settings.neo4j) as driver:
            for t in (topic, f"{topic}.rescan"):
                await create_topics(admin, settings, t)
            ends = await publish(settings, topic, e.records)
            rescan_ends = await publish(settings, f"{topic}.rescan", e.rescan(RESCAN_LATER))
            bench = Bench(settings, driver, admin, e, services(settings), topic, ends, rescan_ends)
            try:
                results += await measure(bench, args)
            finally:
                await clear(driver, settings.neo4j.database, e)
                if not args.no_reads:
                    await refresh_index(settings, driver, e)
    finally:
        for t in (topic, f"{topic}.rescan"):
            await delete_topics(admin, t)
        await admin.close()
    report(results)


async def measure(bench: Bench, args: argparse.Namespace) -> list[Result]:
    runs, batched = [], None
    for i in range(args.runs):
        first = i == 0 and not args.no_naive  # the naive path is compared with it
        result, found = await bench.worker_path("DataWave worker", args.workers, digest=first)
        print(f"  run {i + 1}: {result.seconds:.1f} s, {result.columns_s:,.0f} columns/s, "
              f"RSS {rss_profile(result.rss)} MiB; {result.cpu_line()}", flush=True)  # fmt: skip
        runs.append(result)
        batched = batched or found.digest
    results = [sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]]  # the median
    # The area holds the last run's scan: the same estate scanned again, nothing new in it.
    again, _ = await bench.worker_path(
        "rescan, nothing new", args.workers, digest=False, rescan=True
    )
    scan = results[0]
    print(f"  rescan: {again.seconds:.1f} s; Neo4j writes {total(again.writes):,.0f}, "
          f"{share(again, scan):.1%} of the scan's {total(scan.writes):,.0f}; rescan "
          f"{writes_line(again.writes)}; scan {writes_line(scan.writes)}", flush=True)  # fmt: skip
    results.append(again)
    if not args.no_reads:  # the area holds the estate: read it at its size
        await measure_reads(bench.settings, bench.driver, bench.estate)
    if not args.no_naive:
        naive, found = await bench.worker_path(
            "naive (1 event per transaction)", args.workers, {"batch_size": "1"}, digest=True
        )
        if found.digest != batched:
            raise RuntimeError("the naive path's graph differs from the batched one")
        print(f"  naive: {naive.seconds:.1f} s, same graph as batched; "
              f"RSS {rss_profile(naive.rss)} MiB", flush=True)  # fmt: skip
        results.append(naive)
    if not args.no_amundsen:
        for key, name in amundsen.PUBLISHERS.items():
            done = await amundsen.publish(bench.settings, bench.driver, bench.estate, key)
            print(f"  Amundsen {name}: staged in {done.stage_s:.1f} s, "
                  f"published in {done.publish_s:.1f} s", flush=True)  # fmt: skip
            results.append(
                Result(f"Amundsen {name}", done.publish_s, None, bench.estate.columns, [])
            )
    return results


def total(writes: dict[str, float]) -> float:
    return sum(writes.values())


def share(rescan: Result, scan: Result) -> float:
    """A rescan's Neo4j writes as a share of the scan's."""
    return total(rescan.writes) / total(scan.writes)


def writes_line(writes: dict[str, float]) -> str:
    return ", ".join(f"{kind} {n:,.0f}" for kind, n in sorted(writes.items()))


def report(results: list[Result]) -> None:
    best = results[0]
    print(f"\n{'path':<34}{'seconds':>8}{'events/s':>9}{'columns/s':>11}{'DataWave':>11}"
          f"{'RSS MiB':>9}")  # fmt: skip
    for r in results:
        print(r.row(best))
    rescan = next(r for r in results if r.path.startswith("rescan"))
    others = [r for r in results[1:] if r is not rescan]
    naive = next((r for r in others if r.path.startswith("naive")), None)
    checks = [
        (f"columns/s >= {TARGET_COLUMNS_S:,}", best.columns_s >= TARGET_COLUMNS_S),
        (f"peak RSS < {RSS_LIMIT_MIB} MiB", max(best.rss) < RSS_LIMIT_MIB),
        (
            f"rescan writes <= {RESCAN_WRITES:.0%} of the scan's ({share(rescan, best):.1%})",
            share(rescan, best) <= RESCAN_WRITES,
        ),
    ]
    if naive:
        vs_naive = best.columns_s / naive.columns_s
        checks.append((f">= {TARGET_VS_NAIVE:.0f}x naive ({vs_naive:.1f}x)", vs_naive >= 5))
    checks += [(f"ahead of {r.path}", best.columns_s > r.columns_s) for r in others if not r.events]
    print("\ntargets: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in checks))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="DataWave runs (median reported)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes in the group")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-amundsen", action="store_true")
    parser.add_argument("--no-reads", action="store_true", help="skip the reads at this size")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
