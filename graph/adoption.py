"""A scan adopts the OpenLineage datasets it finds as tables.

A dataset no registered source held when a run named it is a ``:Dataset`` node of its own
(graph/runs.py). When a source on its server is registered and its scan discovers the table,
the table takes the dataset's place (``adopt``) and the dataset goes; what that changed is
returned for the batch's announcements, so caches and ``catalogChanges`` subscribers hear that
the dataset was replaced, and its neighbours that their lineage changed.

The worker announces after its commit: should it die in between, the replayed batch finds no
dataset left to adopt. So the table keeps what it adopted and which snapshot did
(``adopted``, ``adoptedBy``: the event's id), and that snapshot applied again (``replayed``)
announces the same again; announcements are at least once, like those of snapshots.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from neo4j import AsyncManagedTransaction

from core.urns import Urn, column_urn
from graph.assets import ensure_assets
from graph.driver import Record, fetch, write_rows
from graph.inheritance import propagate
from graph.runs import UPSERT_FEEDS, fetch_rows

# A table discovered in a database where earlier runs saw a dataset no source held then: the
# table takes over the dataset's lineage, job links and quality checks (and its place in what
# the job's runs declared), and the dataset goes. Returns each dataset replaced, its table, and
# the other ends of its edges (``next``), whose lineage now leads to the table.
ADOPT = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.urn})
MATCH (s:DataSource {name: t.source})
MATCH (d:Dataset:Unresolved {olPath: row.path, olPort: s.port})
WHERE s.kind IN d.olKinds AND toLower(s.host) IN d.olHosts
CALL (d, t) {
  MATCH (d)-[f:FEEDS]->(b) WHERE b <> t
  MERGE (t)-[g:FEEDS {via: f.via}]->(b)
  SET g += properties(f)
}
CALL (d, t) {
  MATCH (a)-[f:FEEDS]->(d) WHERE a <> t
  MERGE (a)-[g:FEEDS {via: f.via}]->(t)
  SET g += properties(f)
}
CALL (d, t) {
  MATCH (j:Job)-[r:READS]->(d)
  MERGE (j)-[x:READS]->(t)
  SET x += properties(r)
}
CALL (d, t) {
  MATCH (j:Job)-[r:WRITES]->(d)
  MERGE (j)-[x:WRITES]->(t)
  SET x += properties(r)
}
CALL (d, t) {
  MATCH (r:Run)-[c:CHECKED]->(d)
  MERGE (r)-[x:CHECKED]->(t)
  SET x += properties(c)
}
CALL (d, t) {
  MATCH (j:Job)-[:READS|WRITES]->(d)
  WITH DISTINCT j, d, t
  MATCH (j)<-[:OF]-(r:Run)
  WHERE d.urn IN r.inputs OR d.urn IN r.outputs
  SET r.inputs = [u IN r.inputs | CASE u WHEN d.urn THEN t.urn ELSE u END],
      r.outputs = [u IN r.outputs | CASE u WHEN d.urn THEN t.urn ELSE u END]
}
WITH d, t, d.urn AS dataset,
     COLLECT { MATCH (d)-[:FEEDS]-(n) WHERE n <> t RETURN DISTINCT n.urn } AS next
DETACH DELETE d
RETURN dataset, t.urn AS table, next
"""
# What a table adopted and the snapshot that adopted it, for that snapshot replayed.
MARK = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.table})
SET t.adopted = row.datasets, t.adoptedBy = row.event
"""
# What a replayed snapshot's table adopted then, and the other ends of the job edges it took
# over (among its OpenLineage edges, as ``next`` of ``ADOPT``).
REPLAYED = """
UNWIND $urns AS urn
MATCH (t:Asset {urn: urn})
WHERE t.adopted IS NOT NULL
UNWIND t.adopted AS dataset
RETURN dataset, t.urn AS table,
       COLLECT { MATCH (t)-[f:FEEDS {kind: 'openlineage'}]-(n) WHERE n <> t
                 RETURN DISTINCT n.urn } AS next
"""
# Job edges between two tables, one of them just adopted, that hold column lineage declared
# while an end was a dataset of its own (``columns``: JSON [from, to, transformations, masking]).
HELD_COLUMNS = """
UNWIND $urns AS urn
MATCH (t:Asset {urn: urn})
CALL (t) {
  MATCH (t)-[f:FEEDS]->(b:Table) RETURN t AS a, f, b
  UNION
  MATCH (a:Table)-[f:FEEDS]->(t) RETURN a, f, t AS b
}
WITH DISTINCT a, f, b
WHERE f.columns IS NOT NULL AND NOT a:Dataset AND NOT b:Dataset
RETURN a.urn AS from, b.urn AS to, f.via AS via, toString(f.since) AS since,
       toString(f.lastSeenAt) AS time, f.columns AS columns
"""


@dataclass(frozen=True)
class Adopted:
    """What adopting changed beyond the new tables: each dataset replaced, by the table that
    replaced it, and the assets whose lineage led to one of them (``lineage`` changed)."""

    replaced: dict[str, str] = field(default_factory=dict)
    neighbours: list[str] = field(default_factory=list)


def _adopted(found: Sequence[Record], tables: Sequence[str]) -> Adopted:
    """``found`` rows (dataset, table, next) as what to announce; a neighbour adopted or
    discovered in the same batch is announced as what it became."""
    replaced = {r["dataset"]: r["table"] for r in found}
    new = {*replaced, *tables}
    return Adopted(replaced, sorted({n for r in found for n in r["next"]} - new))


async def adopt(tx: AsyncManagedTransaction, tables: Mapping[str, str]) -> Adopted:
    """Link tables new to the graph (URN: the id of the snapshot's event) with the datasets
    earlier runs saw where they are; the column lineage a job declared between datasets
    becomes column FEEDS once both ends are tables."""
    if not tables:
        return Adopted()
    rows = [{"urn": urn, "path": list(Urn.parse(urn).path)} for urn in tables]
    found = await fetch_rows(tx, ADOPT, rows)
    held = await fetch(tx, HELD_COLUMNS, urns=list(tables))
    feeds = [
        {"from": column_urn(e["from"], a), "to": column_urn(e["to"], b), "via": e["via"],
         "since": e["since"], "time": e["time"], "transformations": how, "masking": masking}
        for e in held
        for a, b, how, masking in json.loads(e["columns"])
    ]  # fmt: skip
    await ensure_assets(tx, [u for f in feeds for u in (f["from"], f["to"])])
    await write_rows(tx, UPSERT_FEEDS, feeds)
    await propagate(tx, [f["to"] for f in feeds])
    adopted: dict[str, list[str]] = {}
    for r in found:
        adopted.setdefault(r["table"], []).append(r["dataset"])
    marks = [{"table": t, "datasets": sorted(d), "event": tables[t]} for t, d in adopted.items()]
    await write_rows(tx, MARK, marks)
    return _adopted(found, list(tables))


async def replayed(tx: AsyncManagedTransaction, tables: Sequence[str]) -> Adopted:
    """What the snapshots that adopted datasets as ``tables`` changed, for those snapshots
    applied again (a batch replayed after a crash between its commit and its announcement)."""
    if not tables:
        return Adopted()
    return _adopted(await fetch(tx, REPLAYED, urns=list(tables)), tables)
