"""Lineage from view definitions: ``FEEDS`` edges between tables and columns, and the ``:Job``
(the view's definition) that ``READS`` its upstream tables and ``WRITES`` the view.

Each snapshot of a view replaces the edges its job produced before, so a changed definition
leaves no stale lineage; ``since`` is the time of the snapshot that first produced an edge.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from neo4j import AsyncManagedTransaction

from core.events import Event, TableDiscovered
from core.urns import Urn
from graph.assets import ensure_assets
from graph.driver import Record, write_rows
from graph.timestamps import event_time

UPSERT_FEEDS = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
MERGE (a)-[r:FEEDS {via: row.via}]->(b)
ON CREATE SET r.since = row.time
SET r.kind = row.kind
"""
# A view's job with the tables it reads and writes, in one statement.
UPSERT_JOBS = """
UNWIND $rows AS row
MERGE (j:Job {urn: row.urn})
SET j.name = row.name, j.kind = row.kind, j.source = row.source
WITH j, row
CALL (j, row) {
  UNWIND row.reads AS urn
  MATCH (t:Asset {urn: urn})
  MERGE (j)-[:READS]->(t)
}
CALL (j, row) {
  UNWIND row.writes AS urn
  MATCH (t:Asset {urn: urn})
  MERGE (j)-[:WRITES]->(t)
}
"""
# FEEDS.via is indexed (migration 0002), so finding a job's edges does not scan the graph.
PRUNE_FEEDS = """
UNWIND $rows AS row
MATCH (a)-[r:FEEDS {via: row.job}]->(b)
WHERE NOT [a.urn, b.urn] IN row.feeds
DELETE r
"""
PRUNE_JOB_LINKS = """
UNWIND $rows AS row
MATCH (:Job {urn: row.job})-[r:READS|WRITES]->(t)
WHERE NOT [type(r), t.urn] IN row.links
DELETE r
"""


def job_urn(table: str) -> str:
    parsed = Urn.parse(table)
    return str(Urn("job", parsed.source, parsed.path))


def _table(urn: str) -> str:
    """The table of a table or column URN."""
    parsed = Urn.parse(urn)
    return urn if parsed.kind == "table" else str(Urn("table", parsed.source, parsed.path[:-1]))


def lineage_rows(e: Event) -> Record:
    """One snapshot's job, edges and job links, as rows for the queries above."""
    data: TableDiscovered = e.data
    job, time = job_urn(e.subject), event_time(e)
    feeds = [
        {
            "from": edge.upstream_urn,
            "to": edge.downstream_urn,
            "via": job,
            "kind": edge.kind,
            "time": time,
        }
        for edge in data.lineage
    ]
    reads = sorted({_table(edge.upstream_urn) for edge in data.lineage})
    writes = sorted({_table(edge.downstream_urn) for edge in data.lineage})
    return {
        "table": e.subject,
        "job": {
            "urn": job,
            "name": data.name,
            "kind": data.kind,
            "source": Urn.parse(e.subject).source,
            "reads": reads,
            "writes": writes,
        },
        "feeds": feeds,
        "prune": {
            "job": job,
            "feeds": [[f["from"], f["to"]] for f in feeds],
            "links": [["READS", t] for t in reads] + [["WRITES", t] for t in writes],
        },
    }


async def upsert_lineage(
    tx: AsyncManagedTransaction, snapshots: Sequence[Record], existing: Set[str]
) -> None:
    """Apply the lineage of table snapshots (``lineage_rows``, at most one per table), replacing
    the edges of those ``existing`` before: only an applied snapshot can have produced any."""
    produced = [s for s in snapshots if s["feeds"]]
    feeds = [f for s in produced for f in s["feeds"]]
    tables = [t for s in produced for t in (*s["job"]["reads"], *s["job"]["writes"])]
    await ensure_assets(tx, [*tables, *(urn for f in feeds for urn in (f["from"], f["to"]))])
    await write_rows(tx, UPSERT_JOBS, [s["job"] for s in produced])
    await write_rows(tx, UPSERT_FEEDS, feeds)
    replaced = [s["prune"] for s in snapshots if s["table"] in existing]
    await write_rows(tx, PRUNE_FEEDS, replaced)
    await write_rows(tx, PRUNE_JOB_LINKS, replaced)
