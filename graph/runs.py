"""OpenLineage on the graph: jobs, runs and datasets, and the lineage they declare.

An event becomes (``rows``, no graph needed) and is written by ``apply_events``:

- ``(:Job {urn: urn:dw:job:<namespace>/<name>, kind: 'openlineage'})``, with ``READS`` and
  ``WRITES`` to its datasets;
- ``(:Run {urn: urn:dw:run:<namespace>/<job>/<runId>})-[:OF]->(:Job)``: the state is the
  furthest one reached (START < RUNNING < COMPLETE/FAIL/ABORT; OTHER changes none), so events
  out of order (COMPLETE before START) end in the same run; ``startedAt``, ``endedAt``,
  ``durationMs``, the ``errorMessage`` facet, and the events seen (``<type>@<time>``);
- a dataset is the table a registered source holds (graph/datasets.py, ``resolve``), or else a
  ``:Dataset:Unresolved`` node of its own, which keeps its ``schema`` and ``dataSource`` facets;
- each input ``FEEDS`` each output ``via`` the job, and the ``columnLineage`` facet gives
  column ``FEEDS`` with their ``transformations`` (``DIRECT/IDENTITY``, ``INDIRECT/FILTER``, ...)
  and ``masking``. An edge is valid from ``since`` (the earliest event declaring it) to
  ``until``, set by a COMPLETE run of its job that no longer declares it;
- ``dataQualityMetrics`` (input facet) and ``dataQualityAssertions`` as
  ``(:Run)-[:CHECKED {metrics, assertions, at}]->(dataset)``.

Every write is a MERGE or a min/max, so a replayed event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from neo4j import AsyncDriver, AsyncManagedTransaction

from core.events import Event
from core.urns import Urn, column_urn
from graph.assets import ensure_assets
from graph.datasets import Location, dataset_urn, locate
from graph.driver import Record, fetch, read, write_rows
from graph.records import plain


class RunState(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"
    OTHER = "OTHER"  # only OTHER events seen so far


RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}

# Registered sources of the kinds, hosts and ports of the datasets of a batch.
SOURCES = """
UNWIND $rows AS row
MATCH (s:DataSource)
WHERE s.kind IN row.kinds AND s.port = row.port AND toLower(s.host) IN row.hosts
RETURN row.key AS key, s.name AS name, coalesce(s.databases, []) AS databases
ORDER BY key, name
"""
DISCOVERED = """
UNWIND $urns AS urn
MATCH (t:Asset {urn: urn})
WHERE t:Table AND NOT t:Unresolved
RETURN urn
"""
UPSERT_DATASETS = """
UNWIND $rows AS row
MERGE (d:Asset {urn: row.urn})
ON CREATE SET d:Dataset:Unresolved, d.name = row.name, d.source = row.namespace
SET d.namespace = row.namespace, d.olName = row.name,
    d.fields = coalesce(row.fields, d.fields),
    d.dataSource = coalesce(row.dataSource, d.dataSource),
    d.olKinds = row.kinds, d.olHosts = row.hosts, d.olPort = row.port, d.olPath = row.path
"""
# A table discovered in a database where earlier runs saw a dataset no source held then: the
# table takes over the dataset's lineage, job links and quality checks, and the dataset goes.
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
DETACH DELETE d
"""
UPSERT_JOBS = """
UNWIND $rows AS row
MERGE (j:Job {urn: row.urn})
SET j.name = row.name, j.namespace = row.namespace, j.source = row.namespace,
    j.kind = 'openlineage', j.jobType = coalesce(row.jobType, j.jobType),
    j.integration = coalesce(row.integration, j.integration), j.sql = coalesce(row.sql, j.sql),
    j.description = coalesce(row.description, j.description)
WITH j, row
CALL (j, row) {
  UNWIND row.links AS link
  MATCH (t:Asset {urn: link.urn})
  CALL (j, t, link) {
    WITH j, t, link WHERE link.type = 'READS'
    MERGE (j)-[r:READS]->(t)
    SET r.lastSeenAt = CASE WHEN r.lastSeenAt > link.time THEN r.lastSeenAt ELSE link.time END
  }
  CALL (j, t, link) {
    WITH j, t, link WHERE link.type = 'WRITES'
    MERGE (j)-[r:WRITES]->(t)
    SET r.lastSeenAt = CASE WHEN r.lastSeenAt > link.time THEN r.lastSeenAt ELSE link.time END
  }
}
"""
# The furthest state wins; between terminal states, the latest event.
UPSERT_RUNS = """
UNWIND $rows AS row
MATCH (j:Job {urn: row.job})
MERGE (r:Run {urn: row.urn})
ON CREATE SET r.runId = row.runId, r.name = row.name, r.source = row.namespace
MERGE (r)-[:OF]->(j)
WITH r, row
SET r.events = CASE WHEN row.key IN coalesce(r.events, []) THEN r.events
                    ELSE coalesce(r.events, []) + row.key END,
    r.startedAt = CASE WHEN row.type = 'START' AND (r.startedAt IS NULL OR row.time < r.startedAt)
                       THEN row.time ELSE r.startedAt END,
    r.endedAt = CASE WHEN row.rank = 3 AND (r.endedAt IS NULL OR row.time > r.endedAt)
                     THEN row.time ELSE r.endedAt END
WITH r, row,
     row.rank > coalesce(r.rank, 0)
     OR (row.rank = 3 AND r.rank = 3 AND row.time >= r.stateAt) AS moves
SET r.state = CASE WHEN moves THEN row.type ELSE r.state END,
    r.stateAt = CASE WHEN moves THEN row.time ELSE r.stateAt END,
    r.rank = CASE WHEN moves THEN row.rank ELSE r.rank END,
    r.errorMessage = coalesce(row.errorMessage, r.errorMessage),
    r.stackTrace = coalesce(row.stackTrace, r.stackTrace),
    r.nominalStart = coalesce(row.nominalStart, r.nominalStart)
SET r.durationMs = CASE WHEN r.startedAt IS NOT NULL AND r.endedAt IS NOT NULL
                        THEN duration.inSeconds(r.startedAt, r.endedAt).milliseconds END
"""
UPSERT_FEEDS = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
MERGE (a)-[f:FEEDS {via: row.via}]->(b)
ON CREATE SET f.since = row.time, f.kind = 'openlineage'
SET f.since = CASE WHEN row.time < f.since THEN row.time ELSE f.since END,
    f.until = CASE WHEN f.until IS NOT NULL AND row.time >= f.until THEN null ELSE f.until END,
    f.lastSeenAt = CASE WHEN f.lastSeenAt > row.time THEN f.lastSeenAt ELSE row.time END,
    f.transformations = coalesce(row.transformations, f.transformations),
    f.masking = coalesce(row.masking, f.masking)
"""
# A COMPLETE run declares its job's whole lineage: what it no longer declares ends there.
CLOSE_FEEDS = """
UNWIND $rows AS row
MATCH (a)-[f:FEEDS {via: row.via}]->(b)
WHERE NOT [a.urn, b.urn] IN row.feeds AND f.lastSeenAt < row.time
  AND (f.until IS NULL OR f.until > row.time)
SET f.until = row.time
"""
UPSERT_CHECKS = """
UNWIND $rows AS row
MATCH (r:Run {urn: row.run}), (d:Asset {urn: row.dataset})
MERGE (r)-[c:CHECKED]->(d)
SET c.at = row.time, c.metrics = coalesce(row.metrics, c.metrics),
    c.assertions = coalesce(row.assertions, c.assertions)
"""


def parse_time(text: str) -> datetime:
    """An OpenLineage ``eventTime`` in UTC (a time without offset is taken as UTC)."""
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def job_urn(namespace: str, name: str) -> str:
    return str(Urn("job", namespace, (name,)))


def run_urn(namespace: str, name: str, run_id: str) -> str:
    return str(Urn("run", namespace, (name, run_id)))


def _json(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True) if value else None


@dataclass(frozen=True)
class DatasetRef:
    """An OpenLineage dataset as an event names it, and where the naming spec places it."""

    namespace: str
    name: str
    location: Location | None

    @property
    def key(self) -> str:
        return f"{self.namespace}\t{self.name}"


def _ref(namespace: str, name: str) -> DatasetRef:
    return DatasetRef(namespace, name, locate(namespace, name))


def _dataset_row(d: dict[str, Any], role: str) -> Record:
    facets = d.get("facets") or {}
    schema = (facets.get("schema") or {}).get("fields")
    source = facets.get("dataSource") or {}
    return {
        "ref": _ref(d["namespace"], d["name"]),
        "role": role,
        "fields": _json(schema),
        "dataSource": source.get("uri") or source.get("name"),
        "metrics": _json(
            {
                k: v
                for k, v in ((d.get("inputFacets") or {}).get("dataQualityMetrics") or {}).items()
                if not k.startswith("_")
            }
        ),
        "assertions": _json((facets.get("dataQualityAssertions") or {}).get("assertions")),
        "columns": _column_lineage(facets.get("columnLineage") or {}),
    }


def _column_lineage(facet: dict[str, Any]) -> list[Record]:
    """``(input dataset, input field) -> output field`` with how it was transformed."""
    out = []
    for field, spec in sorted((facet.get("fields") or {}).items()):
        for source in spec.get("inputFields") or []:
            kinds = source.get("transformations") or []
            out.append(
                {
                    "ref": _ref(source["namespace"], source["name"]),
                    "from": source["field"],
                    "to": field,
                    "transformations": sorted(
                        {"/".join(filter(None, (t.get("type"), t.get("subtype")))) for t in kinds}
                    )
                    or [spec.get("transformationType") or "UNKNOWN"],
                    "masking": any(t.get("masking") for t in kinds),
                }
            )
    return out


def rows(e: Event) -> Record:
    """What one OpenLineage event writes, before its datasets are resolved."""
    ol: dict[str, Any] = e.data.event
    time = parse_time(ol["eventTime"])
    if "dataset" in ol:
        return {
            "time": time,
            "job": None,
            "run": None,
            "datasets": [_dataset_row(ol["dataset"], "static")],
        }
    job = ol["job"]
    ns, name = job["namespace"], job["name"]
    facets = job.get("facets") or {}
    job_type = facets.get("jobType") or {}
    datasets = [_dataset_row(d, "input") for d in ol.get("inputs") or []] + [
        _dataset_row(d, "output") for d in ol.get("outputs") or []
    ]
    run = None
    if "run" in ol:
        run_id, kind = ol["run"]["runId"], ol.get("eventType") or "OTHER"
        run_facets = ol["run"].get("facets") or {}
        error = run_facets.get("errorMessage") or {}
        nominal = (run_facets.get("nominalTime") or {}).get("nominalStartTime")
        run = {
            "urn": run_urn(ns, name, run_id),
            "job": job_urn(ns, name),
            "runId": run_id,
            "name": f"{name} {run_id[:8]}",
            "namespace": ns,
            "type": kind,
            "rank": RANK[kind],
            "key": f"{kind}@{ol['eventTime']}",
            "time": time,
            "errorMessage": error.get("message"),
            "stackTrace": error.get("stackTrace"),
            "nominalStart": parse_time(nominal) if nominal else None,
        }
    return {
        "time": time,
        "job": {
            "urn": job_urn(ns, name),
            "name": name,
            "namespace": ns,
            "jobType": job_type.get("jobType"),
            "integration": job_type.get("integration"),
            "sql": (facets.get("sql") or {}).get("query"),
            "description": (facets.get("documentation") or {}).get("description"),
        },
        "run": run,
        "complete": run is not None and run["type"] == "COMPLETE",
        "datasets": datasets,
    }


def _unheld(ref: DatasetRef) -> Record:
    """A dataset no source holds, with where a source that comes to hold it would be."""
    loc = ref.location
    return {
        "name": ref.name,
        "namespace": ref.namespace,
        "kinds": list(loc.kinds) if loc else None,
        "hosts": list(loc.hosts) if loc else None,
        "port": loc.port if loc else None,
        "path": [loc.database, loc.schema, loc.table] if loc else None,
    }


async def adopt(tx: AsyncManagedTransaction, tables: Sequence[str]) -> None:
    """Link tables new to the graph with the datasets earlier runs saw where they are."""
    rows = [{"urn": urn, "path": list(Urn.parse(urn).path)} for urn in tables]
    await write_rows(tx, ADOPT, rows)


def pick(
    location: Location, sources: Sequence[tuple[str, list[str]]], found: set[str]
) -> str | None:
    """The table URN of ``location``: a candidate some scan already discovered, else that of
    the one source naming its database, else that of the one source scanning every database
    (a placeholder its first scan completes); None if no source or several could hold it."""
    urns = {name: location.table_urn(name) for name, _ in sources}
    discovered = sorted(urn for urn in urns.values() if urn in found)
    if discovered:
        return discovered[0]
    named = [name for name, databases in sources if location.database in databases]
    every = [name for name, databases in sources if not databases]
    for choice in (named, every):
        if len(choice) == 1:
            return urns[choice[0]]
    return None


async def resolve(tx: AsyncManagedTransaction, refs: Sequence[DatasetRef]) -> dict[str, str]:
    """The URN of each dataset (by ``DatasetRef.key``): its table, or its own dataset URN."""
    located = {r.key: r.location for r in refs if r.location}
    queries = [
        {"key": key, "kinds": list(loc.kinds), "hosts": list(loc.hosts), "port": loc.port}
        for key, loc in sorted(located.items())
    ]
    sources: dict[str, list[tuple[str, list[str]]]] = {}
    for row in await fetch(tx, SOURCES, rows=queries) if queries else []:
        sources.setdefault(row["key"], []).append((row["name"], row["databases"]))
    candidates = sorted(
        {located[k].table_urn(name) for k, found in sources.items() for name, _ in found}
    )
    found = (
        {r["urn"] for r in await fetch(tx, DISCOVERED, urns=candidates)} if candidates else set()
    )
    out = {}
    for r in refs:
        table = pick(r.location, sources.get(r.key, []), found) if r.location else None
        out[r.key] = table or dataset_urn(r.namespace, r.name)
    return out


async def apply_events(tx: AsyncManagedTransaction, events: Sequence[Record]) -> list[str]:
    """Write the ``rows`` of OpenLineage events (at most one per job per call); return the
    tables a job read or wrote, whose lineage (cached reads across assets) may have changed."""
    if not events:
        return []
    refs = [d["ref"] for e in events for d in e["datasets"]]
    refs += [c["ref"] for e in events for d in e["datasets"] for c in d["columns"]]
    urns = await resolve(tx, refs)
    datasets, tables, columns, jobs, runs, feeds, closes, checks = ([] for _ in range(8))
    for e in events:
        own = {d["ref"].key: (d, urns[d["ref"].key]) for d in e["datasets"]}
        for d, urn in own.values():
            if Urn.parse(urn).kind == "dataset":
                datasets.append({**_unheld(d["ref"]), "urn": urn, "fields": d["fields"],
                                 "dataSource": d["dataSource"]})  # fmt: skip
            else:
                tables.append(urn)
        if e["job"] is None:
            continue
        via, time = e["job"]["urn"], e["time"]
        inputs = sorted({urn for d, urn in own.values() if d["role"] == "input"})
        outputs = sorted({urn for d, urn in own.values() if d["role"] == "output"})
        links = [{"type": "READS", "urn": u, "time": time} for u in inputs]
        links += [{"type": "WRITES", "urn": u, "time": time} for u in outputs]
        jobs.append({**e["job"], "links": links})
        declared = [
            {"from": a, "to": b, "via": via, "time": time, "transformations": None, "masking": None}
            for a in inputs
            for b in outputs
            if a != b
        ]
        for d, out in own.values():
            for c in d["columns"] if d["role"] == "output" else []:
                source = urns[c["ref"].key]
                if Urn.parse(source).kind != "table" or Urn.parse(out).kind != "table":
                    continue  # a dataset of its own has no column nodes
                edge = {"from": column_urn(source, c["from"]), "to": column_urn(out, c["to"])}
                columns += [edge["from"], edge["to"]]
                declared.append(
                    {**edge, "via": via, "time": time,
                     "transformations": c["transformations"], "masking": c["masking"]}
                )  # fmt: skip
        feeds += declared
        if e["run"] is not None:
            runs.append(e["run"])
            checks += [
                {"run": e["run"]["urn"], "dataset": urn, "time": time,
                 "metrics": d["metrics"], "assertions": d["assertions"]}
                for d, urn in own.values()
                if d["metrics"] or d["assertions"]
            ]  # fmt: skip
        if e["complete"]:
            closes.append(
                {"via": via, "time": time, "feeds": [[f["from"], f["to"]] for f in declared]}
            )
    await write_rows(tx, UPSERT_DATASETS, datasets)
    await ensure_assets(tx, [*tables, *columns])
    await write_rows(tx, UPSERT_JOBS, jobs)
    await write_rows(tx, UPSERT_RUNS, runs)
    await write_rows(tx, UPSERT_FEEDS, feeds)
    await write_rows(tx, CLOSE_FEEDS, closes)
    await write_rows(tx, UPSERT_CHECKS, checks)
    return sorted({link["urn"] for j in jobs for link in j["links"] if link["urn"] in tables})


# A job's runs, newest first (by start, else by the time of their latest state), a page after
# the (time, urn) position of the last one seen.
RUNS = """
MATCH (:Job {urn: $job})<-[:OF]-(r:Run)
WITH r, coalesce(r.startedAt, r.stateAt) AS at
WHERE ($state IS NULL OR r.state = $state)
  AND ($afterAt IS NULL OR at < datetime($afterAt)
       OR (at = datetime($afterAt) AND r.urn > $afterUrn))
RETURN properties(r) AS run, toString(at) AS at
ORDER BY at DESC, r.urn
LIMIT $limit
"""
COUNT_RUNS = """
MATCH (:Job {urn: $job})<-[:OF]-(r:Run)
WHERE $state IS NULL OR r.state = $state
RETURN count(r) AS n
"""


async def runs_of(
    driver: AsyncDriver,
    database: str,
    job: str,
    state: RunState | None,
    limit: int,
    after: Sequence[str] | None = None,
) -> list[tuple[dict[str, Any], str]]:
    """Up to ``limit`` runs of a job (properties as plain JSON, and their sort time)."""
    after_at, after_urn = after or (None, None)
    rows = await read(
        driver, database, RUNS, job=job, state=state and state.value, limit=limit,
        afterAt=after_at, afterUrn=after_urn,
    )  # fmt: skip
    return [(plain(r["run"]), r["at"]) for r in rows]


async def count_runs(driver: AsyncDriver, database: str, job: str, state: RunState | None) -> int:
    rows = await read(driver, database, COUNT_RUNS, job=job, state=state and state.value)
    return rows[0]["n"]
