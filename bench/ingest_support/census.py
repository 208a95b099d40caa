"""What a path wrote for the bench's sources: counts to check, a digest to compare, a cleanup.

The bench's sources (``bench-acme-*``) are its own, so clearing them never touches anyone
else's data; every node ingest writes for them carries their name in ``source`` or is the
``:DataSource`` itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from neo4j import AsyncDriver

from bench.ingest_support.estate import Estate
from graph.driver import read

CLEAR = """
MATCH (n) WHERE n.source IN $sources OR n.urn IN $urns
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""
COUNTS = """
MATCH (t:Table) WHERE t.source IN $sources AND t.lastSeenAt IS NOT NULL
RETURN count(t) AS tables, sum(count {(t)-[:HAS_COLUMN]->()}) AS columns,
       sum(count {(t)-[:HAS_VERSION]->()}) AS versions
"""
NODES = """
MATCH (n) WHERE n.source IN $sources OR n.urn IN $urns
RETURN n.urn AS urn, labels(n) AS labels, properties(n) AS props
"""
EDGES = """
MATCH (a)-[r]->(b) WHERE a.source IN $sources OR a.urn IN $urns
RETURN a.urn AS a, type(r) AS type, b.urn AS b, properties(r) AS props
"""


@dataclass(frozen=True)
class Census:
    tables: int
    columns: int
    versions: int
    digest: str | None  # of every node, edge and property, in a stable order

    def check(self, estate: Estate, path: str) -> None:
        """Every table and column discovered is in the graph, each table with one version."""
        want = (len(estate.tables), estate.columns, len(estate.tables))
        got = (self.tables, self.columns, self.versions)
        if got != want:
            raise RuntimeError(f"{path}: graph has (tables, columns, versions) {got}, not {want}")


def _scope(estate: Estate) -> dict[str, Any]:
    return {"sources": estate.sources, "urns": estate.source_urns}


def _line(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


async def clear(driver: AsyncDriver, database: str, estate: Estate) -> None:
    async with driver.session(database=database) as session:
        await (await session.run(CLEAR, _scope(estate))).consume()


async def _digest(driver: AsyncDriver, database: str, estate: Estate) -> str:
    """Reads the whole area back: about 20 s at scale 100."""
    nodes = await read(driver, database, NODES, **_scope(estate))
    edges = await read(driver, database, EDGES, **_scope(estate))
    lines = sorted(_line(n["urn"], sorted(n["labels"]), n["props"]) for n in nodes)
    lines += sorted(_line(e["a"], e["type"], e["b"], e["props"]) for e in edges)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


async def census(driver: AsyncDriver, database: str, estate: Estate, *, digest: bool) -> Census:
    (counts,) = await read(driver, database, COUNTS, sources=estate.sources)
    found = await _digest(driver, database, estate) if digest else None
    return Census(counts["tables"], counts["columns"], counts["versions"], found)
