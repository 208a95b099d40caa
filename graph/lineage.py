"""Lineage from view definitions: ``FEEDS`` edges between tables and columns, and the ``:Job``
(the view's definition) that ``READS`` its upstream tables and ``WRITES`` the view.

Each snapshot of a view replaces the edges its job produced before, so a changed definition
leaves no stale lineage; ``since`` is the time of the snapshot that first produced an edge.

A view may read a database its source does not scan: the reference then belongs to the
registered source on the same host and port that does (``owners``), not to a phantom table
under the view's source. What no source holds stays an ``:Unresolved`` placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set

from neo4j import AsyncManagedTransaction

from core.events import Event, TableDiscovered
from core.urns import Urn, source_urn
from graph.assets import ensure_assets
from graph.driver import Record, fetch, write_rows
from graph.inheritance import propagate
from graph.timestamps import event_stamp

UPSERT_FEEDS = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
MERGE (a)-[r:FEEDS {via: row.via}]->(b)
ON CREATE SET r.since = datetime(row.time)
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
RETURN DISTINCT b.urn AS urn
"""
# The registered sources on the host and port of each given source, with the databases they
# scan (an empty list: every database of the server).
PEERS = """
UNWIND $urns AS urn
MATCH (own:DataSource {urn: urn})
MATCH (peer:DataSource {host: own.host, port: own.port})
RETURN own.name AS source, peer.name AS peer, coalesce(peer.databases, []) AS databases
ORDER BY source, peer
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
    job, time = job_urn(e.subject), event_stamp(e)
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


Move = Callable[[str], str]


def owner(source: str, database: str, peers: Sequence[tuple[str, list[str]]]) -> str | None:
    """The registered source that scans ``database`` of ``source``'s server: ``source`` itself
    if it does, else a peer naming the database, else a peer scanning every database."""
    scans = {name: databases for name, databases in peers}
    if source not in scans or not scans[source] or database in scans[source]:
        return source
    named = [name for name, databases in peers if database in databases]
    return (named or [name for name, databases in peers if not databases] or [None])[0]


async def owners(tx: AsyncManagedTransaction, snapshots: Sequence[Record]) -> Move:
    """Where each table or column a view reads belongs: see ``owner``."""
    urns = sorted({source_urn(Urn.parse(s["table"]).source or "") for s in snapshots})
    peers: dict[str, list[tuple[str, list[str]]]] = {}
    for row in await fetch(tx, PEERS, urns=urns):
        peers.setdefault(row["source"], []).append((row["peer"], row["databases"]))

    def move(urn: str) -> str:
        parsed = Urn.parse(urn)
        source = parsed.source or ""  # tables and columns always name their source
        found = owner(source, parsed.path[0], peers.get(source, []))
        return urn if found in (None, source) else str(Urn(parsed.kind, found, parsed.path))

    return move


def _moved(s: Record, move: Move) -> Record:
    job, prune = s["job"], s["prune"]
    return {
        **s,
        "job": {
            **job,
            "reads": sorted({move(u) for u in job["reads"]}),
            "writes": sorted({move(u) for u in job["writes"]}),
        },
        "feeds": [{**f, "from": move(f["from"]), "to": move(f["to"])} for f in s["feeds"]],
        "prune": {
            **prune,
            "feeds": [[move(a), move(b)] for a, b in prune["feeds"]],
            "links": [[kind, move(u)] for kind, u in prune["links"]],
        },
    }


async def upsert_lineage(
    tx: AsyncManagedTransaction, snapshots: Sequence[Record], existing: Set[str]
) -> None:
    """Apply the lineage of table snapshots (``lineage_rows``, at most one per table), replacing
    the edges of those ``existing`` before: only an applied snapshot can have produced any."""
    if any(s["feeds"] for s in snapshots):
        move = await owners(tx, snapshots)
        snapshots = [_moved(s, move) for s in snapshots]
    produced = [s for s in snapshots if s["feeds"]]
    feeds = [f for s in produced for f in s["feeds"]]
    tables = [t for s in produced for t in (*s["job"]["reads"], *s["job"]["writes"])]
    await ensure_assets(tx, [*tables, *(urn for f in feeds for urn in (f["from"], f["to"]))])
    await write_rows(tx, UPSERT_JOBS, [s["job"] for s in produced])
    await write_rows(tx, UPSERT_FEEDS, feeds)
    replaced = [s["prune"] for s in snapshots if s["table"] in existing]
    pruned = [r["urn"] for r in await fetch(tx, PRUNE_FEEDS, rows=replaced)] if replaced else []
    await write_rows(tx, PRUNE_JOB_LINKS, replaced)
    # Labels follow the views' column lineage as it is now (graph/inheritance.py).
    await propagate(tx, [*(f["to"] for f in feeds), *pruned])
