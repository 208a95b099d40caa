"""Labels that follow the data, written: ``(:Column)-[:INHERITS]->(:Label)``.

A column inherits a label held upstream (``confirmed``, ``suggested``, ``review`` or
``pending_rejection``) when the label's values reach it along current column ``FEEDS`` (views
and OpenLineage jobs alike): the edge (``status: 'inherited'``, so a reader of
``LABELED|INHERITS`` tells them apart) carries its provenance, the nearest source column
(``source``, its ``sourceStatus``), the ``path`` of columns from it (``hops`` long, for Neo4j
Browser's caption) and the job or view behind each hop (``via``; ``''`` for a hop asserted by
hand, since Neo4j stores no null in a list). It is a relationship of its
own, never a ``LABELED`` edge: classification and steward decisions never see or overwrite it,
and a column that holds the label itself (in any status) inherits nothing.

Propagation stops at a hop that masks the values (``masking: true``: a hash, a count; or the
deprecated field-level ``transformationType: MASKED``), at a hop that is only ``INDIRECT``
(filter, join, group by, sort: it shapes the rows, its values do not flow; a ``DIRECT`` one
beside it still passes them), at an ended edge (``until`` set), and at a column where a steward
rejected the label: below it, nothing inherits it from above. A rejection only asked for
(``pending_rejection``, waiting for someone with pii:read) stops nothing yet: it still masks,
so it still passes the label on. A steward who confirms the label on a column makes it that
column's own, the source of what inherits below; withdrawing the decision undoes either.

``propagate`` recomputes the columns downstream of the columns whose lineage or labels changed,
in the writer's own transaction (graph/runs.py, graph/lineage.py, graph/labels.py): a label
write and a lineage write that race both lock the column between them, so the later one sees
the earlier; in separate transactions each could miss the other. Seeds with no label nearby
(none on them or a neighbour, nothing inherited below) are skipped, so lineage without labels
costs one cheap query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncManagedTransaction

from graph.driver import Record, fetch

# The label statuses that are a source, and those that stop it (a label travels 10 hops).
SOURCES = ["confirmed", "suggested", "review", "pending_rejection"]
STOPS = ["rejected"]


# What a FEEDS edge ``{hop}`` needs for a label to cross it: current, not masking, and not
# only INDIRECT (no transformations known, as on a view's or a hand-asserted edge, passes).
PASSES: LiteralString = """{hop}.until IS NULL AND NOT coalesce({hop}.masking, false)
      AND NOT 'MASKED' IN coalesce({hop}.transformations, [])
      AND (coalesce({hop}.transformations, []) = []
           OR any(t IN {hop}.transformations WHERE NOT t STARTS WITH 'INDIRECT'))"""


# The live columns downstream of the seeds (seeds included) that a change there may concern.
# The hint keeps the seek on each seed. Without it Neo4j sometimes planned the statement, as
# the graph grew under a first scan, to scan the whole URN index and test the EXISTS
# predicates on every asset before matching the seed: in 4 of 5 in-process scans of the
# scale-300 estate it took 6 to 114 s of a scan's Neo4j CPU instead of 0.5 (docs/benchmarks.md).
REGION = """
UNWIND $seeds AS seed
MATCH (s:Asset {urn: seed})
USING INDEX SEEK s:Asset(urn)
WHERE s:Column AND (
  EXISTS { (s)-[:LABELED|INHERITS]->(:Label) }
  OR EXISTS { (s)<-[f:FEEDS]-(u:Column) WHERE f.until IS NULL
              AND EXISTS { (u)-[:LABELED|INHERITS]->(:Label) } }
  OR EXISTS { (s)-[f:FEEDS]->(d:Column)-[:INHERITS]->(:Label) WHERE f.until IS NULL })
MATCH (s)((a)-[f:FEEDS]->(b:Column) WHERE f.until IS NULL){0,10}(c)
RETURN DISTINCT c.urn AS urn
"""
# Each column's inherited labels again: for each label held upstream along hops that pass
# values, the nearest source whose shortest path meets no rejection of that label.
RECOMPUTE: LiteralString = (
    """
UNWIND $rows AS urn
MATCH (c:Asset {urn: urn})
CALL (c) {
  MATCH (c)-[old:INHERITS]->(:Label)
  DELETE old
}
CALL (c) {
  MATCH p = ANY SHORTEST (src:Column)((x)-[f:FEEDS]->(y) WHERE """
    + PASSES.replace("{hop}", "f")
    + """){1,10}(c)
  MATCH (src)-[l:LABELED]->(label:Label)
  WHERE l.status IN $sources AND NOT EXISTS { (c)-[:LABELED]->(label) }
  MATCH q = ANY SHORTEST (src)((v)-[g:FEEDS]->(w) WHERE """
    + PASSES.replace("{hop}", "g")
    + """
      AND NOT EXISTS { (w)-[d:LABELED]->(label) WHERE d.status IN $stops }){1,10}(c)
  WITH label, src, l, q ORDER BY length(q), src.urn
  WITH label, collect({src: src.urn, status: l.status, path: [n IN nodes(q) | n.urn],
                       via: [e IN relationships(q) | coalesce(e.via, '')]})[0] AS nearest
  CREATE (c)-[i:INHERITS]->(label)
  SET i.status = 'inherited', i.source = nearest.src, i.sourceStatus = nearest.status,
      i.path = nearest.path, i.via = nearest.via, i.hops = size(nearest.path) - 1, i.at = $at
}
"""
)


async def propagate(tx: AsyncManagedTransaction, seeds: Iterable[str]) -> list[str]:
    """Recompute the inherited labels below columns whose lineage or labels changed; return
    the columns recomputed."""
    urns = sorted(set(seeds))
    if not urns:
        return []
    region = [r["urn"] for r in await fetch(tx, REGION, seeds=urns)]
    if region:
        at = datetime.now(UTC)
        await fetch(tx, RECOMPUTE, rows=region, sources=SOURCES, stops=STOPS, at=at)
    return region


async def write_and_propagate(
    driver: AsyncDriver,
    database: str,
    seeds: Sequence[str],
    *steps: tuple[LiteralString, dict[str, Any]],
) -> list[Record]:
    """Run the write ``steps`` and ``propagate`` below ``seeds`` in one transaction, returning
    the first step's records. One transaction, because writing a label or a lineage edge locks
    the column: a concurrent writer of the other waits, then sees it, or went first and is
    seen. In two, each could miss the other and the label would never reach below."""

    async with driver.session(database=database) as session:
        return await session.execute_write(write_steps, seeds, *steps)


async def write_steps(
    tx: AsyncManagedTransaction, seeds: Sequence[str], *steps: tuple[LiteralString, dict[str, Any]]
) -> list[Record]:
    """``write_and_propagate`` in the caller's transaction (with writes of its own)."""
    results = [await fetch(tx, query, **params) for query, params in steps]
    await propagate(tx, seeds)
    return results[0]
