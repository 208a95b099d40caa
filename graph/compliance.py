"""Compliance in the graph: the facts rules need, findings, frameworks and scores over time.

Facts are read a batch of columns at a time (keyset on the URN index); findings of a batch are
merged and the batch's findings no longer reported are resolved in one transaction, so an
evaluation that stops half-way leaves each batch consistent. Policies, versions and waivers are
neomodel objects (graph/models.py); what changes a finding's status when a waiver is approved
runs inside that object's transaction (``waive_finding``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncManagedTransaction
from neomodel import adb

from graph.domains import domains_of
from graph.driver import CHUNK, QUERIES, Record, fetch, read, write

# The next batch of live columns in URN order: of the estate or a source (a range over the URN
# index), or of the columns listed (looked up one by one: the watcher's few columns would
# otherwise cost a range over the whole index).
_PAGE: LiteralString = """
MATCH (c:Asset)
WHERE c.urn > $after AND c:Column AND c.removedAt IS NULL
  AND ($source IS NULL OR c.source = $source)
WITH c ORDER BY c.urn LIMIT $limit
"""
_LISTED: LiteralString = """
UNWIND $urns AS urn
MATCH (c:Asset {urn: urn})
WHERE urn > $after AND c:Column AND c.removedAt IS NULL
WITH c ORDER BY c.urn LIMIT $limit
"""
# A batch as one record (lists decode far faster than a record per column): ``urns`` all of
# them, ``facts`` those rules may fail with what they decide on. Labels with their status, the
# labels inherited along lineage (graph/inheritance.py: the INHERITS edges, which carry the
# stop rules) with their provenance, owning teams of the column or its table, tags of both,
# domains, and the destinations of its own labels: the columns downstream that inherit a label
# from it, with their source, tags and domains. With ``$labelledOnly`` (no rule in force fails
# a column without labels) a column without counted labels of its own or inherited ones gets
# no facts: the CASE skips the rest.
_FACTS: LiteralString = (
    """
WITH c, [(c)-[r:LABELED]->(l:Label) | {name: l.name, category: l.category,
                                        sensitivity: l.sensitivity, status: r.status}] AS labels,
     [(c)-[i:INHERITS]->(l:Label) | {name: l.name, category: l.category,
                                      sensitivity: l.sensitivity, status: i.status,
                                      sourceStatus: i.sourceStatus, from: i.source,
                                      path: i.path, via: i.via}] AS inherited
OPTIONAL MATCH (t:Table)-[:HAS_COLUMN]->(c)
WITH c, t, labels, inherited,
     any(l IN labels WHERE l.status IN ['confirmed', 'suggested']) AS holds
WITH c, t, labels, inherited, holds, CASE WHEN NOT holds THEN [] ELSE COLLECT {
  MATCH (c)((a)-[f:FEEDS]->(b:Column) WHERE f.until IS NULL){1,10}(d)
  WITH DISTINCT d
  WITH d, [(d)-[i:INHERITS]->(l:Label) WHERE i.source = c.urn | l.name] AS names
  WHERE size(names) > 0
  OPTIONAL MATCH (dt:Table)-[:HAS_COLUMN]->(d)
  RETURN {urn: d.urn, source: d.source, labels: names,
          tags: coalesce(d.tags, []) + coalesce(dt.tags, []), domains: """
    + domains_of("d")
    + """}
} END AS destinations
RETURN collect(c.urn) AS urns, collect(CASE
  WHEN NOT $labelledOnly OR holds OR size(inherited) > 0
  THEN {urn: c.urn, kind: 'column', source: c.source, table: t.urn, labels: labels,
        inheritedLabels: inherited, destinations: destinations,
        owners: [(team:Team)-[:OWNS]->(c) | team.name]
                + CASE WHEN t IS NULL THEN [] ELSE [(team:Team)-[:OWNS]->(t) | team.name] END,
        tags: coalesce(c.tags, []) + coalesce(t.tags, []), domains: """
    + domains_of("c")
    + """}
END) AS facts
"""
)
# The columns of assets: a column itself, a table's columns.
_COLUMNS: LiteralString = """
UNWIND $urns AS urn
MATCH (a:Asset {urn: urn})
CALL (a) {
  MATCH (a)-[:HAS_COLUMN]->{0,1}(c:Column)
  RETURN c
}
"""
COLUMNS_OF: LiteralString = _COLUMNS + "RETURN DISTINCT c.urn AS urn"
# The columns a change of assets can move: theirs; those downstream within as many hops as
# labels are inherited (graph/inheritance.py: 10), whose inherited labels follow a label or an
# edge; and the labelled ones upstream within as many, whose destinations include them.
AFFECTED: LiteralString = (
    _COLUMNS
    + """CALL (c) {
  MATCH (c)-[:FEEDS]->{0,10}(d:Column)
  RETURN d
  UNION
  MATCH (d:Column)-[:FEEDS]->{1,10}(c)
  WHERE EXISTS { (d)-[:LABELED]->(:Label) }
  RETURN d
}
RETURN DISTINCT d.urn AS urn
"""
)
SYNC_FRAMEWORKS = """
UNWIND $rows AS row
MERGE (fw:Framework {urn: row.framework})
SET fw.name = row.frameworkName, fw.id = row.frameworkId
MERGE (c:Control {urn: row.urn})
SET c.name = row.name, c.title = row.title, c.citation = row.citation, c.id = row.id,
    c.framework = row.frameworkId
MERGE (fw)-[:HAS_CONTROL]->(c)
"""
OPEN = ("open", "waived")  # statuses of a finding an evaluation still reports
# What a batch's columns already have: only what an evaluation changes is written.
EXISTING = """
MATCH (f:Finding) WHERE f.asset IN $assets
RETURN collect(f {.urn, .status, .severity, .message, .evidence, .domains, .ruleSetVersion})
  AS findings
"""
# New or changed findings. One seen again stays open (or waived); a resolved one reopens,
# waived again while an approved waiver of it runs (its cause went away only for a while),
# keeping when it was resolved and when it reopened (``resolvedFrom``, ``resolvedUntil``), so
# that a report of a moment in between reads it resolved. One whose severity, message,
# evidence or domains changed keeps the values it had until now (``row.was``, ``changes``):
# ``changedAt`` and the ``prior*`` lists, index by index, the last ``$kept`` of them; unless
# an evaluation that committed since this one read it wrote the new values already (it kept
# the old ones: twice would date them later than they held).
MERGE_FINDINGS = """
UNWIND $rows AS row
MERGE (f:Finding {urn: row.urn})
ON CREATE SET f.firstSeenAt = $now, f.status = 'new', f.asset = row.asset, f.rule = row.rule,
              f.control = row.control, f.framework = row.framework, f.name = row.name,
              f.source = row.source
WITH f, row, f.status AS before
CALL (f, row) {
  WITH * WHERE row.was IS NOT NULL AND NOT coalesce(
    [f.severity, f.message, f.evidence, f.domains]
    = [row.severity, row.message, row.evidence, row.domains], false)
  SET f.changedAt = (coalesce(f.changedAt, []) + $now)[-$kept..],
      f.priorSeverity = (coalesce(f.priorSeverity, []) + row.was.severity)[-$kept..],
      f.priorMessage = (coalesce(f.priorMessage, []) + row.was.message)[-$kept..],
      f.priorEvidence = (coalesce(f.priorEvidence, []) + row.was.evidence)[-$kept..],
      f.priorDomains = (coalesce(f.priorDomains, []) + row.was.domains)[-$kept..]
}
SET f.resolvedFrom = CASE WHEN before = 'resolved'
      THEN coalesce(f.resolvedFrom, []) + coalesce(f.resolvedAt, f.lastSeenAt)
      ELSE f.resolvedFrom END,
    f.resolvedUntil = CASE WHEN before = 'resolved'
      THEN coalesce(f.resolvedUntil, []) + $now ELSE f.resolvedUntil END
SET f.status = CASE
      WHEN before IN ['open', 'waived'] THEN before
      WHEN before = 'resolved'
           AND EXISTS { MATCH (w:Waiver {status: 'approved'})-[:WAIVES]->(f)
                        WHERE w.expiresAt > $now } THEN 'waived'
      ELSE 'open' END,
    f.resolvedAt = null, f.lastSeenAt = $now, f.ruleSetVersion = $version,
    f.severity = row.severity, f.message = row.message, f.evidence = row.evidence,
    f.domains = row.domains
WITH f, row, before
CALL (f, row, before) {
  WITH * WHERE before = 'new'
  MATCH (a:Asset {urn: row.asset}), (c:Control {urn: row.control})
  CREATE (f)-[:ABOUT]->(a), (f)-[:VIOLATES]->(c)
}
WITH f, before WHERE before IN ['new', 'resolved']
RETURN collect(f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status})
  AS opened
"""
RESOLVE_FINDINGS = """
MATCH (f:Finding) WHERE f.urn IN $urns AND f.status IN ['open', 'waived']
SET f.status = 'resolved', f.resolvedAt = $now, f.ruleSetVersion = $version
RETURN collect(f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status})
  AS resolved
"""
# The fields an evaluation sets on a finding it sees again (MERGE_FINDINGS), whose earlier
# values a finding keeps (``changes``), and how many changes of them it keeps.
_COMPARED = ("severity", "message", "evidence", "domains")
KEPT_CHANGES = 20
# A finding's earlier values, index by index: until when, and what (domains as JSON text: a
# property cannot hold a list of lists).
_PRIOR = {"severity": "priorSeverity", "message": "priorMessage", "evidence": "priorEvidence",
          "domains": "priorDomains"}  # fmt: skip
_HISTORY = ("changedAt", *_PRIOR.values())
# What scores need of the open findings: each distinct control, domains and severity once;
# and the domains of waived ones, whose scores are due too (all waived: compliant there).
OPEN_BY_CONTROL = """
CALL () {
  MATCH (f:Finding {status: 'open'})
  WITH DISTINCT f.framework AS framework, f.control AS control, f.domains AS domains,
       f.severity AS severity
  RETURN collect({framework: framework, control: control, domains: domains, severity: severity})
    AS open
}
CALL () {
  MATCH (f:Finding {status: 'waived'})
  UNWIND f.domains AS domain
  RETURN collect(DISTINCT domain) AS waived
}
RETURN open, waived
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
# Every field named: Neo4j stores no null property (the score of a framework not covered).
SCORES_AS_OF = """
MATCH (s:ComplianceScore {framework: $framework, domain: $domain})
WHERE s.at <= $asOf
RETURN s {.framework, .domain, .status, .score, .passed, .failed, .ruleSetVersion, .at} AS score
ORDER BY s.at DESC LIMIT 1
"""
# The controls the rules of the rule set in force at a moment implement, and its version.
CONTROLS_IN_FORCE = """
MATCH (rs:RuleSet) WHERE rs.activatedAt <= $asOf
WITH rs ORDER BY rs.version DESC LIMIT 1
RETURN rs.version AS version, COLLECT {
  MATCH (rs)-[:INCLUDES]->(:PolicyVersion)-[:HAS_RULE]->(r:Rule)
  UNWIND r.controls AS control
  RETURN DISTINCT control
} AS controls
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


def by_urn(label: LiteralString) -> LiteralString:
    """The lookup by URN of findings or waivers (graph/catalog.py), read with the scope RBAC
    holds them to: a finding's domains and source as its last evaluation recorded them, a
    waiver's finding's (``source`` in its props; a waiver whose finding is gone is not found)."""
    return (
        "MATCH (n:" + label + ") WHERE n.urn IN $urns\n"
        "OPTIONAL MATCH (n)-[:WAIVES]->(waived:Finding)\n"
        "WITH n, coalesce(waived, n) AS f WHERE f:Finding\n"
        "RETURN labels(n) AS labels, n {.*, source: f.source} AS props,\n"
        "       coalesce(f.domains, []) AS domains\n"
    )


# Waivers by the findings they waive (the caller's scope is the findings'), oldest request
# first: an approver's inbox.
_WAIVERS_WHERE: LiteralString = """
MATCH (w:Waiver)-[:WAIVES]->(f:Finding)
WHERE ($status IS NULL OR w.status = $status) AND ($finding IS NULL OR f.urn = $finding)
  AND ($domain IS NULL OR $domain IN f.domains)
  AND ($domains IS NULL OR all(d IN coalesce(nullIf(f.domains, []), ['']) WHERE d IN $domains))
  AND ($sources IS NULL OR f.source IN $sources)
"""
WAIVERS_PAGE: LiteralString = (
    _WAIVERS_WHERE
    + "  AND ($at IS NULL OR w.requestedAt > datetime($at)"
    + " OR (w.requestedAt = datetime($at) AND w.id > $id))\n"
    + "RETURN w {.*, requestedAt: toString(w.requestedAt)} AS waiver\n"
    + "ORDER BY w.requestedAt, w.id LIMIT $limit\n"
)
WAIVERS_COUNT: LiteralString = _WAIVERS_WHERE + "RETURN count(w) AS n\n"
# At a past moment: seen by then and not resolved then (nor in a span it was resolved before
# it reopened), with the waivers that ran then (approved by then, not revoked by then), and
# ``prior``: which of its earlier values held then (the first that changed after it; null: its
# current ones), by whose domains ``$domain`` filters (``$domainText``, the name as JSON, is
# a token of the JSON text of domains that hold it; ``findings_as_of`` checks exactly).
FINDINGS_AS_OF = """
MATCH (f:Finding {framework: $framework})
WHERE f.firstSeenAt <= $asOf AND (f.resolvedAt IS NULL OR f.resolvedAt > $asOf)
  AND NOT any(i IN range(0, size(coalesce(f.resolvedUntil, [])) - 1)
              WHERE f.resolvedFrom[i] <= $asOf AND $asOf < f.resolvedUntil[i])
WITH f, [i IN range(0, size(coalesce(f.changedAt, [])) - 1) WHERE $asOf < f.changedAt[i]][0]
  AS prior
WHERE $domain IS NULL OR CASE WHEN prior IS NULL THEN $domain IN f.domains
                              ELSE f.priorDomains[prior] CONTAINS $domainText END
OPTIONAL MATCH (w:Waiver)-[:WAIVES]->(f)
WHERE w.approvedAt <= $asOf AND w.expiresAt > $asOf
  AND (w.closedAt IS NULL OR w.closedAt > $asOf)
WITH f, prior, collect(w {.*}) AS waivers
ORDER BY f.control, f.asset
RETURN f {.*} AS finding, prior, waivers
"""
WAIVE = """
MATCH (f:Finding {urn: $finding}), (w:Waiver {urn: $waiver})
MERGE (w)-[:WAIVES]->(f)
SET f.status = CASE WHEN $approved AND f.status = 'open' THEN 'waived' ELSE f.status END
RETURN f.status AS status
"""
# A waiver's step (approve, decline, withdraw, revoke) from the status its caller read, with
# what the step stamps on it. Writing the waiver first (a property set and removed) takes its
# write lock, held to the end of the transaction, before its status is read: a step or an
# expiry committed meanwhile is read, and this one writes nothing (no row: the caller reports
# it). Read first, as a plain MATCH ... WHERE would, both could pass the check.
STEP_WAIVER = """
MATCH (w:Waiver {urn: $urn})
SET w.lock = true
REMOVE w.lock
WITH w WHERE w.status = $start
SET w.status = $end, w += $stamps
RETURN w.urn AS urn
"""
# A waiver revoked (stepped so in the same transaction): its finding, waived, is open again at
# once, unless another approved waiver of it still runs; one resolved meanwhile stays so. One
# that opens again notes when (``unwaivedAt``): its escalation counts from then (ESCALATE).
UNWAIVE = """
MATCH (f:Finding {urn: $finding})
WITH f, f.status = 'waived' AND NOT EXISTS {
    MATCH (w:Waiver {status: 'approved'})-[:WAIVES]->(f) WHERE w.expiresAt > $now
  } AS reopens
SET f.status = CASE WHEN reopens THEN 'open' ELSE f.status END,
    f.unwaivedAt = CASE WHEN reopens THEN $now ELSE f.unwaivedAt END
RETURN f.status AS status
"""
# Waivers past their end, approved or still awaiting approval, read again under their lock
# (as STEP_WAIVER does): one revoked, declined or withdrawn meanwhile stays so. Only the
# findings that open again are returned (announced), noting when (``unwaivedAt``, as UNWAIVE
# does): one resolved meanwhile stays so; a request never waived one.
EXPIRE_WAIVERS = """
MATCH (w:Waiver)-[:WAIVES]->(f:Finding)
WHERE w.status IN ['approved', 'requested'] AND w.expiresAt <= $now
SET w.lock = true
REMOVE w.lock
WITH w, f WHERE w.status IN ['approved', 'requested']
WITH w, f, w.status = 'approved' AND f.status = 'waived' AS reopens
SET w.status = 'expired', f.status = CASE WHEN reopens THEN 'open' ELSE f.status END,
    f.unwaivedAt = CASE WHEN reopens THEN $now ELSE f.unwaivedAt END
WITH f WHERE reopens
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""

# Critical findings open since before $before (since they last reopened, if they resolved
# once or a waiver of them ended early or expired: one back a minute ago has not been open a
# day), each escalated once.
ESCALATE = """
MATCH (f:Finding {status: 'open', severity: 'critical'})
WHERE coalesce(f.resolvedUntil[-1], f.firstSeenAt) <= $before
  AND coalesce(f.unwaivedAt, f.firstSeenAt) <= $before AND f.escalatedAt IS NULL
SET f.escalatedAt = $now
RETURN f {.urn, .asset, .framework, .control, .domains, .severity, .message, .status} AS finding
"""


async def _one(driver: AsyncDriver, database: str, query: LiteralString, **params: Any) -> Record:
    """The single record of a read that collects a batch into lists, as the driver decoded it:
    ``read`` copies every nested value again (``Record.data``), which for a batch of facts
    costs several times the query itself."""

    async def work(tx: AsyncManagedTransaction) -> Record:
        result = await tx.run(query, params)
        return dict((await result.single(strict=True)).items())

    QUERIES.labels("read").inc()
    async with driver.session(database=database) as session:
        return await session.execute_read(work)


async def column_facts(
    driver: AsyncDriver,
    database: str,
    *,
    after: str = "",
    limit: int = 500,
    source: str | None = None,
    urns: list[str] | None = None,
    labelled_only: bool = False,
) -> tuple[list[str], list[Record]]:
    """The next ``limit`` live columns after URN ``after`` (in URN order; of ``source``, or of
    ``urns``, or all) and the facts of those rules may fail (with ``labelled_only``: those with
    counted labels of their own or inherited ones)."""
    batch = await _one(
        driver,
        database,
        (_PAGE if urns is None else _LISTED) + _FACTS,
        after=after,
        limit=limit,
        source=source,
        urns=urns,
        labelledOnly=labelled_only,
    )
    return sorted(batch["urns"]), batch["facts"]


async def columns_of(driver: AsyncDriver, database: str, urns: list[str]) -> list[str]:
    if not urns:
        return []
    return [r["urn"] for r in await read(driver, database, COLUMNS_OF, urns=urns)]


async def affected_columns(driver: AsyncDriver, database: str, urns: list[str]) -> list[str]:
    """The columns whose facts a change of ``urns`` may have changed, downstream ones too."""
    if not urns:
        return []
    return [r["urn"] for r in await read(driver, database, AFFECTED, urns=urns)]


async def sync_frameworks(driver: AsyncDriver, database: str, rows: list[dict[str, Any]]) -> None:
    await write(driver, database, SYNC_FRAMEWORKS, rows=rows)


def changes(
    rows: list[dict[str, Any]], existing: list[Record], version: int
) -> tuple[list[dict[str, Any]], list[str]]:
    """Of a batch's findings, those to write (new, reopened, or with another severity, message,
    evidence, domains or rule-set version) and the URNs of the open or waived ones to resolve
    (not reported again). A finding seen unchanged is not written at all. One whose severity,
    message, evidence or domains changed carries its earlier values (``was``), which it keeps
    (MERGE_FINDINGS) for reports of a past moment; a new rule-set version or a reopening
    alone changes none of them and adds nothing."""
    before = {f["urn"]: f for f in existing}
    changed = []
    for row in rows:
        old = before.get(row["urn"])
        altered = old is not None and any(old[key] != row[key] for key in _COMPARED)
        if altered:
            changed.append({**row, "was": _was(old)})
        elif old is None or old["status"] == "resolved" or old["ruleSetVersion"] != version:
            changed.append(row)
    seen = {row["urn"] for row in rows}
    gone = [urn for urn, f in before.items() if f["status"] in OPEN and urn not in seen]
    return changed, gone


def _was(old: Record) -> dict[str, str]:
    """A stored finding's values of the compared fields, as its history keeps them. Bounded
    (the last ``KEPT_CHANGES``): only real changes are kept, but a value that flaps (evidence
    naming a lineage edge that comes and goes, a label confirmed and rejected in turn) changes
    at every evaluation, and a finding read by every page and report would grow for ever. A
    report as of a moment before the oldest change kept reads the oldest value kept."""
    return {
        "severity": old["severity"] or "",
        "message": old["message"] or "",
        "evidence": old["evidence"] or "{}",
        "domains": json.dumps(old["domains"] or [], ensure_ascii=False),
    }


async def record_findings(
    driver: AsyncDriver,
    database: str,
    *,
    version: int,
    assets: list[str],
    rows: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[Record], list[Record]]:
    """Write one batch's new and changed findings and resolve the batch's others, in one
    transaction: (new or back, each with the status it got: open, or waived under a running
    waiver; resolved)."""

    async def work(tx: AsyncManagedTransaction) -> tuple[list[Record], list[Record]]:
        existing = (await fetch(tx, EXISTING, assets=assets))[0]["findings"]
        changed, gone = changes(rows, existing, version)
        opened: list[Record] = []
        for start in range(0, len(changed), CHUNK):
            chunk = changed[start : start + CHUNK]
            merged = await fetch(
                tx, MERGE_FINDINGS, rows=chunk, now=now, version=version, kept=KEPT_CHANGES
            )
            opened += merged[0]["opened"]
        resolved: list[Record] = []
        if gone:
            result = await fetch(tx, RESOLVE_FINDINGS, urns=gone, now=now, version=version)
            resolved = result[0]["resolved"]
        return opened, resolved

    QUERIES.labels("write").inc()
    async with driver.session(database=database) as session:
        return await session.execute_write(work)


async def prepare_findings(driver: AsyncDriver, database: str) -> None:
    """Have Neo4j plan the finding writes before a watcher needs them (planning them takes a
    good part of a second on a busy machine): run once with nothing to write."""

    async def work(tx: AsyncManagedTransaction) -> None:
        for query in (EXISTING, MERGE_FINDINGS, RESOLVE_FINDINGS):
            await fetch(tx, query, assets=[], rows=[], urns=[], now=None, version=0, kept=0)

    async with driver.session(database=database) as session:
        await session.execute_write(work)


async def open_by_control(driver: AsyncDriver, database: str) -> tuple[list[Record], list[str]]:
    """The open findings' distinct controls, domains and severities; the waived ones' domains."""
    row = (await read(driver, database, OPEN_BY_CONTROL))[0]
    return row["open"], row["waived"]


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


async def controls_in_force(
    driver: AsyncDriver, database: str, as_of: datetime
) -> tuple[int, set[str]]:
    """The rule-set version in force at ``as_of`` and the control URNs its rules implement
    (0 and none before any activation)."""
    rows = await read(driver, database, CONTROLS_IN_FORCE, asOf=as_of)
    return (rows[0]["version"], set(rows[0]["controls"])) if rows else (0, set())


async def findings_page(
    driver: AsyncDriver, database: str, *, after: str, limit: int, **where: Any
) -> list[Record]:
    """Findings in URN order. ``where``: framework, status, asset, domain, and the caller's
    scope as RBAC decides: domains and sources (None: all)."""
    rows = await read(driver, database, FINDINGS_PAGE, after=after, limit=limit, **where)
    return [r["finding"] for r in rows]


async def count_findings(driver: AsyncDriver, database: str, **where: Any) -> int:
    return (await read(driver, database, FINDINGS_COUNT, **where))[0]["n"]


async def waivers_page(
    driver: AsyncDriver, database: str, *, after: tuple[str, str] | None, limit: int,
    **where: Any,
) -> list[Record]:  # fmt: skip
    """Waivers, oldest request first, after (requestedAt, id). ``where``: status, finding,
    domain, and the caller's scope of findings: domains and sources (None: all)."""
    at, id = after or (None, None)
    rows = await read(driver, database, WAIVERS_PAGE, at=at, id=id, limit=limit, **where)
    return [r["waiver"] for r in rows]


async def count_waivers(driver: AsyncDriver, database: str, **where: Any) -> int:
    return (await read(driver, database, WAIVERS_COUNT, **where))[0]["n"]


async def get_finding(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    rows = await read(driver, database, FINDING, urn=urn)
    return rows[0]["finding"] if rows else None


async def findings_as_of(
    driver: AsyncDriver, database: str, framework: str, domain: str | None, as_of: datetime
) -> list[Record]:
    """The findings of ``framework`` as they stood at ``as_of`` (of ``domain`` then, if
    given), each with the waivers that ran then: with the severity, message, evidence and
    domains it had then."""
    rows = await read(
        driver, database, FINDINGS_AS_OF, framework=framework, domain=domain, asOf=as_of,
        domainText=json.dumps(domain, ensure_ascii=False),
    )  # fmt: skip
    found = [{"finding": values_at(r["finding"], r["prior"]), "waivers": r["waivers"]}
             for r in rows]  # fmt: skip
    return [r for r in found if domain is None or domain in r["finding"]["domains"]]


def values_at(finding: Record, prior: int | None) -> Record:
    """The finding with its earlier values of index ``prior`` (None: its current ones), and
    without its history."""
    out = {key: value for key, value in finding.items() if key not in _HISTORY}
    if prior is not None:
        out |= {key: finding[stored][prior] for key, stored in _PRIOR.items()}
        out["domains"] = json.loads(out["domains"])
    return out


async def waive_finding(finding: str, waiver: str, *, approved: bool) -> str | None:
    """Link a waiver (by URN) to its finding, and waive the finding once approved; inside the
    caller's neomodel transaction (graph/models.py ``unit_of_work``). The finding's status, or
    None."""
    rows, _ = await adb.cypher_query(
        WAIVE, {"finding": finding, "waiver": waiver, "approved": approved}
    )
    return rows[0][0] if rows else None


async def step_waiver(urn: str, start: str, end: str, stamps: Mapping[str, Any]) -> bool:
    """Move the waiver ``urn`` from ``start`` to ``end`` with ``stamps`` (stored names), inside
    the caller's neomodel transaction; False if it was no longer ``start`` (nothing written)."""
    rows, _ = await adb.cypher_query(
        STEP_WAIVER, {"urn": urn, "start": start, "end": end, "stamps": dict(stamps)}
    )
    return bool(rows)


async def unwaive_finding(finding: str, now: datetime) -> str | None:
    """After its waiver was revoked, the finding open again if nothing else waives it; inside
    the caller's neomodel transaction, as ``waive_finding``. The finding's status, or None."""
    rows, _ = await adb.cypher_query(UNWAIVE, {"finding": finding, "now": now})
    return rows[0][0] if rows else None


async def expire_waivers(driver: AsyncDriver, database: str, now: datetime) -> list[Record]:
    """Waivers past their end (approved or requested): expired; the findings they kept waived,
    open again."""
    rows = await write(driver, database, EXPIRE_WAIVERS, now=now)
    return [r["finding"] for r in rows]


async def escalate(
    driver: AsyncDriver, database: str, before: datetime, now: datetime
) -> list[Record]:
    """Critical findings open since ``before`` and not escalated yet, now marked escalated."""
    rows = await write(driver, database, ESCALATE, before=before, now=now)
    return [r["finding"] for r in rows]
