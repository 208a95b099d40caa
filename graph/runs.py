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
- a run declares what all its events declared (the spec lets a run spread its datasets and
  facets over its events), kept on the run (``inputs``, ``outputs``, ``columnFeeds``, from
  ``firstEventAt`` to ``lastEventAt``) for its events in later batches: each input ``FEEDS``
  each output ``via`` the job, and the ``columnLineage`` facet gives column ``FEEDS`` with
  their ``transformations`` (``DIRECT/IDENTITY``, ``INDIRECT/FILTER``, ...) and ``masking``.
  An edge is valid from ``since`` (the first event of the earliest run declaring it) to
  ``until``, set by the first COMPLETE run of its job after its last declaration that did not
  declare it, whichever arrived first (a late event of an older run ends at the later run);
- ``dataQualityMetrics`` (input facet) and ``dataQualityAssertions`` as
  ``(:Run)-[:CHECKED {metrics, assertions, at}]->(dataset)``.

Every write is a MERGE or a min/max, so a replayed event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, LiteralString

import orjson
from neo4j import AsyncDriver, AsyncManagedTransaction

from core.events import Event
from core.urns import Urn, column_urn
from graph.assets import ensure_assets
from graph.datasets import Location, dataset_urn, locate
from graph.driver import CHUNK, STABLE_PLAN, Record, fetch, read, write_rows
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
# A job, the time of its latest COMPLETE run (``completedAt``, returned) and its links.
UPSERT_JOBS = """
UNWIND $rows AS row
MERGE (j:Job {urn: row.urn})
SET j.name = row.name, j.namespace = row.namespace, j.source = row.namespace,
    j.kind = 'openlineage', j.jobType = coalesce(row.jobType, j.jobType),
    j.integration = coalesce(row.integration, j.integration), j.sql = coalesce(row.sql, j.sql),
    j.description = coalesce(row.description, j.description),
    j.completedAt = CASE WHEN j.completedAt >= datetime(row.completedAt) THEN j.completedAt
                         ELSE coalesce(datetime(row.completedAt), j.completedAt) END
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
WITH j WHERE j.completedAt IS NOT NULL
RETURN j.urn AS urn, j.completedAt AS completedAt
"""
# The furthest state wins; between terminal states, the latest event. One row per run
# (graph/runs_merge.py ``fold_runs``): its state event, the keys and times of all its events
# (ISO text, ``_stamped``), and what they declared: a run keeps the union of what its events
# declared (``inputs``, ``outputs``, ``columnFeeds``, and ``heldColumns``: column lineage that
# waits on an edge of datasets, ``_Lineage.kept``) and the span of their times. Returns what
# earlier batches saw of a run beyond the row: the rest of what it declared, and its span.
UPSERT_RUNS = """
UNWIND $rows AS row
WITH row, datetime(row.time) AS time, datetime(row.started) AS started,
     datetime(row.ended) AS ended, datetime(row.first) AS first, datetime(row.last) AS last
MATCH (j:Job {urn: row.job})
MERGE (r:Run {urn: row.urn})
ON CREATE SET r.runId = row.runId, r.name = row.name, r.source = row.namespace
MERGE (r)-[:OF]->(j)
WITH r, row, time, started, ended, first, last
SET r.events = coalesce(r.events, []) + [k IN row.keys WHERE NOT k IN coalesce(r.events, [])],
    r.inputs = coalesce(r.inputs, []) + [u IN row.inputs WHERE NOT u IN coalesce(r.inputs, [])],
    r.outputs = coalesce(r.outputs, []) + [u IN row.outputs WHERE NOT u IN coalesce(r.outputs, [])],
    r.columnFeeds = CASE WHEN r.columnFeeds IS NULL OR r.columnFeeds = row.columnFeeds
                         THEN row.columnFeeds  // the same again: no pair by pair comparison
                         ELSE r.columnFeeds + [p IN row.columnFeeds WHERE NOT p IN r.columnFeeds]
                    END,
    r.heldColumns = coalesce(r.heldColumns, [])
                    + [p IN row.heldColumns WHERE NOT p IN coalesce(r.heldColumns, [])],
    r.firstEventAt = CASE WHEN r.firstEventAt < first THEN r.firstEventAt ELSE first END,
    r.lastEventAt = CASE WHEN r.lastEventAt > last THEN r.lastEventAt ELSE last END,
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
WITH r, row
WHERE r.firstEventAt < datetime(row.first) OR r.lastEventAt > datetime(row.last)
   OR size(r.inputs) > size(row.inputs) OR size(r.outputs) > size(row.outputs)
   OR size(r.columnFeeds) > size(row.columnFeeds)
   OR size(r.heldColumns) > size(row.heldColumns)
RETURN r.urn AS urn, r.firstEventAt AS first, r.lastEventAt AS last,
       [u IN r.inputs WHERE NOT u IN row.inputs] AS inputs,
       [u IN r.outputs WHERE NOT u IN row.outputs] AS outputs,
       [p IN r.columnFeeds WHERE NOT p IN row.columnFeeds] AS columnFeeds,
       [p IN r.heldColumns WHERE NOT p IN row.heldColumns] AS heldColumns
"""
# One row per edge (``fold_feeds``): declared first at ``since``, last at ``time`` (ISO text:
# thousands of rows a batch, which the driver packs far faster than datetimes). Returns the
# edges last declared before their job last completed (``completedAt``), which a later run may
# have ended (``CLOSE_LATE``).
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
WITH a, b, f, row
WHERE f.lastSeenAt < datetime(row.completedAt)
RETURN row.via AS via, a.urn AS from, b.urn AS to
"""
# A COMPLETE run declares its job's whole lineage (over all its events): what it no longer
# declares ends there. One row per job (``fold_closes``: the batch's COMPLETE runs grouped by
# the edges they declared, with their times): the earliest of its runs that ends an edge sets
# ``until``. Returns the ends of the edges ended.
CLOSE_FEEDS = """
UNWIND $rows AS row
MATCH (a)-[f:FEEDS {via: row.via}]->(b)
WITH a, b, f, reduce(ts = [], c IN row.closes |
                  CASE WHEN [a.urn, b.urn] IN c.feeds THEN ts ELSE ts + c.times END) AS times
WITH a, b, f, reduce(end = null, t IN times |
                  CASE WHEN f.lastSeenAt < datetime(t) AND (end IS NULL OR datetime(t) < end)
                       THEN datetime(t) ELSE end END) AS end
WHERE end IS NOT NULL AND (f.until IS NULL OR f.until > end)
SET f.until = end
RETURN DISTINCT a.urn AS from, b.urn AS to
"""
# The same for an edge the batch declared that a later COMPLETE run of its job, written before,
# did not (the events of an older run arriving late): the earliest such run ends it. A run
# written before runs kept what they declared (no ``inputs``) ends nothing: what it declared is
# unknown.
CLOSE_LATE = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from})-[f:FEEDS {via: row.via}]->(b:Asset {urn: row.to})
CALL (a, b, f, row) {
  MATCH (:Job {urn: row.via})<-[:OF]-(r:Run {state: 'COMPLETE'})
  WHERE r.stateAt > f.lastSeenAt AND r.inputs IS NOT NULL
    AND NOT ((a.urn IN r.inputs AND b.urn IN r.outputs) OR (a.urn + ' ' + b.urn) IN r.columnFeeds)
  RETURN min(r.stateAt) AS end
}
WITH a, b, f, end
WHERE end IS NOT NULL AND (f.until IS NULL OR f.until > end)
SET f.until = end
RETURN DISTINCT a.urn AS from, b.urn AS to
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


@lru_cache(maxsize=65536)
def _kind_of(urn: str) -> str:
    return Urn.parse(urn).kind


_column = lru_cache(maxsize=65536)(column_urn)


@lru_cache(maxsize=65536)
def _asset_of(urn: str) -> str:
    """The table of a column; any other asset itself."""
    parsed = Urn.parse(urn)
    return str(Urn("table", parsed.source, parsed.path[:-1])) if parsed.kind == "column" else urn


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


async def held_now(tx: AsyncManagedTransaction, stored: dict[str, Record]) -> dict[str, Record]:
    """``stored`` (``UPSERT_RUNS``) with the datasets at the ends of its held column lineage
    as they resolve now: one a scan has found as a table since (adopted, or named only in
    column lineage, so never a node to adopt) is that table, so a late event naming it finds
    the lineage its run holds. No query unless a held end is in a database form."""
    located: dict[str, DatasetRef] = {}
    for run in stored.values():
        for text in run["heldColumns"]:
            for urn in json.loads(text)[:2]:
                parsed = Urn.parse(urn)
                if parsed.kind != "dataset" or parsed.source is None:
                    continue
                if (ref := _ref(parsed.source, parsed.name)).location:
                    located[urn] = ref
    found = await resolve(tx, list(located.values())) if located else {}
    moved = {urn: found[ref.key] for urn, ref in located.items() if found[ref.key] != urn}
    if not moved:
        return stored
    return {
        key: {**run, "heldColumns": [
            json.dumps([moved.get(a, a), moved.get(b, b), *pair])
            for a, b, *pair in map(json.loads, run["heldColumns"])
        ]}
        for key, run in stored.items()
    }  # fmt: skip


NEVER_AFTER, NEVER_BEFORE = datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)


@dataclass
class _Span:
    """When something was declared: its earliest and latest times, the arrival order of the
    latest (which breaks ties of time), and the times of the COMPLETE events among them."""

    first: datetime = NEVER_AFTER
    last: datetime = NEVER_BEFORE
    seq: int = 0
    completes: list[datetime] = field(default_factory=list)

    def saw(self, first: datetime, last: datetime, seq: int) -> None:
        self.first = min(self.first, first)
        if last >= self.last:
            self.last, self.seq = last, seq

    def add(self, other: _Span) -> None:
        self.saw(other.first, other.last, other.seq)
        self.completes += other.completes


@dataclass
class _Shape:
    """What the events of one job naming the same datasets describe, whatever their time:
    mapped once for all of them (a scheduler's runs of a job repeat their datasets), with the
    times of those events."""

    datasets: list[Record]  # datasets no source holds
    tables: list[str]
    links: list[tuple[str, str]]  # (READS or WRITES, urn)
    checks: list[tuple[str, str | None, str | None]]  # (dataset, metrics, assertions)
    span: _Span = field(default_factory=_Span)


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
    links = [] if via is None else sorted(
        {("READS" if d["role"] == "input" else "WRITES", urn) for d, urn in own.values()}
    )  # fmt: skip
    return _Shape(unheld, tables, links, checks)


Held = dict[tuple[str, str], list[list[Any]]]  # column lineage by the edge of datasets it waits on


@dataclass
class _Lineage:
    """What a run declares, all its events of a batch together (or an event without a run):
    each input feeds each output, and the column lineage of its outputs. Mapped once for the
    runs of a batch naming the same datasets."""

    via: str
    inputs: list[str]
    outputs: list[str]
    feeds: list[Record]  # from, to, via, transformations, masking, columns
    held: Held  # column lineage waiting on a dataset's edge
    columns: list[str]  # the columns of its column lineage
    fed: list[str]  # columns whose inputs it declares
    pairs: list[str]  # its column FEEDS, ``<from> <to>`` (URNs hold no space)
    kept: list[str]  # ``held`` as its run keeps it (``_kept``)


def _edge(via: str, a: str, b: str, **how: Any) -> Record:
    return {"from": a, "to": b, "via": via, "transformations": None, "masking": None,
            "columns": None, **how}  # fmt: skip


def _column_edge(
    via: str, a: str, b: str, a_field: str, b_field: str, transformations: Any, masking: Any
) -> Record:
    """The edge of column ``a_field`` of table ``a`` to column ``b_field`` of table ``b``."""
    return _edge(via, _column(a, a_field), _column(b, b_field), transformations=transformations,
                 masking=masking)  # fmt: skip


def _datasets_edge(via: str, held: Held, a: str, b: str) -> Record:
    """An edge of a job's inputs to its outputs, with the column lineage it holds."""
    return _edge(via, a, b, columns=_json(held.get((a, b))))


def _kept(held: Held) -> list[str]:
    """Held column lineage as its run keeps it (``heldColumns``): a JSON text per field pair,
    ``[from, to, input field, output field, transformations, masking]``, so that a later
    batch naming the input (a START after its COMPLETE) still has it for the edge."""
    return [json.dumps([a, b, *pair]) for (a, b), pairs in sorted(held.items()) for pair in pairs]


def _merged(held: Held, kept: Sequence[str]) -> Held:
    """``held`` and the field pairs of ``kept`` (``_kept``) it lacks."""
    more: Held = {}
    for text in kept:
        a, b, *pair = json.loads(text)
        more.setdefault((a, b), []).append(pair)
    out = dict(held)
    for ends, pairs in more.items():
        fields = {(p[0], p[1]): p for p in [*pairs, *held.get(ends, [])]}
        out[ends] = sorted(fields.values())
    return out


def _lineage(via: str, datasets: Iterable[Record], urns: dict[str, str]) -> _Lineage:
    roles: dict[str, set[str]] = {"input": set(), "output": set()}
    held: dict[tuple[str, str], dict[tuple[str, str], list[Any]]] = {}
    columns: dict[tuple[str, str], Record] = {}
    for d in datasets:
        out = urns[d["ref"].key]
        roles[d["role"]].add(out)
        for c in d["columns"] if d["role"] == "output" else []:
            source = urns[c["ref"].key]
            if _kind_of(source) != "table" or _kind_of(out) != "table":
                # A dataset of its own has no column nodes: its column lineage waits on the
                # dataset's edge until a scan finds both ends (``adopt``).
                held.setdefault((source, out), {})[c["from"], c["to"]] = [
                    c["from"], c["to"], c["transformations"], c["masking"]
                ]  # fmt: skip
                continue
            edge = _column_edge(
                via, source, out, c["from"], c["to"], c["transformations"], c["masking"]
            )
            columns[edge["from"], edge["to"]] = edge
    waiting = {ends: sorted(fields.values()) for ends, fields in held.items()}
    inputs, outputs = sorted(roles["input"]), sorted(roles["output"])
    tables = [_datasets_edge(via, waiting, a, b) for a in inputs for b in outputs if a != b]
    return _Lineage(
        via, inputs, outputs, [*tables, *columns.values()], waiting,
        [u for ends in columns for u in ends], [b for _, b in columns],
        [f"{a} {b}" for a, b in columns], _kept(waiting),
    )  # fmt: skip


def _with_stored(
    lineage: _Lineage,
    ins: Sequence[str],
    outs: Sequence[str],
    pairs: Sequence[str],
    kept: Sequence[str],
) -> _Lineage:
    """``lineage`` and what its run declared in earlier batches that its events here do not
    repeat: the edges its stored inputs and outputs make with all its datasets, and its stored
    column lineage (as it was written then; between datasets, on their edge again, though
    this batch's events named its input first; between two tables, once a scan found the
    datasets at its ends since, as column edges: ``held_now``)."""
    held = _merged(lineage.held, kept)
    tables_only = [ends for ends in held if _kind_of(ends[0]) == _kind_of(ends[1]) == "table"]
    joined = [_column_edge(lineage.via, a, b, *pair)
              for a, b in tables_only for pair in held.pop((a, b))]  # fmt: skip
    grew = {edge for edge, fields in held.items() if fields != lineage.held.get(edge)}
    inputs, outputs = [*lineage.inputs, *ins], [*lineage.outputs, *outs]
    tables = [_datasets_edge(lineage.via, held, a, b) for a in inputs for b in outputs
              if a != b and (a in ins or b in outs or (a, b) in grew)]  # fmt: skip
    rebuilt = {(t["from"], t["to"]) for t in tables}  # in place of this batch's own
    ends = [p.split(" ") for p in pairs]
    return replace(
        lineage,
        inputs=inputs,
        outputs=outputs,
        feeds=[
            *(f for f in lineage.feeds if (f["from"], f["to"]) not in rebuilt),
            *tables,
            *(_edge(lineage.via, a, b) for a, b in ends),
            *joined,
        ],
        held=held,
        columns=[*lineage.columns, *(u for e in joined for u in (e["from"], e["to"]))],
        fed=[*lineage.fed, *(b for _, b in ends), *(e["to"] for e in joined)],
        pairs=[*lineage.pairs, *pairs],
    )


@dataclass
class _Run:
    """The events of one run in a batch (or one event without a run): the datasets they name
    together, and when."""

    via: str
    datasets: dict[int, Record] = field(default_factory=dict)
    span: _Span = field(default_factory=_Span)


def _lineages(batch: dict[Any, _Run], urns: dict[str, str]) -> dict[Any, _Lineage]:
    """The lineage of each run of the batch, mapped once for the runs naming the same datasets
    (a scheduler's runs of a job, and the START and COMPLETE of a run, share their rows)."""
    mapped: dict[tuple[Any, ...], _Lineage] = {}
    out = {}
    for key, run in batch.items():
        alike = (run.via, *sorted(run.datasets))
        out[key] = mapped.get(alike) or mapped.setdefault(
            alike, _lineage(run.via, run.datasets.values(), urns)
        )
    return out


def _declared(
    batch: dict[Any, _Run], lineages: dict[Any, _Lineage], stored: dict[str, Record]
) -> list[tuple[_Lineage, _Span]]:
    """What the batch's runs declared, with what they declared in earlier batches, and when
    (from their earliest event to their latest, earlier batches' included): one entry for the
    runs with the same lineage and nothing more stored."""
    out: dict[tuple[Any, ...], tuple[_Lineage, _Span]] = {}
    for key, run in batch.items():
        lineage, more = lineages[key], stored.get(key)
        extra: tuple[tuple[str, ...], ...] = ((), (), (), ())
        if more is not None:
            run.span.saw(more["first"].to_native(), more["last"].to_native(), run.span.seq)
            extra = tuple(
                tuple(more[k]) for k in ("inputs", "outputs", "columnFeeds", "heldColumns")
            )
        group = (id(lineage), extra)
        if group not in out:
            out[group] = (_with_stored(lineage, *extra) if any(extra) else lineage, _Span())
        out[group][1].add(run.span)
    return list(out.values())


async def _resolve_events(tx: AsyncManagedTransaction, events: Sequence[Record]) -> dict[str, str]:
    # Events alike share their dataset rows (``rows``): map and resolve each one once.
    unique = {id(d): d for e in events for d in e["datasets"]}.values()
    refs = {d["ref"].key: d["ref"] for d in unique}
    refs |= {c["ref"].key: c["ref"] for d in unique for c in d["columns"]}
    return await resolve(tx, list(refs.values()))


async def fetch_rows(
    tx: AsyncManagedTransaction, query: LiteralString, rows: Sequence[Record]
) -> list[Record]:
    """``fetch`` of an ``UNWIND $rows`` query, in chunks and planned as ``write_rows``."""
    out = []
    for start in range(0, len(rows), CHUNK):
        out += await fetch(tx, STABLE_PLAN + query, rows=rows[start : start + CHUNK])
    return out


async def _upsert_jobs(
    tx: AsyncManagedTransaction, jobs: Sequence[Record], stamp: Any
) -> dict[str, datetime]:
    """Write the jobs (``fold_jobs``); return when each last completed."""
    rows = [
        _stamped(
            {**j, "links": [{**link, "time": stamp(link["time"])} for link in j["links"]]}, stamp
        )
        for j in fold_jobs(jobs)
    ]
    return {r["urn"]: r["completedAt"].to_native() for r in await fetch_rows(tx, UPSERT_JOBS, rows)}


async def _upsert_runs(
    tx: AsyncManagedTransaction,
    runs: Sequence[Record],
    batch: dict[Any, _Run],
    lineages: dict[Any, _Lineage],
    stamp: Any,
) -> dict[str, Record]:
    """Write the runs, with what their events declared and when; return, by run, what earlier
    batches saw of the runs that had more (``UPSERT_RUNS``)."""
    rows = [
        _stamped(
            {**r, "inputs": lineages[r["urn"]].inputs, "outputs": lineages[r["urn"]].outputs,
             "columnFeeds": lineages[r["urn"]].pairs, "heldColumns": lineages[r["urn"]].kept,
             "first": batch[r["urn"]].span.first, "last": batch[r["urn"]].span.last},
            stamp,
        )
        for r in fold_runs(runs)
    ]  # fmt: skip
    return {r["urn"]: r for r in await fetch_rows(tx, UPSERT_RUNS, rows)}


async def _close(
    tx: AsyncManagedTransaction,
    declared: Sequence[tuple[_Lineage, _Span]],
    late: Sequence[Record],
    stamp: Any,
) -> list[tuple[str, str]]:
    """End what a COMPLETE run of the batch no longer declared (``CLOSE_FEEDS``), and the
    ``late`` edges (last declared before their job last completed) that the later COMPLETE
    runs, written before, no longer did (``CLOSE_LATE``); return the ends of those ended."""
    closes = fold_closes(
        {"via": lineage.via, "times": [stamp(t) for t in sorted(span.completes)],
         "feeds": [[f["from"], f["to"]] for f in lineage.feeds]}
        for lineage, span in declared
        if span.completes
    )  # fmt: skip
    ended = await fetch(tx, CLOSE_FEEDS, rows=closes) if closes else []
    ended += await fetch_rows(tx, CLOSE_LATE, late)
    return [(r["from"], r["to"]) for r in ended]


async def apply_events(
    tx: AsyncManagedTransaction, events: Sequence[Record]
) -> dict[str, tuple[str, ...]]:
    """Write the ``rows`` of OpenLineage events, in any number, in a few statements (their rows
    folded, graph/runs_merge.py; events and runs alike mapped once, ``_Shape`` and
    ``_Lineage``); return what may have changed (``touched``), by asset: tables and datasets
    alike, for the announcements.

    A run's lineage is what all its events declared (the spec lets a run spread its datasets
    and facets over its events): each run keeps what it declared (``UPSERT_RUNS``), so an event
    that repeats nothing neither drops nor ends what its run's other events declared."""
    if not events:
        return {}
    urns = await _resolve_events(tx, events)
    shapes: dict[tuple[Any, ...], _Shape] = {}
    batch: dict[Any, _Run] = {}  # by run URN, or by arrival for an event without a run
    jobs, runs, checks = [], [], []
    for seq, e in enumerate(events):
        via, time = e["job"] and e["job"]["urn"], e["time"]
        key = (via, *(id(d) for d in e["datasets"]))
        shape = shapes.get(key) or shapes.setdefault(key, _shape(via, e["datasets"], urns))
        shape.span.saw(time, time, seq)
        if via is None:
            continue
        completed = time if e["complete"] else None
        jobs.append({**e["job"], "links": shape.links, "time": time, "completedAt": completed})
        run = batch.setdefault(e["run"]["urn"] if e["run"] else seq, _Run(via))
        run.datasets.update((id(d), d) for d in e["datasets"])
        run.span.saw(time, time, seq)
        run.span.completes += [completed] if completed else []
        if e["run"] is not None:
            runs.append(e["run"])
            checks += [
                {"run": e["run"]["urn"], "dataset": urn, "time": time, "metrics": metrics,
                 "assertions": assertions}
                for urn, metrics, assertions in shape.checks
            ]  # fmt: skip
    lineages = _lineages(batch, urns)
    stamp = cache(datetime.isoformat)
    datasets = fold_latest(
        ({**d, "time": s.span.last} for s in shapes.values() for d in s.datasets), "urn"
    )
    await write_rows(tx, UPSERT_DATASETS, [_stamped(d, stamp) for d in datasets])
    columns = {u for lineage in lineages.values() for u in lineage.columns}
    await ensure_assets(tx, [*(u for s in shapes.values() for u in s.tables), *columns])
    completed = await _upsert_jobs(tx, jobs, stamp)
    stored = await held_now(tx, await _upsert_runs(tx, runs, batch, lineages, stamp))
    declared = _declared(batch, lineages, stored)
    # Columns of held column lineage whose ends a scan found since (``_with_stored``).
    await ensure_assets(tx, {u for lineage, _ in declared for u in lineage.columns} - columns)
    feeds = fold_feeds(
        {**f, "since": span.first, "time": span.last, "seq": span.seq}
        for lineage, span in declared
        for f in lineage.feeds
    )
    rows = [_stamped({**f, "completedAt": completed.get(f["via"])}, stamp) for f in feeds]
    late = await fetch_rows(tx, UPSERT_FEEDS, rows)
    ended = await _close(tx, declared, late, stamp)
    await write_rows(
        tx, UPSERT_CHECKS, [_stamped(c, stamp) for c in fold_latest(checks, "run", "dataset")]
    )
    # Labels follow the new column lineage, and no longer follow what ended.
    fed = {u for lineage, _ in declared for u in lineage.fed}
    await propagate(tx, [*fed, *(b for _, b in ended)])
    return touched(declared, datasets, ended)


# What a dataset's facets set (``UPSERT_DATASETS``), named as the GraphQL fields that show it.
FACETS = ("fields", "dataSource")


def touched(
    declared: Iterable[tuple[_Lineage, _Span]],
    datasets: Iterable[Record],
    ended: Iterable[tuple[str, str]] = (),
) -> dict[str, tuple[str, ...]]:
    """What a batch may have changed, by asset, in URN order: the ``lineage`` of every table
    and dataset its runs read or wrote (what they declared in earlier batches included) or
    whose edges they ended (a job that stopped writing an output: a column's edge, its
    table's), and of a dataset its facets (``fields``, ``dataSource``) that the batch gave.
    Worked out from what was written: no query more."""
    out: dict[str, list[str]] = {}
    for lineage, _ in declared:
        for urn in (*lineage.inputs, *lineage.outputs):
            out.setdefault(urn, ["lineage"])
    for urn in {_asset_of(u) for edge in ended for u in edge}:
        out.setdefault(urn, ["lineage"])
    for d in datasets:
        given = [facet for facet in FACETS if d[facet] is not None]
        if given:
            out.setdefault(d["urn"], []).extend(given)
    return {urn: tuple(out[urn]) for urn in sorted(out)}


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
