"""Compliance in the graph: the facts rules need, findings, frameworks and scores over time.

Facts are read a batch of columns at a time (keyset on the URN index); findings of a batch are
merged and the batch's findings no longer reported are resolved in one transaction, so an
evaluation that stops half-way leaves each batch consistent. Policies, versions and waivers are
neomodel objects (graph/models.py); what changes a finding's status when a waiver is approved
runs inside that object's transaction (``waive_finding``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncManagedTransaction
from neomodel import adb

from graph.domains import domains_of
from graph.driver import QUERIES, Record, fetch, read, write

# Labels with their status, owning teams of the column or its table, tags of both, domains,
# and the labels of the columns that feed it through lineage (up to 3 hops).
FACTS: LiteralString = (
    """
MATCH (c:Asset)
WHERE c.urn > $after AND c:Column AND c.removedAt IS NULL
  AND ($source IS NULL OR c.source = $source)
  AND ($urns IS NULL OR c.urn IN $urns)
WITH c ORDER BY c.urn LIMIT $limit
OPTIONAL MATCH (t:Table)-[:HAS_COLUMN]->(c)
CALL (c) {
  OPTIONAL MATCH (c)-[r:LABELED]->(l:Label)
  RETURN collect({name: l.name, category: l.category, sensitivity: l.sensitivity,
                  status: r.status}) AS labels
}
WITH c, t, labels, [(team:Team)-[:OWNS]->(c) | team.name] +
           CASE WHEN t IS NULL THEN [] ELSE [(team:Team)-[:OWNS]->(t) | team.name] END AS owners
CALL (c) {
  OPTIONAL MATCH (u:Column)-[:FEEDS]->{1,3}(c)
  OPTIONAL MATCH (u)-[r:LABELED]->(l:Label)
  RETURN collect(DISTINCT {name: l.name, category: l.category, sensitivity: l.sensitivity,
                           status: r.status, from: u.urn}) AS upstream
}
RETURN c.urn AS urn, 'column' AS kind, c.source AS source, t.urn AS table,
       [l IN labels WHERE l.name IS NOT NULL] AS labels, owners,
       [l IN upstream WHERE l.name IS NOT NULL AND l.status IN ['confirmed', 'suggested']]
         AS upstreamLabels,
       coalesce(c.tags, []) + coalesce(t.tags, []) AS tags, """
    + domains_of("c")
    + """ AS domains
ORDER BY urn
"""
)
# The columns of changed assets: a column itself, a table's live columns.
COLUMNS_OF = """
UNWIND $urns AS urn
MATCH (a:Asset {urn: urn})
CALL (a) {
  MATCH (a)-[:HAS_COLUMN]->{0,1}(c:Column)
  RETURN c
}
RETURN DISTINCT c.urn AS urn
"""
SYNC_FRAMEWORKS = """
UNWIND $rows AS row
MERGE (fw:Framework {urn: row.framework})
SET fw.name = row.frameworkName, fw.id = row.frameworkId
MERGE (c:Control {urn: row.urn})
SET c.name = row.name, c.title = row.title, c.citation = row.citation, c.id = row.id,
    c.framework = row.frameworkId
MERGE (fw)-[:HAS_CONTROL]->(c)
"""
# A finding seen again stays open (or waived); a resolved one reopens.
MERGE_FINDINGS = """
UNWIND $rows AS row
MERGE (f:Finding {urn: row.urn})
ON CREATE SET f.firstSeenAt = $now, f.status = 'new', f.asset = row.asset, f.rule = row.rule,
              f.control = row.control, f.framework = row.framework, f.name = row.name,
              f.source = row.source
WITH f, row, f.status AS before
SET f.status = CASE WHEN before IN ['open', 'waived'] THEN before ELSE 'open' END,
    f.resolvedAt = null, f.lastSeenAt = $now, f.ruleSetVersion = $version,
    f.severity = row.severity, f.message = row.message, f.evidence = row.evidence,
    f.domains = row.domains
WITH f, row, before
CALL (f, row) {
  MATCH (a:Asset {urn: row.asset})
  MERGE (f)-[:ABOUT]->(a)
}
CALL (f, row) {
  MATCH (c:Control {urn: row.control})
  MERGE (f)-[:VIOLATES]->(c)
}
WITH f, before WHERE before IN ['new', 'resolved']
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""
RESOLVE_FINDINGS = """
MATCH (f:Finding)
WHERE f.asset IN $assets AND f.status IN ['open', 'waived'] AND NOT f.urn IN $seen
SET f.status = 'resolved', f.resolvedAt = $now, f.ruleSetVersion = $version
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""
OPEN_BY_CONTROL = """
MATCH (f:Finding {status: 'open'})
RETURN f.framework AS framework, f.control AS control, f.domains AS domains,
       f.severity AS severity
"""
# History: a score is appended when it differs from the last one of its framework and domain.
RECORD_SCORES = """
UNWIND $rows AS row
CALL (row) {
  OPTIONAL MATCH (s:ComplianceScore {framework: row.framework, domain: row.domain})
  WITH s ORDER BY s.at DESC LIMIT 1
  RETURN s AS last
}
WITH row, last
WHERE last IS NULL OR last.status <> row.status OR last.failed <> row.failed
   OR coalesce(last.score, -1) <> coalesce(row.score, -1)
   OR last.ruleSetVersion <> row.ruleSetVersion
CREATE (s:ComplianceScore)
SET s = row, s.at = $now, s.name = row.framework + ' ' + row.domain + ' ' + row.status
"""
SCORES_AS_OF = """
MATCH (s:ComplianceScore {framework: $framework, domain: $domain})
WHERE s.at <= $asOf
RETURN s {.*} AS score ORDER BY s.at DESC LIMIT 1
"""
_FINDINGS_WHERE: LiteralString = """
  AND ($framework IS NULL OR f.framework = $framework)
  AND ($status IS NULL OR f.status = $status)
  AND ($asset IS NULL OR f.asset = $asset)
  AND ($domain IS NULL OR $domain IN f.domains)
  AND ($domains IS NULL OR all(d IN coalesce(nullIf(f.domains, []), ['']) WHERE d IN $domains))
  AND ($sources IS NULL OR f.source IN $sources)
"""
FINDINGS_PAGE: LiteralString = (
    "MATCH (f:Finding) WHERE f.urn > $after"
    + _FINDINGS_WHERE
    + "RETURN f {.*} AS finding ORDER BY f.urn LIMIT $limit"
)
FINDINGS_COUNT: LiteralString = (
    "MATCH (f:Finding) WHERE true" + _FINDINGS_WHERE + "RETURN count(f) AS n"
)
FINDING = "MATCH (f:Finding {urn: $urn}) RETURN f {.*} AS finding"
# At a past moment: seen by then and not resolved yet.
FINDINGS_AS_OF = """
MATCH (f:Finding {framework: $framework})
WHERE f.firstSeenAt <= $asOf AND (f.resolvedAt IS NULL OR f.resolvedAt > $asOf)
  AND ($domain IS NULL OR $domain IN f.domains)
OPTIONAL MATCH (w:Waiver)-[:WAIVES]->(f)
WHERE w.approvedAt <= $asOf AND w.expiresAt > $asOf
WITH f, collect(w {.*}) AS waivers
ORDER BY f.control, f.asset
RETURN f {.*} AS finding, waivers
"""
WAIVE = """
MATCH (f:Finding {urn: $finding}), (w:Waiver {id: $waiver})
MERGE (w)-[:WAIVES]->(f)
SET f.status = CASE WHEN $approved AND f.status = 'open' THEN 'waived' ELSE f.status END
RETURN f.status AS status
"""
EXPIRE_WAIVERS = """
MATCH (w:Waiver {status: 'approved'})-[:WAIVES]->(f:Finding)
WHERE w.expiresAt <= $now
SET w.status = 'expired', f.status = CASE WHEN f.status = 'waived' THEN 'open' ELSE f.status END
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""

# Critical findings open since before $before, each escalated once.
ESCALATE = """
MATCH (f:Finding {status: 'open', severity: 'critical'})
WHERE f.firstSeenAt <= $before AND f.escalatedAt IS NULL
SET f.escalatedAt = $now
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""


async def column_facts(
    driver: AsyncDriver,
    database: str,
    *,
    after: str = "",
    limit: int = 500,
    source: str | None = None,
    urns: list[str] | None = None,
) -> list[Record]:
    """The next ``limit`` live columns after URN ``after`` with what rules decide on."""
    return await read(driver, database, FACTS, after=after, limit=limit, source=source, urns=urns)


async def columns_of(driver: AsyncDriver, database: str, urns: list[str]) -> list[str]:
    if not urns:
        return []
    return [r["urn"] for r in await read(driver, database, COLUMNS_OF, urns=urns)]


async def sync_frameworks(driver: AsyncDriver, database: str, rows: list[dict[str, Any]]) -> None:
    await write(driver, database, SYNC_FRAMEWORKS, rows=rows)


async def record_findings(
    driver: AsyncDriver,
    database: str,
    *,
    version: int,
    assets: list[str],
    rows: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[Record], list[Record]]:
    """Merge one batch's findings and resolve the batch's others: (opened, resolved)."""

    async def work(tx: AsyncManagedTransaction) -> tuple[list[Record], list[Record]]:
        opened: list[Record] = []
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            opened += await fetch(tx, MERGE_FINDINGS, rows=chunk, now=now, version=version)
        resolved = await fetch(
            tx,
            RESOLVE_FINDINGS,
            assets=assets,
            seen=[r["urn"] for r in rows],
            now=now,
            version=version,
        )
        return [r["finding"] for r in opened], [r["finding"] for r in resolved]

    QUERIES.labels("write").inc()
    async with driver.session(database=database) as session:
        return await session.execute_write(work)


async def open_by_control(driver: AsyncDriver, database: str) -> list[Record]:
    return await read(driver, database, OPEN_BY_CONTROL)


async def record_scores(
    driver: AsyncDriver, database: str, rows: list[dict[str, Any]], now: datetime
) -> None:
    """Append the scores that changed: history, so a past report can be reproduced."""
    await write(driver, database, RECORD_SCORES, rows=rows, now=now)


async def score_as_of(
    driver: AsyncDriver, database: str, framework: str, domain: str, as_of: datetime
) -> Record | None:
    rows = await read(
        driver, database, SCORES_AS_OF, framework=framework, domain=domain, asOf=as_of
    )
    return rows[0]["score"] if rows else None


async def findings_page(
    driver: AsyncDriver, database: str, *, after: str, limit: int, **where: Any
) -> list[Record]:
    """Findings in URN order. ``where``: framework, status, asset, domain, and the caller's
    scope as RBAC decides: domains and sources (None: all)."""
    rows = await read(driver, database, FINDINGS_PAGE, after=after, limit=limit, **where)
    return [r["finding"] for r in rows]


async def count_findings(driver: AsyncDriver, database: str, **where: Any) -> int:
    return (await read(driver, database, FINDINGS_COUNT, **where))[0]["n"]


async def get_finding(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    rows = await read(driver, database, FINDING, urn=urn)
    return rows[0]["finding"] if rows else None


async def findings_as_of(
    driver: AsyncDriver, database: str, framework: str, domain: str | None, as_of: datetime
) -> list[Record]:
    return await read(
        driver, database, FINDINGS_AS_OF, framework=framework, domain=domain, asOf=as_of
    )


async def waive_finding(finding: str, waiver: str, *, approved: bool) -> str | None:
    """Link a waiver to its finding, and waive the finding once approved; inside the caller's
    neomodel transaction (graph/models.py ``unit_of_work``). The finding's status, or None."""
    rows, _ = await adb.cypher_query(
        WAIVE, {"finding": finding, "waiver": waiver, "approved": approved}
    )
    return rows[0][0] if rows else None


async def expire_waivers(driver: AsyncDriver, database: str, now: datetime) -> list[Record]:
    """Waivers past their end: expired, and their findings open again."""
    rows = await write(driver, database, EXPIRE_WAIVERS, now=now)
    return [r["finding"] for r in rows]


async def escalate(
    driver: AsyncDriver, database: str, before: datetime, now: datetime
) -> list[Record]:
    """Critical findings open since ``before`` and not escalated yet, now marked escalated."""
    rows = await write(driver, database, ESCALATE, before=before, now=now)
    return [r["finding"] for r in rows]
