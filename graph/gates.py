"""Quality gates of product versions: every run kept, and the remediation a failure opens.

``(:Contract)-[:HAS_RUN]->(:QualityRun {urn, at, by, passed, health, reason, alert, outcomes})``
per run; a failing run of a version without an open remediation opens one,
``(:Contract)-[:HAS_REMEDIATION]->(:Remediation {status: 'open', failedRun, ...})``, in the
same transaction, and the next passing run (the one that releases the quarantine) resolves it
(``clearingRun``, ``clearedBy``, ``clearedAt``). The failure analysis is appended as notes
(who, when, what), kept as three parallel lists so an append is one atomic ``SET``.
"""

from __future__ import annotations

import json
from typing import Any, LiteralString

from neo4j import AsyncDriver

from graph.driver import Record, read, write
from graph.records import plain

GATE: LiteralString = """
MATCH (c:Contract {urn: $urn})
OPTIONAL MATCH (c)-[:HAS_REMEDIATION]->(open:Remediation {status: 'open'})
WITH c, head(collect(open)) AS open, datetime() AS at
SET c.quarantine = $reason, c.alert = $alert, c.health = $health, c.quality = $outcomes,
    c.qualityCheckedAt = at
CREATE (c)-[:HAS_RUN]->(:QualityRun {urn: $run, name: 'quality ' + c.version, at: at, by: $actor,
                                     passed: $reason IS NULL, health: $health, reason: $reason,
                                     alert: $alert, outcomes: $outcomes})
FOREACH (_ IN CASE WHEN $reason IS NOT NULL AND open IS NULL THEN [1] ELSE [] END |
  CREATE (c)-[:HAS_REMEDIATION]->(:Remediation {
    urn: $remediation, name: 'remediation ' + c.version, version: c.urn, status: 'open',
    openedAt: at, openedBy: $actor, reason: $reason, failedRun: $run,
    noteBy: [], noteAt: [], noteText: []}))
FOREACH (m IN CASE WHEN $reason IS NULL AND open IS NOT NULL THEN [open] ELSE [] END |
  SET m.status = 'resolved', m.clearedAt = at, m.clearedBy = $actor, m.clearingRun = $run)
RETURN properties(c) AS props,
       CASE WHEN $reason IS NOT NULL AND open IS NULL THEN $remediation END AS opened,
       CASE WHEN $reason IS NULL AND open IS NOT NULL THEN open.urn END AS resolved
"""
RUNS: LiteralString = """
MATCH (:Contract {urn: $urn})-[:HAS_RUN]->(r:QualityRun)
RETURN properties(r) AS props ORDER BY r.at DESC LIMIT $limit
"""
_REMEDIATIONS: LiteralString = """
MATCH (:Contract {urn: $version})-[:HAS_REMEDIATION]->(m:Remediation)
"""
REMEDIATIONS: LiteralString = (
    _REMEDIATIONS
    + "WHERE $after IS NULL OR m.urn > $after\n"
    + "RETURN properties(m) AS props ORDER BY m.urn LIMIT $limit\n"
)
COUNT_REMEDIATIONS: LiteralString = _REMEDIATIONS + "RETURN count(m) AS n\n"
REMEDIATION: LiteralString = """
MATCH (m:Remediation {urn: $urn})
RETURN properties(m) AS props
"""
# A note of the failure analysis, only while the remediation is open.
NOTE: LiteralString = """
MATCH (m:Remediation {urn: $urn}) WHERE m.status = 'open'
SET m.noteBy = m.noteBy + $actor, m.noteAt = m.noteAt + datetime(),
    m.noteText = m.noteText + $note
RETURN properties(m) AS props
"""


async def record_gate(
    driver: AsyncDriver, database: str, urn: str, *, run: str, remediation: str,
    reason: str | None, alert: str | None, health: str, outcomes: list[dict[str, Any]],
    actor: str,
) -> tuple[Record, str | None, str | None]:  # fmt: skip
    """The verdict on the version and its run, and the remediation the run opened or resolved
    (their URNs, or None): one transaction."""
    rows = await write(
        driver, database, GATE, urn=urn, run=run, remediation=remediation, reason=reason,
        alert=alert, health=health, outcomes=json.dumps(outcomes), actor=actor,
    )  # fmt: skip
    return plain(rows[0]["props"]), rows[0]["opened"], rows[0]["resolved"]


async def quality_runs(driver: AsyncDriver, database: str, urn: str, limit: int) -> list[Record]:
    """A version's quality-gate runs, newest first."""
    return [plain(r["props"]) for r in await read(driver, database, RUNS, urn=urn, limit=limit)]


async def remediations(
    driver: AsyncDriver, database: str, version: str, limit: int, after: str | None = None
) -> list[Record]:
    """A version's remediations, oldest first (URN order)."""
    rows = await read(driver, database, REMEDIATIONS, version=version, after=after, limit=limit)
    return [plain(r["props"]) for r in rows]


async def count_remediations(driver: AsyncDriver, database: str, version: str) -> int:
    return (await read(driver, database, COUNT_REMEDIATIONS, version=version))[0]["n"]


async def get_remediation(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    rows = await read(driver, database, REMEDIATION, urn=urn)
    return plain(rows[0]["props"]) if rows else None


async def note(
    driver: AsyncDriver, database: str, urn: str, actor: str, text: str
) -> Record | None:
    """Append a note to an open remediation; None if it is not open (any more)."""
    rows = await write(driver, database, NOTE, urn=urn, actor=actor, note=text)
    return plain(rows[0]["props"]) if rows else None
