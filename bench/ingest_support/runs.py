"""Ingest workers as subprocesses, timed from their first partition assignment until their
group has committed every record of the topic, with their resident memory sampled meanwhile.

Start-up (imports, migrations check, the group's join delay) is left out: a worker is a
long-running service, and what is measured is how fast it drains a backlog.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from bench.api_support import cpu_seconds, free_port
from core.settings import Settings
from ingest.producer import EventProducer

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_S = 0.1
START_TIMEOUT_S = 60
MIB = 2**20


@dataclass(frozen=True)
class Run:
    """One drained backlog: wall time, the workers' summed RSS (MiB) at each sample, the
    changes Neo4j reported for their statements (``datawave_neo4j_writes_total``), by kind, and
    the CPU seconds the workers and each watched service spent meanwhile."""

    seconds: float
    rss: list[float]
    writes: dict[str, float]
    cpu: dict[str, float]

    def rate(self, n: int) -> float:
        return n / self.seconds


def topics(topic: str) -> dict[str, str]:
    """The bench's own topics: events in, and the workers' dead letters and announcements."""
    return {"topics": topic, "dlq_topic": f"{topic}.dlq", "changes_topic": f"{topic}.changes"}


async def create_topics(admin: AIOKafkaAdminClient, settings: Settings, topic: str) -> None:
    partitions = settings.kafka.topic_partitions
    await admin.create_topics([NewTopic(n, partitions, 1) for n in topics(topic).values()])


async def delete_topics(admin: AIOKafkaAdminClient, topic: str) -> None:
    await admin.delete_topics(list(topics(topic).values()))


async def publish(
    settings: Settings, topic: str, records: Sequence[tuple[bytes, bytes]]
) -> dict[TopicPartition, int]:
    """Publish raw (key, value) records; return the end offset of every partition written."""
    async with EventProducer(settings.kafka, topic) as producer:
        sent = [await producer.send(value, key) for key, value in records]
        await producer.flush()
        ends: dict[TopicPartition, int] = {}
        for meta in await asyncio.gather(*sent):
            tp = TopicPartition(topic, meta.partition)
            ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


class _Worker:
    """One ``python -m ingest.worker`` process; its log tells when it got partitions."""

    def __init__(self, proc: asyncio.subprocess.Process, metrics: str) -> None:
        self.proc = proc
        self.metrics = metrics
        self.ps = psutil.Process(proc.pid)
        self.assigned = asyncio.Event()
        self.tail: deque[str] = deque(maxlen=20)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            if " assigned [" in line:
                self.assigned.set()

    def check_alive(self) -> None:
        if self.proc.returncode is not None:
            log = "\n".join(self.tail)
            raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{log}")

    async def writes(self) -> dict[str, float]:
        """The graph changes the worker counted so far (its /metrics)."""
        async with httpx.AsyncClient() as client:
            text = (await client.get(self.metrics)).text
        return {
            sample.labels["kind"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "datawave_neo4j_writes"
            for sample in family.samples
            if sample.name == "datawave_neo4j_writes_total"
        }

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)
        await self._reader


async def _spawn(env: dict[str, str]) -> _Worker:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingest.worker", cwd=ROOT,
        env=env | {"DATAWAVE_INGEST__METRICS_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return _Worker(proc, f"http://127.0.0.1:{port}/metrics")


async def drained(admin: AIOKafkaAdminClient, group: str, ends: dict[TopicPartition, int]) -> bool:
    committed = await admin.list_consumer_group_offsets(group)
    return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items())


async def drain(
    admin: AIOKafkaAdminClient,
    topic: str,
    group: str,
    ends: dict[TopicPartition, int],
    *,
    workers: int = 1,
    settings: dict[str, str] | None = None,
    services: dict[str, psutil.Process] | None = None,
) -> Run:
    """Run ``workers`` processes in ``group`` on ``topic`` until it is committed up to ``ends``.

    ``settings`` are ``IngestSettings`` fields (``batch_size``) passed as environment variables;
    ``services`` (Neo4j, Kafka) have their CPU counted beside the workers'.
    """
    fields = topics(topic) | {"topics": json.dumps([topic]), "group_id": group, **(settings or {})}
    env = os.environ | {f"DATAWAVE_INGEST__{k.upper()}": v for k, v in fields.items()}
    procs = [await _spawn(env) for _ in range(workers)]
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not any(p.assigned.is_set() for p in procs):
                for p in procs:
                    p.check_alive()
                await asyncio.sleep(0.01)
        started = time.perf_counter()
        watched = {"workers": [p.ps for p in procs]} | {
            name: [ps] for name, ps in (services or {}).items()
        }
        cpu0 = {name: cpu_seconds(ps) for name, ps in watched.items()}
        rss: list[float] = []
        while not await drained(admin, group, ends):
            for p in procs:
                p.check_alive()
            rss.append(sum(p.ps.memory_info().rss for p in procs) / MIB)
            await asyncio.sleep(SAMPLE_S)
        seconds = time.perf_counter() - started
        cpu = {name: cpu_seconds(ps) - cpu0[name] for name, ps in watched.items()}
        writes: dict[str, float] = {}
        for p in procs:
            for kind, n in (await p.writes()).items():
                writes[kind] = writes.get(kind, 0) + n
        return Run(seconds, rss, writes, cpu)
    finally:
        await asyncio.gather(*(p.stop() for p in procs))
