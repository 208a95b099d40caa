"""What a rescan that finds nothing new costs the graph: Neo4j's own counters of what the
worker's statements changed (``datawave_neo4j_writes_total``), against the first scan's."""

from __future__ import annotations

from neo4j import AsyncDriver
from prometheus_client import REGISTRY

from core.events import Event
from core.settings import IngestSettings, Settings
from graph.driver import WRITE_KINDS, read
from ingest.producer import EventProducer
from ingest.worker import Worker
from tests.factories import Source, columns, eventually, running

SEEN = "MATCH (t:Table {source: $source}) RETURN collect(DISTINCT t.lastSeenAt) AS seen"


def scan(src: Source, tables: int = 30) -> list[Event]:
    cols = columns("id:int", "parent_id:int?", *(f"c{i}:varchar?" for i in range(8)))
    names = [f"t{i:02d}" for i in range(tables)]
    fks = [{"parent_id": (names[i - 1], "id")} if i else None for i in range(tables)]
    return [
        src.checked(),
        *src.containers(),
        *(src.table(n, cols, fks=fk) for n, fk in zip(names, fks, strict=True)),
        src.scanned(*names),
    ]


def writes() -> float:
    return sum(
        REGISTRY.get_sample_value("datawave_neo4j_writes_total", {"kind": kind}) or 0
        for kind in WRITE_KINDS
    )


async def drain(cfg: IngestSettings, settings: Settings, neo4j: AsyncDriver, n: int) -> float:
    """Run a worker until it has written ``n`` more events; the Neo4j writes it took."""
    before = writes()
    worker = Worker(cfg, settings.kafka, neo4j, settings.neo4j.database)
    async with running(worker):
        await eventually(lambda: _done(worker, n))
    return writes() - before


async def _done(worker: Worker, n: int) -> bool:
    return worker.stats.events_ok >= n


async def test_a_rescan_that_finds_nothing_new_costs_a_tenth_of_the_scan_at_most(
    neo4j: AsyncDriver, settings: Settings, source: Source, ingest_cfg: IngestSettings
) -> None:
    first, again = scan(source), scan(source.at(60))  # new event ids, an hour later
    async with EventProducer(settings.kafka, ingest_cfg.topics[0]) as producer:
        await producer.publish_many(first)
        scanned = await drain(ingest_cfg, settings, neo4j, len(first))
        await producer.publish_many(again)
        rescanned = await drain(ingest_cfg, settings, neo4j, len(again))
    assert scanned > 0
    assert rescanned <= 0.1 * scanned, (rescanned, scanned)
    # The tables were seen again all the same: their last sighting is the rescan's.
    [row] = await read(neo4j, settings.neo4j.database, SEEN, source=source.name)
    assert [t.to_native() for t in row["seen"]] == [again[-1].time]
