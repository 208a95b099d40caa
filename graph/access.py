"""Access requests and grants: a consumer team asks for a product version, its owner decides.

``(:AccessRequest)-[:FOR]->(:Contract)``, ``(:AccessRequest)-[:BY]->(:Team)``; an approval
adds the grant ``(:Team)-[:GRANTED {request, expiresAt}]->(:Contract)``, which binds the
consumer to that version (retiring it is refused while a grant is live) and lets the team's
members read what the product exposes (resolvers/loaders.py) until it expires or is revoked.
"""

from __future__ import annotations

from typing import LiteralString

from neo4j import AsyncDriver

from graph.driver import Record, read, write
from graph.records import plain

REQUEST: LiteralString = """
MATCH (c:Contract {urn: $version}), (t:Team {urn: $team})
CREATE (r:AccessRequest {id: $id})
SET r.name = 'access ' + $id, r.status = 'pending', r.purpose = $purpose, r.days = $days,
    r.requestedBy = $actor, r.requestedAt = datetime(), r.version = $version,
    r.product = c.product, r.team = $team, r.correlationId = $correlation
CREATE (r)-[:FOR]->(c)
CREATE (r)-[:BY]->(t)
RETURN properties(r) AS props
"""
GET: LiteralString = """
MATCH (r:AccessRequest {id: $id})-[:FOR]->(c:Contract)<-[:HAS_VERSION]-(p:DataProduct)
RETURN properties(r) AS props, p.domain AS domain
"""
# The decision and, on approval, the grant: one transaction; a request decided in between is
# left alone (no row).
DECIDE: LiteralString = """
MATCH (r:AccessRequest {id: $id}) WHERE r.status = 'pending'
MATCH (r)-[:FOR]->(c:Contract), (r)-[:BY]->(t:Team)
SET r.status = $status, r.decidedBy = $actor, r.decidedAt = datetime(), r.reason = $reason,
    r.expiresAt = CASE WHEN $status = 'approved' THEN datetime() + duration({days: r.days})
                  END
FOREACH (_ IN CASE WHEN $status = 'approved' THEN [1] ELSE [] END |
  MERGE (t)-[g:GRANTED {request: r.id}]->(c)
  SET g.expiresAt = r.expiresAt, g.grantedBy = $actor, g.grantedAt = datetime())
RETURN properties(r) AS props
"""
# Revoking ends the grant at once (it stays in the graph, revoked, for the record).
REVOKE: LiteralString = """
MATCH (r:AccessRequest {id: $id}) WHERE r.status = 'approved'
SET r.status = 'revoked', r.revokedBy = $actor, r.revokedAt = datetime(), r.reason = $reason
WITH r
OPTIONAL MATCH (:Team)-[g:GRANTED {request: r.id}]->(:Contract)
SET g.revokedAt = r.revokedAt, g.revokedBy = $actor
RETURN properties(r) AS props
"""
FOR_VERSION: LiteralString = """
MATCH (r:AccessRequest)-[:FOR]->(:Contract {urn: $version})
RETURN properties(r) AS props ORDER BY r.requestedAt DESC
"""
CONSUMERS: LiteralString = """
MATCH (t:Team)-[g:GRANTED]->(:Contract {urn: $version})
WHERE g.expiresAt > datetime() AND g.revokedAt IS NULL
RETURN t.urn AS team, t.name AS name, g.expiresAt AS expiresAt, g.request AS request
ORDER BY t.name
"""

# What a principal reaches through its teams' live grants: the URNs the granted versions'
# products expose (each covers what it contains).
GRANTED: LiteralString = """
MATCH (t:Team)-[g:GRANTED]->(:Contract)<-[:HAS_VERSION]-(:DataProduct)-[:EXPOSES]->(a)
WHERE $subject IN t.members AND g.expiresAt > datetime() AND g.revokedAt IS NULL
RETURN DISTINCT a.urn AS urn
"""


async def request(
    driver: AsyncDriver, database: str, id: str, version: str, team: str, purpose: str,
    days: int, actor: str, correlation: str,
) -> Record | None:  # fmt: skip
    rows = await write(
        driver, database, REQUEST, id=id, version=version, team=team, purpose=purpose,
        days=days, actor=actor, correlation=correlation,
    )  # fmt: skip
    return plain(rows[0]["props"]) if rows else None


async def get(driver: AsyncDriver, database: str, id: str) -> Record | None:
    """The request with the domain of the product it asks for; None if there is none."""
    rows = await read(driver, database, GET, id=id)
    return {**plain(rows[0]["props"]), "domain": rows[0]["domain"]} if rows else None


async def decide(
    driver: AsyncDriver, database: str, id: str, approve: bool, reason: str, actor: str
) -> Record | None:
    status = "approved" if approve else "rejected"
    rows = await write(driver, database, DECIDE, id=id, status=status, reason=reason, actor=actor)
    return plain(rows[0]["props"]) if rows else None


async def revoke(
    driver: AsyncDriver, database: str, id: str, reason: str, actor: str
) -> Record | None:
    rows = await write(driver, database, REVOKE, id=id, reason=reason, actor=actor)
    return plain(rows[0]["props"]) if rows else None


async def for_version(driver: AsyncDriver, database: str, version: str) -> list[Record]:
    return [plain(r["props"]) for r in await read(driver, database, FOR_VERSION, version=version)]


async def consumers(driver: AsyncDriver, database: str, version: str) -> list[Record]:
    """The teams holding a live grant on ``version``."""
    return [plain(r) for r in await read(driver, database, CONSUMERS, version=version)]


async def granted(driver: AsyncDriver, database: str, subject: str) -> set[str]:
    """The URNs ``subject`` reaches through a live grant to one of its teams."""
    return {r["urn"] for r in await read(driver, database, GRANTED, subject=subject)}
