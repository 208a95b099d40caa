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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

import orjson
from neo4j import AsyncDriver, AsyncManagedTransaction

from core.events import Event
from core.urns import Urn, column_urn
from graph.assets import ensure_assets
from graph.datasets import Location, dataset_urn, locate
from graph.driver import Record, fetch, read, write_rows
from graph.inheritance import propagate
from graph.records import plain
from graph.runs_merge import fold_closes, fold_feeds, fold_jobs, fold_latest, fold_runs


class RunState(StrEnum):
    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    ABORT = "ABORT"
    OTHER = "OTHER"  # only OTHER events seen so far


RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}

# Registered sources of the servers (kinds, hosts, port) of the datasets of a batch.
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
ON CREATE SET d:Dataset:Unresolved, d.name = row.name, d.nameLower = toLower(row.name),
    d.source = row.namespace
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
  WITH j, t, link, datetime(link.time) AS at
  CALL (j, t, link, at) {
    WITH j, t, link, at WHERE link.type = 'READS'
    MERGE (j)-[r:READS]->(t)
    SET r.lastSeenAt = CASE WHEN r.lastSeenAt > at THEN r.lastSeenAt ELSE at END
  }
  CALL (j, t, link, at) {
    WITH j, t, link, at WHERE link.type = 'WRITES'
    MERGE (j)-[r:WRITES]->(t)
    SET r.lastSeenAt = CASE WHEN r.lastSeenAt > at THEN r.lastSeenAt ELSE at END
  }
}
"""
# The furthest state wins; between terminal states, the latest event. One row per run
# (graph/runs_merge.py ``fold_runs``): its state event, and the keys and times of all its events
# (ISO text, ``_stamped``).
UPSERT_RUNS = """
UNWIND $rows AS row
WITH row, datetime(row.time) AS time, datetime(row.started) AS started,
     datetime(row.ended) AS ended
MATCH (j:Job {urn: row.job})
MERGE (r:Run {urn: row.urn})
ON CREATE SET r.runId = row.runId, r.name = row.name, r.source = row.namespace
MERGE (r)-[:OF]->(j)
WITH r, row, time, started, ended
SET r.events = coalesce(r.events, []) + [k IN row.keys WHERE NOT k IN coalesce(r.events, [])],
    r.startedAt = CASE WHEN started IS NOT NULL AND (r.startedAt IS NULL OR started < r.startedAt)
                       THEN started ELSE r.startedAt END,
    r.endedAt = CASE WHEN ended IS NOT NULL AND (r.endedAt IS NULL OR ended > r.endedAt)
                     THEN ended ELSE r.endedAt END
WITH r, row, time,
     row.rank > coalesce(r.rank, 0)
     OR (row.rank = 3 AND r.rank = 3 AND time >= r.stateAt) AS moves
SET r.state = CASE WHEN moves THEN row.type ELSE r.state END,
    r.stateAt = CASE WHEN moves THEN time ELSE r.stateAt END,
    r.rank = CASE WHEN moves THEN row.rank ELSE r.rank END,
    r.errorMessage = coalesce(row.errorMessage, r.errorMessage),
    r.stackTrace = coalesce(row.stackTrace, r.stackTrace),
    r.nominalStart = coalesce(datetime(row.nominalStart), r.nominalStart)
SET r.durationMs = CASE WHEN r.startedAt IS NOT NULL AND r.endedAt IS NOT NULL
                        THEN duration.inSeconds(r.startedAt, r.endedAt).milliseconds END
"""
# One row per edge (``fold_feeds``): declared first at ``since``, last at ``time`` (ISO text:
# thousands of rows a batch, which the driver packs far faster than datetimes).
UPSERT_FEEDS = """
UNWIND $rows AS row
WITH row, datetime(row.since) AS since, datetime(row.time) AS time
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
MERGE (a)-[f:FEEDS {via: row.via}]->(b)
ON CREATE SET f.since = since, f.kind = 'openlineage'
SET f.since = CASE WHEN since < f.since THEN since ELSE f.since END,
    f.until = CASE WHEN f.until IS NOT NULL AND time >= f.until THEN null ELSE f.until END,
    f.lastSeenAt = CASE WHEN f.lastSeenAt > time THEN f.lastSeenAt ELSE time END,
    f.transformations = coalesce(row.transformations, f.transformations),
    f.masking = coalesce(row.masking, f.masking), f.columns = coalesce(row.columns, f.columns)
"""
# A COMPLETE run declares its job's whole lineage: what it no longer declares ends there. One
# row per job (``fold_closes``: its runs grouped by the edges they declared, with their times):
# the earliest of its runs that ends an edge sets ``until``.
CLOSE_FEEDS = """
UNWIND $rows AS row
MATCH (a)-[f:FEEDS {via: row.via}]->(b)
WITH b, f, reduce(ts = [], c IN row.closes |
                  CASE WHEN [a.urn, b.urn] IN c.feeds THEN ts ELSE ts + c.times END) AS times
WITH b, f, reduce(end = null, t IN times |
                  CASE WHEN f.lastSeenAt < datetime(t) AND (end IS NULL OR datetime(t) < end)
                       THEN datetime(t) ELSE end END) AS end
WHERE end IS NOT NULL AND (f.until IS NULL OR f.until > end)
SET f.until = end
RETURN DISTINCT b.urn AS urn
"""
UPSERT_CHECKS = """
UNWIND $rows AS row
MATCH (r:Run {urn: row.run}), (d:Asset {urn: row.dataset})
MERGE (r)-[c:CHECKED]->(d)
SET c.at = datetime(row.time), c.metrics = coalesce(row.metrics, c.metrics),
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


@lru_cache(maxsize=8192)
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


# Datasets mapped lately, by content: at most this many, of at most this many bytes each (a
# few MB in all; a dataset is ~2 kB with its schema and column lineage).
SHARED_ROWS, SHARED_BYTES = 1024, 32 * 1024


@lru_cache(maxsize=SHARED_ROWS)
def _mapped(raw: bytes, role: str) -> Record:
    return _dataset_row(orjson.loads(raw), role)


def _dataset(d: dict[str, Any], role: str) -> Record:
    """``_dataset_row``, one shared row for the datasets alike of many events (a job's runs
    name the same datasets with the same facets): it is mapped once, and ``apply_events``
    maps the lineage of the events sharing these rows once. The rows are never changed."""
    raw = orjson.dumps(d)
    return _mapped(raw, role) if len(raw) <= SHARED_BYTES else _dataset_row(d, role)


def _column_lineage(facet: dict[str, Any]) -> list[Record]:
    """``(input dataset, input field) -> output field`` with how it was transformed."""
    out = []
    for name, spec in sorted((facet.get("fields") or {}).items()):
        for source in spec.get("inputFields") or []:
            kinds = source.get("transformations") or []
            out.append(
                {
                    "ref": _ref(source["namespace"], source["name"]),
                    "from": source["field"],
                    "to": name,
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
            "datasets": [_dataset(ol["dataset"], "static")],
        }
    job = ol["job"]
    ns, name = job["namespace"], job["name"]
    facets = job.get("facets") or {}
    job_type = facets.get("jobType") or {}
    datasets = [_dataset(d, "input") for d in ol.get("inputs") or []] + [
        _dataset(d, "output") for d in ol.get("outputs") or []
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
    """Link tables new to the graph with the datasets earlier runs saw where they are; the
    column lineage a job declared between datasets becomes column FEEDS once both ends are
    tables."""
    rows = [{"urn": urn, "path": list(Urn.parse(urn).path)} for urn in tables]
    await write_rows(tx, ADOPT, rows)
    held = await fetch(tx, HELD_COLUMNS, urns=list(tables)) if tables else []
    feeds = [
        {"from": column_urn(e["from"], a), "to": column_urn(e["to"], b), "via": e["via"],
         "since": e["since"], "time": e["time"], "transformations": how, "masking": masking}
        for e in held
        for a, b, how, masking in json.loads(e["columns"])
    ]  # fmt: skip
    await ensure_assets(tx, [u for f in feeds for u in (f["from"], f["to"])])
    await write_rows(tx, UPSERT_FEEDS, feeds)
    await propagate(tx, [f["to"] for f in feeds])


@lru_cache(maxsize=65536)
def _kind_of(urn: str) -> str:
    return Urn.parse(urn).kind


_column = lru_cache(maxsize=65536)(column_urn)


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


def _server(location: Location) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    return location.kinds, location.hosts, location.port


async def resolve(tx: AsyncManagedTransaction, refs: Sequence[DatasetRef]) -> dict[str, str]:
    """The URN of each dataset (by ``DatasetRef.key``): its table, or its own dataset URN. One
    query for the sources of all the batch's servers, one for the tables they discovered."""
    located = {r.key: r.location for r in refs if r.location}
    servers = sorted({_server(loc) for loc in located.values()})
    queries = [
        {"key": i, "kinds": list(kinds), "hosts": list(hosts), "port": port}
        for i, (kinds, hosts, port) in enumerate(servers)
    ]
    by_server: dict[tuple[Any, ...], list[tuple[str, list[str]]]] = {}
    for row in await fetch(tx, SOURCES, rows=queries) if queries else []:
        by_server.setdefault(servers[row["key"]], []).append((row["name"], row["databases"]))
    sources = {key: by_server.get(_server(loc), []) for key, loc in located.items()}
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


NEVER_AFTER, NEVER_BEFORE = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)


@dataclass
class _Shape:
    """What the events of one job naming the same datasets declare, whatever their time:
    mapped once for all of them (a scheduler's runs of a job repeat their datasets and column
    lineage), with the times of those events."""

    via: str | None
    datasets: list[Record]  # datasets no source holds
    tables: list[str]
    links: list[tuple[str, str]]  # (READS or WRITES, urn)
    feeds: list[Record]  # from, to, via, transformations, masking, columns
    columns: list[str]
    fed: list[str]  # columns whose inputs the job declares
    checks: list[tuple[str, str | None, str | None]]  # (dataset, metrics, assertions)
    first: datetime = NEVER_AFTER
    last: datetime = NEVER_BEFORE
    seq: int = 0  # the arrival order of the latest event (which breaks ties of time)
    completes: list[datetime] = field(default_factory=list)

    def saw(self, time: datetime, seq: int) -> None:
        self.first = min(self.first, time)
        if time >= self.last:
            self.last, self.seq = time, seq


def _shape(via: str | None, datasets: Sequence[Record], urns: dict[str, str]) -> _Shape:
    own = {d["ref"].key: (d, urns[d["ref"].key]) for d in datasets}
    unheld = [
        {**_unheld(d["ref"]), "urn": urn, "fields": d["fields"], "dataSource": d["dataSource"]}
        for d, urn in own.values()
        if _kind_of(urn) == "dataset"
    ]
    tables = [urn for _, urn in own.values() if _kind_of(urn) != "dataset"]
    checks = [(urn, d["metrics"], d["assertions"]) for d, urn in own.values()
              if d["metrics"] or d["assertions"]]  # fmt: skip
    shape = _Shape(via, unheld, tables, [], [], [], [], checks)
    if via is None:
        return shape
    inputs = sorted({urn for d, urn in own.values() if d["role"] == "input"})
    outputs = sorted({urn for d, urn in own.values() if d["role"] == "output"})
    shape.links = [("READS", u) for u in inputs] + [("WRITES", u) for u in outputs]
    by_ends = {
        (a, b): {"from": a, "to": b, "via": via, "transformations": None, "masking": None,
                 "columns": []}
        for a in inputs
        for b in outputs
        if a != b
    }  # fmt: skip
    shape.feeds = list(by_ends.values())
    for d, out in own.values():
        for c in d["columns"] if d["role"] == "output" else []:
            source = urns[c["ref"].key]
            if _kind_of(source) != "table" or _kind_of(out) != "table":
                # A dataset of its own has no column nodes: its column lineage waits on the
                # dataset's edge until a scan finds both ends (``adopt``).
                if (source, out) in by_ends:
                    by_ends[source, out]["columns"].append(
                        [c["from"], c["to"], c["transformations"], c["masking"]]
                    )
                continue
            edge = {"from": _column(source, c["from"]), "to": _column(out, c["to"])}
            shape.columns += [edge["from"], edge["to"]]
            shape.fed.append(edge["to"])
            shape.feeds.append(
                {**edge, "via": via, "transformations": c["transformations"],
                 "masking": c["masking"]}
            )  # fmt: skip
    for f in by_ends.values():
        f["columns"] = _json(sorted(f["columns"]))
    return shape


async def apply_events(tx: AsyncManagedTransaction, events: Sequence[Record]) -> list[str]:
    """Write the ``rows`` of OpenLineage events, in any number, in a few statements (their rows
    folded, graph/runs_merge.py; the lineage of events alike mapped once, ``_Shape``); return
    the tables a job read or wrote, whose lineage (cached reads across assets) may have
    changed."""
    if not events:
        return []
    # Events alike share their dataset rows (``rows``): map and resolve each one once.
    unique = {id(d): d for e in events for d in e["datasets"]}.values()
    refs = {d["ref"].key: d["ref"] for d in unique}
    refs |= {c["ref"].key: c["ref"] for d in unique for c in d["columns"]}
    urns = await resolve(tx, list(refs.values()))
    shapes: dict[tuple[Any, ...], _Shape] = {}
    jobs, runs, checks = [], [], []
    for seq, e in enumerate(events):
        via, time = e["job"] and e["job"]["urn"], e["time"]
        key = (via, *(id(d) for d in e["datasets"]))
        shape = shapes.get(key) or shapes.setdefault(key, _shape(via, e["datasets"], urns))
        shape.saw(time, seq)
        if via is None:
            continue
        jobs.append({**e["job"], "links": shape.links, "time": time})
        if e["run"] is not None:
            runs.append(e["run"])
            checks += [
                {"run": e["run"]["urn"], "dataset": urn, "time": time, "metrics": metrics,
                 "assertions": assertions}
                for urn, metrics, assertions in shape.checks
            ]  # fmt: skip
        if e["complete"]:
            shape.completes.append(time)
    stamp = cache(datetime.isoformat)
    datasets = fold_latest(
        ({**d, "time": s.last} for s in shapes.values() for d in s.datasets), "urn"
    )
    await write_rows(tx, UPSERT_DATASETS, [_stamped(d, stamp) for d in datasets])
    tables = {u for s in shapes.values() for u in s.tables}
    await ensure_assets(tx, [*tables, *(u for s in shapes.values() for u in s.columns)])
    jobs = fold_jobs(jobs)
    stamped_jobs = [
        {**j, "links": [{**link, "time": stamp(link["time"])} for link in j["links"]]} for j in jobs
    ]
    await write_rows(tx, UPSERT_JOBS, [_stamped(j, stamp) for j in stamped_jobs])
    await write_rows(tx, UPSERT_RUNS, [_stamped(r, stamp) for r in fold_runs(runs)])
    feeds = [
        {**f, "since": s.first, "time": s.last, "seq": s.seq}
        for s in shapes.values()
        for f in s.feeds
    ]
    await write_rows(tx, UPSERT_FEEDS, [_stamped(f, stamp) for f in fold_feeds(feeds)])
    closes = fold_closes(
        {"via": s.via, "times": [stamp(t) for t in sorted(s.completes)],
         "feeds": [[f["from"], f["to"]] for f in s.feeds]}
        for s in shapes.values()
        if s.completes
    )  # fmt: skip
    ended = [r["urn"] for r in await fetch(tx, CLOSE_FEEDS, rows=closes)] if closes else []
    await write_rows(
        tx, UPSERT_CHECKS, [_stamped(c, stamp) for c in fold_latest(checks, "run", "dataset")]
    )
    # Labels follow the new column lineage, and no longer follow what ended.
    fed = {u for s in shapes.values() for u in s.fed}
    await propagate(tx, [*fed, *ended])
    return sorted({link["urn"] for j in jobs for link in j["links"] if link["urn"] in tables})


def _stamped(row: Record, stamp: Any) -> Record:
    """``row`` with its times as ISO text: the driver packs text far faster than datetimes
    (thousands of rows a batch); the Cypher reads them back with ``datetime()``."""
    return {k: stamp(v) if isinstance(v, datetime) else v for k, v in row.items()}


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
