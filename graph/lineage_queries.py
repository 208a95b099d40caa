"""Lineage reads: the subgraph around an asset, downstream impact, paths and schema diffs.

Variable-length bounds cannot be query parameters, so one query per (direction, depth) is
built at import from the fixed range ``1..MAX_DEPTH``; the client only picks which one runs.

A ``FEEDS`` edge is current while its downstream end is live: each snapshot of that end
replaced its edges. So, unless ``include_removed``, a walk takes only edges into live assets:
downstream it stops before a removed asset (what only a dropped view fed is not reached), and
upstream a removed asset a live view still reads is reached but not walked past. An edge into a
live asset from a removed one or an ``:Unresolved`` placeholder (graph/assets.py) is flagged
``unresolved``: a reference no scan finds.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, LiteralString

from neo4j import AsyncDriver

from graph.domains import with_node
from graph.driver import read, read_values
from graph.layouts import diff
from graph.records import FEEDS_TIMES, EdgeRecord, NodeRecord, Record, text_times

MAX_DEPTH = 10
MAX_NODES = 500  # a lineage view larger than this is truncated (and says so)
MAX_IMPACT = 1000


class Direction(StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    BOTH = "both"


class Level(StrEnum):
    TABLE = "table"
    COLUMN = "column"


# TABLE level starts at the table (a column's table if given a column) and keeps tables;
# COLUMN level starts at the column (every column if given a table) and keeps columns.
_START = """
MATCH (root:Asset {urn: $urn})
OPTIONAL MATCH (owner:Table)-[:HAS_COLUMN]->(root)
OPTIONAL MATCH (root)-[:HAS_COLUMN]->(col:Column)
WHERE $includeRemoved OR col.removedAt IS NULL
WITH root, owner, collect(col) AS cols
UNWIND CASE
  WHEN $level = 'table' THEN [coalesce(owner, root)]
  WHEN root:Column THEN [root]
  ELSE cols
END AS start
CALL (start) {
"""
# Edge ``r`` was valid at ``$asOf`` (graph/runs.py: ``since`` to ``until``); with no ``$asOf``,
# it is valid now: not ended.
_VALID: LiteralString = """(CASE WHEN $asOf IS NULL THEN r.until IS NULL
  ELSE coalesce(r.since <= $asOf, true) AND coalesce(r.until > $asOf, true) END)"""
# ``b`` is the downstream end of each hop: only valid edges into assets live then are walked.
_LIVE: LiteralString = (
    "WHERE ($includeRemoved OR b.removedAt IS NULL OR b.removedAt > $asOf) AND " + _VALID
)
_UP: LiteralString = "MATCH (start) ((b)<-[r:FEEDS]-(a) " + _LIVE + "){1,{d}} (n) RETURN n\n"
_DOWN: LiteralString = "MATCH (start) ((a)-[r:FEEDS]->(b) " + _LIVE + "){1,{d}} (n) RETURN n\n"
# Nodes are the distinct assets reached (with their domains, so RBAC can filter a cached
# result per caller); edges are every FEEDS between two of them. At table level, datasets no
# registered source holds (OpenLineage, graph/runs.py) are tables too.
_COLLECT = with_node(
    """
UNION
  RETURN start AS n
}
WITH DISTINCT n
WHERE ($level = 'table' AND (n:Table OR n:Dataset)) OR ($level = 'column' AND n:Column)
WITH collect(n) AS found
WITH found[..$maxNodes] AS nodes, size(found) > $maxNodes AS truncated
CALL (nodes) {
  UNWIND nodes AS a
  MATCH (a)-[r:FEEDS]->(b)
  WHERE b IN nodes AND ($includeRemoved OR b.removedAt IS NULL OR b.removedAt > $asOf)
    AND """
    + _VALID
    + """
  RETURN collect({from: a.urn, to: b.urn, props: """
    + text_times("r", FEEDS_TIMES)
    + """,
                  unresolved: a:Unresolved OR b:Unresolved
                              OR (a.removedAt IS NOT NULL AND b.removedAt IS NULL)}) AS edges
}
RETURN [n IN nodes | {node_map}] AS nodes, edges, truncated
"""
)


def _lineage_query(direction: Direction, depth: int) -> LiteralString:
    up = _UP.replace("{d}", str(depth))  # depth comes from range(), never from a client
    down = _DOWN.replace("{d}", str(depth))
    walk = {
        Direction.UPSTREAM: up,
        Direction.DOWNSTREAM: down,
        Direction.BOTH: up + "UNION\n" + down,
    }[direction]
    return _START + walk + _COLLECT  # type: ignore[return-value]


LINEAGE_QUERIES: dict[tuple[Direction, int], LiteralString] = {
    (direction, depth): _lineage_query(direction, depth)
    for direction in Direction
    for depth in range(1, MAX_DEPTH + 1)
}

# Downstream of the asset and, for a table, of its columns; each asset once, at its shortest
# distance, with the teams owning it (or its table) and the labels on it (or its columns).
IMPACT = with_node(
    """
MATCH (root:Asset {urn: $urn})
OPTIONAL MATCH (root)-[:HAS_COLUMN]->(col:Column)
WHERE $includeRemoved OR col.removedAt IS NULL
WITH root, [root] + collect(col) AS starts
UNWIND starts AS s
MATCH p = ANY SHORTEST (s) ((a)-[r:FEEDS]->(b) """
    + _LIVE
    + """){1,10} (n:Asset)
WITH root, n, min(length(p)) AS distance
WHERE n <> root
CALL (n) {
  OPTIONAL MATCH (n)<-[:HAS_COLUMN]-{0,1}(:Asset)<-[:OWNS]-(team:Team)
  RETURN collect(DISTINCT team {.*}) AS owners
}
CALL (n) {
  OPTIONAL MATCH (n)-[:HAS_COLUMN]->{0,1}(:Asset)-[l:LABELED]->(label:Label)
  WHERE coalesce(l.status, 'suggested') <> 'rejected'
  RETURN collect(DISTINCT label {.*}) AS labels
}
RETURN {node_map} AS node, distance, owners, labels
ORDER BY distance, n.urn
LIMIT $limit
"""
)
PATH = with_node(
    """
MATCH (a:Asset {urn: $from}), (b:Asset {urn: $to})
MATCH p = ANY SHORTEST (a) ((x)-[r:FEEDS]->(y) WHERE """
    + _VALID
    + """){0,10} (b)
RETURN [n IN nodes(p) | {node_map}] AS nodes,
       [e IN relationships(p) | {from: startNode(e).urn, to: endNode(e).urn,
                                 props: properties(e)}] AS edges
"""
)
# The labels a column inherits, as written with their provenance (graph/inheritance.py).
INHERITED = """
MATCH (c:Asset {urn: $urn})-[i:INHERITS]->(label:Label)
RETURN label {.*} AS label, i.source AS from, i.sourceStatus AS status, i.path AS path,
       i.via AS via
ORDER BY label.name
"""
# The edges into or out of an asset (a table: and its columns) that began (``since``) or ended
# (``until``) in ``($from, $to]``: how its lineage changed between two moments.
CHANGES = """
MATCH (root:Asset {urn: $urn})
OPTIONAL MATCH (root)-[:HAS_COLUMN]->(col:Column)
WITH root, [root] + collect(col) AS ends
UNWIND ends AS e
MATCH (e)-[r:FEEDS]-()
WITH DISTINCT r
UNWIND [['added', r.since], ['removed', r.until]] AS change
WITH r, change[0] AS kind, change[1] AS at
WHERE at > $from AND at <= $to
RETURN kind, at, {from: startNode(r).urn, to: endNode(r).urn, props: properties(r)} AS edge
ORDER BY at, kind, edge.from, edge.to
LIMIT $limit
"""
VERSION_COLUMNS = """
MATCH (:Asset {urn: $urn})-[:HAS_VERSION]->(v:SchemaVersion)
WHERE v.version IN $versions
RETURN v.version AS version, v.columns AS columns
"""


class Subgraph(Record):
    nodes: list[NodeRecord]
    edges: list[EdgeRecord]
    truncated: bool = False


class Impacted(Record):
    node: NodeRecord
    distance: int
    owners: list[dict[str, Any]]
    labels: list[dict[str, Any]]


class Impact(Record):
    assets: list[Impacted]
    truncated: bool


class Inherited(Record):
    """A label a column inherits: from which column, along which path, through which jobs."""

    label: dict[str, Any]
    from_urn: str
    status: str
    path: list[str]
    via: list[str | None]


class LineageChange(Record):
    kind: str  # added, removed
    at: datetime
    edge: EdgeRecord


class ColumnChange(Record):
    name: str
    before: dict[str, Any]
    after: dict[str, Any]


class SchemaDiff(Record):
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[ColumnChange]


def _subgraph(row: dict[str, Any], truncated: bool = False) -> Subgraph:
    return Subgraph(
        nodes=[NodeRecord.of(n) for n in row["nodes"]],
        edges=[EdgeRecord.of(e) for e in row["edges"]],
        truncated=truncated,
    )


async def lineage(
    driver: AsyncDriver,
    database: str,
    urn: str,
    direction: Direction,
    depth: int,
    level: Level,
    include_removed: bool = False,
    as_of: datetime | None = None,
) -> Subgraph | None:
    """The assets within ``depth`` FEEDS hops and the edges between them, as they were at
    ``as_of`` (None: now); None if no asset."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    query = LINEAGE_QUERIES[(direction, depth)]
    rows = await read_values(
        driver, database, query, urn=urn, level=level.value, maxNodes=MAX_NODES,
        includeRemoved=include_removed, asOf=as_of,
    )  # fmt: skip
    return _subgraph(rows[0], rows[0]["truncated"]) if rows and rows[0]["nodes"] else None


async def impact(
    driver: AsyncDriver,
    database: str,
    urn: str,
    include_removed: bool = False,
    as_of: datetime | None = None,
) -> Impact:
    rows = await read(
        driver, database, IMPACT, urn=urn, limit=MAX_IMPACT + 1, includeRemoved=include_removed,
        asOf=as_of,
    )  # fmt: skip
    assets = [
        Impacted(
            node=NodeRecord.of(r["node"]),
            distance=r["distance"],
            owners=r["owners"],
            labels=r["labels"],
        )
        for r in rows[:MAX_IMPACT]
    ]
    return Impact(assets=assets, truncated=len(rows) > MAX_IMPACT)


async def shortest_path(
    driver: AsyncDriver, database: str, from_urn: str, to_urn: str, as_of: datetime | None = None
) -> Subgraph | None:
    """The shortest downstream path (at most ``MAX_DEPTH`` hops) from one asset to another."""
    rows = await read(driver, database, PATH, asOf=as_of, **{"from": from_urn, "to": to_urn})
    return _subgraph(rows[0]) if rows else None


async def schema_diff(
    driver: AsyncDriver, database: str, urn: str, from_version: int, to_version: int
) -> SchemaDiff | None:
    """What changed in a table's columns between two versions; None if either is unknown."""
    rows = await read(
        driver, database, VERSION_COLUMNS, urn=urn, versions=[from_version, to_version]
    )
    columns = {r["version"]: json.loads(r["columns"] or "[]") for r in rows}
    if from_version not in columns or to_version not in columns:
        return None
    before = {c["name"]: c for c in columns[from_version]}
    after = {c["name"]: c for c in columns[to_version]}
    changes = diff(columns[from_version], columns[to_version])
    return SchemaDiff(
        added=[after[name] for name in changes["added"]],
        removed=[before[name] for name in changes["removed"]],
        changed=[
            ColumnChange(name=c["name"], before=before[c["name"]], after=after[c["name"]])
            for c in changes["changed"]
        ],
    )


async def inherited_labels(driver: AsyncDriver, database: str, urn: str) -> list[Inherited]:
    """The labels a column inherits from upstream (graph/inheritance.py), by label name."""
    rows = await read(driver, database, INHERITED, urn=urn)
    return [
        Inherited(
            label=r["label"], from_urn=r["from"], status=r["status"], path=r["path"], via=r["via"]
        )
        for r in rows
    ]


async def lineage_changes(
    driver: AsyncDriver, database: str, urn: str, since: datetime, until: datetime
) -> list[LineageChange]:
    """The FEEDS edges of an asset added or removed after ``since`` up to ``until``, oldest
    first (at most ``MAX_IMPACT``)."""
    rows = await read(
        driver, database, CHANGES, urn=urn, limit=MAX_IMPACT, **{"from": since, "to": until}
    )
    return [
        LineageChange(kind=r["kind"], at=r["at"].to_native(), edge=EdgeRecord.of(r["edge"]))
        for r in rows
    ]
