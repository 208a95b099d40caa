"""Access requests and grants: a consumer team asks for a product version, its owner decides.

``(:AccessRequest {urn, id})-[:FOR]->(:Contract)``, ``(:AccessRequest)-[:BY]->(:Team)``: the
URN (``urn:dw:access:<domain>/<product>/<id>``) is what callers name a request by, the id what
its grants and events keep (``GRANTED {request}``, its correlation id). An approval
adds the grant ``(:Team)-[:GRANTED {request, expiresAt}]->(:Contract)``, which binds the
consumer to that version (retiring it is refused while a grant is live) and lets the team's
members read what the product exposes (resolvers/loaders.py) until it expires or is revoked,
except while the version is quarantined (the grant is suspended, not ended).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from neo4j import AsyncDriver

from graph.driver import Record, read, write
from graph.records import plain

REQUEST: LiteralString = """
MATCH (c:Contract {urn: $version}), (t:Team {urn: $team})
CREATE (r:AccessRequest {id: $id, urn: $urn})
SET r.name = 'access ' + $id, r.status = 'pending', r.purpose = $purpose, r.days = $days,
    r.requestedBy = $actor, r.requestedAt = datetime(), r.version = $version,
    r.product = c.product, r.team = $team, r.correlationId = $correlation
CREATE (r)-[:FOR]->(c)
CREATE (r)-[:BY]->(t)
RETURN properties(r) AS props
"""
GET: LiteralString = """
MATCH (r:AccessRequest {urn: $urn})-[:FOR]->(c:Contract)<-[:HAS_VERSION]-(p:DataProduct)
RETURN properties(r) AS props, p.domain AS domain
"""
# The decision and, on approval, the grant: one transaction; a request decided in between is
# left alone (no row), as is an approval of a version no longer published: read under the
# version's write lock (``_lock``), which retiring takes too (graph/products.py STEP), so a
# retirement and a grant cannot cross.
DECIDE: LiteralString = """
MATCH (r:AccessRequest {urn: $urn}) WHERE r.status = 'pending'
MATCH (r)-[:FOR]->(c:Contract), (r)-[:BY]->(t:Team)
SET c._lock = true REMOVE c._lock
WITH r, c, t WHERE $status <> 'approved' OR c.status = 'published'
SET r.status = $status, r.decidedBy = $actor, r.decidedAt = datetime(), r.reason = $reason,
    r.expiresAt = CASE WHEN $status = 'approved' THEN datetime() + duration({days: r.days})
                  END
FOREACH (_ IN CASE WHEN $status = 'approved' THEN [1] ELSE [] END |
  MERGE (t)-[g:GRANTED {request: r.id}]->(c)
  SET g.expiresAt = r.expiresAt, g.grantedBy = $actor, g.grantedAt = datetime())
RETURN properties(r) AS props
"""
# Revoking ends the grant at once (it stays in the graph, revoked, for the record). Only the
# live one: a grant a migration ended keeps when and by whom it moved.
REVOKE: LiteralString = """
MATCH (r:AccessRequest {urn: $urn}) WHERE r.status = 'approved'
SET r.status = 'revoked', r.revokedBy = $actor, r.revokedAt = datetime(), r.reason = $reason
WITH r
OPTIONAL MATCH (:Team)-[g:GRANTED {request: r.id}]->(:Contract) WHERE g.revokedAt IS NULL
SET g.revokedAt = r.revokedAt, g.revokedBy = $actor
RETURN properties(r) AS props
"""
# The consumer's agreement to the version's contract terms: who, when, and the digest of the
# ODCS document agreed to (a published contract does not change, so it names the text).
ACCEPT: LiteralString = """
MATCH (r:AccessRequest {urn: $urn}) WHERE r.status IN ['pending', 'approved']
  AND r.termsAcceptedAt IS NULL
SET r.termsAcceptedBy = $actor, r.termsAcceptedAt = datetime(), r.termsDigest = $digest
RETURN properties(r) AS props
"""
# Requests (filtered; each condition null: any) that the caller is a party to: its requester,
# a member of its team, or an approver in the product's domain (``$approves``: those domains,
# null: every one); oldest first, after the keyset position ($at, $after).
_REQUESTS: LiteralString = """
MATCH (r:AccessRequest)-[:FOR]->(c:Contract)<-[:HAS_VERSION]-(p:DataProduct), (r)-[:BY]->(t:Team)
WHERE ($status IS NULL OR r.status = $status) AND ($product IS NULL OR p.urn = $product)
  AND ($version IS NULL OR c.urn = $version) AND ($team IS NULL OR t.urn = $team)
  AND ($domain IS NULL OR p.domain = $domain)
  AND ($approves IS NULL OR p.domain IN $approves OR $subject IN coalesce(t.members, [])
       OR r.requestedBy = $subject)
"""
REQUESTS: LiteralString = (
    _REQUESTS
    + "  AND ($at IS NULL OR r.requestedAt > datetime($at)"
    + " OR (r.requestedAt = datetime($at) AND r.urn > $after))\n"
    + "RETURN properties(r) AS props, toString(r.requestedAt) AS at\n"
    + "ORDER BY r.requestedAt, r.urn LIMIT $limit\n"
)
COUNT_REQUESTS: LiteralString = _REQUESTS + "RETURN count(r) AS n\n"
# An access request by URN with what decides who sees it (resolvers/guard.py, Scope.PARTIES):
# the members of its team, as ``teamMembers``.
BY_URN: LiteralString = """
MATCH (n:AccessRequest) WHERE n.urn IN $urns
OPTIONAL MATCH (n)-[:BY]->(t:Team)
RETURN labels(n) AS labels, n {.*, teamMembers: coalesce(t.members, [])} AS props
"""
# Which consumers of product ``p`` the subject ``$viewer`` sees (null: every one, for its
# domain's writers and approvers): all, as a member of its owner team; else its own teams'.
_SEEN: LiteralString = """
  AND ($viewer IS NULL OR $viewer IN coalesce(t.members, [])
       OR EXISTS { (p)<-[:OWNS]-(owner:Team) WHERE $viewer IN coalesce(owner.members, []) })
"""
# A live grant is suspended while its version is quarantined (a failing quality gate): it
# binds its consumer still, and reaches nothing until a passing gate releases the version.
_SUSPENDED: LiteralString = "  c.quarantine IS NOT NULL AS suspended\n"
# The live grants on a version with their teams, by team name then request URN (a team may
# hold two), after the keyset position ($name, $after).
_CONSUMERS: LiteralString = (
    """
MATCH (p:DataProduct)-[:HAS_VERSION]->(c:Contract {urn: $version})<-[g:GRANTED]-(t:Team)
WHERE g.expiresAt > datetime() AND g.revokedAt IS NULL"""
    + _SEEN
    + "MATCH (r:AccessRequest {id: g.request})\n"
)
CONSUMERS: LiteralString = (
    _CONSUMERS
    + "WITH t, g, r, c\n"
    + "WHERE $name IS NULL OR t.name > $name OR (t.name = $name AND r.urn > $after)\n"
    + "RETURN t.urn AS team, t.name AS name, g.expiresAt AS expiresAt, r.urn AS request,\n"
    + _SUSPENDED
    + "ORDER BY t.name, r.urn LIMIT $limit\n"
)
COUNT_CONSUMERS: LiteralString = _CONSUMERS + "RETURN count(r) AS n\n"
# A consumer moves its binding to another published version of the product: the grant on the
# old version ends (``revokedAt``, ``migratedTo``, kept for the record) and the same grant,
# expiry and all, binds the new one; the request records where it is bound now. One
# transaction; a request or grant changed in between matches nothing, nor does a target no
# longer published (read under its write lock, as DECIDE does).
MIGRATE: LiteralString = """
MATCH (r:AccessRequest {urn: $urn}) WHERE r.status = 'approved'
MATCH (t:Team)-[g:GRANTED {request: r.id}]->(old:Contract {urn: $from})
WHERE g.revokedAt IS NULL AND g.expiresAt > datetime()
MATCH (p:DataProduct)-[:HAS_VERSION]->(old), (p)-[:HAS_VERSION]->(new:Contract {urn: $to})
SET new._lock = true REMOVE new._lock
WITH r, t, g, old, new WHERE new.status = 'published'
WITH r, t, g, old, new, datetime() AS at
CREATE (t)-[moved:GRANTED]->(new)
SET moved = properties(g)
SET moved.migratedFrom = old.urn, moved.migratedAt = at, moved.migratedBy = $actor,
    moved.notice = null, moved.noticeAt = null, moved.noticeOf = null,
    g.revokedAt = at, g.revokedBy = $actor, g.migratedTo = new.urn,
    r.boundTo = new.urn, r.migratedFrom = old.urn, r.migratedAt = at, r.migratedBy = $actor
RETURN properties(r) AS props
"""
# The consumers of a product (of one of its versions, or all): each live grant with the
# version it binds, whether it was moved there, and the last notice its consumers were given.
_BINDINGS: LiteralString = (
    """
MATCH (p:DataProduct {urn: $product})-[:HAS_VERSION]->(c:Contract)<-[g:GRANTED]-(t:Team)
WHERE g.revokedAt IS NULL AND g.expiresAt > datetime() AND ($version IS NULL OR c.urn = $version)"""
    + _SEEN
)
BINDINGS: LiteralString = (
    _BINDINGS
    + "  AND ($after IS NULL OR g.request > $after)\n"
    + "MATCH (r:AccessRequest {id: g.request})\n"
    + "RETURN g.request AS position, r.urn AS request, t.urn AS team, t.name AS name,\n"
    + "  c.urn AS version, c.version AS semver, g.expiresAt AS expiresAt,\n"
    + "  g.migratedFrom AS migratedFrom,\n"
    + "  g.migratedAt AS migratedAt, g.notice AS notice, g.noticeAt AS noticeAt,\n"
    + _SUSPENDED
    + "ORDER BY g.request LIMIT $limit\n"
)
COUNT_BINDINGS: LiteralString = _BINDINGS + "RETURN count(g) AS n\n"

# What a principal reaches through its teams' live grants: the URNs the granted versions'
# products expose (each covers what it contains), with the version and team of each grant.
# A grant on a quarantined version is suspended (``_SUSPENDED``): it reaches nothing.
GRANTED: LiteralString = """
MATCH (t:Team)-[g:GRANTED]->(c:Contract)<-[:HAS_VERSION]-(:DataProduct)-[:EXPOSES]->(a)
WHERE $subject IN t.members AND g.expiresAt > datetime() AND g.revokedAt IS NULL
  AND c.quarantine IS NULL
RETURN a.urn AS urn, collect(DISTINCT [c.urn, t.urn]) AS grants
"""

# The grant sweep's one write (mesh/expiry.py): grants ending within ``$notice`` seconds whose
# consumers were not told yet are marked told, approved requests whose grant ended are marked
# expired; both come back to be announced.
SWEEP: LiteralString = """
CALL () {
  MATCH (:Team)-[g:GRANTED]->(:Contract)
  WHERE g.revokedAt IS NULL AND g.noticeSentAt IS NULL
    AND datetime() < g.expiresAt <= datetime() + duration({seconds: $notice})
  SET g.noticeSentAt = datetime()
  WITH g
  MATCH (r:AccessRequest {id: g.request})
  RETURN collect(properties(r)) AS soon
}
CALL () {
  MATCH (r:AccessRequest {status: 'approved'}) WHERE r.expiresAt <= datetime()
  SET r.status = 'expired', r.expiredAt = r.expiresAt
  RETURN collect(properties(r)) AS over
}
RETURN soon, over
"""


def granted_to(variable: LiteralString) -> LiteralString:
    """A Cypher predicate: the node bound to ``variable`` is, or is contained in, one of
    ``$granted`` (the URNs ``granted`` found; null: no grants). Filtered pages OR it with the
    token's scope, so a grant shows in them at once."""
    return (
        "($granted IS NOT NULL AND EXISTS { MATCH (dwGrant)-[:CONTAINS|HAS_COLUMN*0..4]->("
        + variable
        + ") WHERE dwGrant.urn IN $granted })\n"
    )


async def request(
    driver: AsyncDriver, database: str, urn: str, id: str, version: str, team: str,
    purpose: str, days: int, actor: str, correlation: str,
) -> Record | None:  # fmt: skip
    rows = await write(
        driver, database, REQUEST, urn=urn, id=id, version=version, team=team,
        purpose=purpose, days=days, actor=actor, correlation=correlation,
    )  # fmt: skip
    return plain(rows[0]["props"]) if rows else None


async def get(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    """The request with the domain of the product it asks for; None if there is none."""
    rows = await read(driver, database, GET, urn=urn)
    return {**plain(rows[0]["props"]), "domain": rows[0]["domain"]} if rows else None


async def decide(
    driver: AsyncDriver, database: str, urn: str, approve: bool, reason: str, actor: str
) -> Record | None:
    status = "approved" if approve else "rejected"
    rows = await write(driver, database, DECIDE, urn=urn, status=status, reason=reason, actor=actor)
    return plain(rows[0]["props"]) if rows else None


async def revoke(
    driver: AsyncDriver, database: str, urn: str, reason: str, actor: str
) -> Record | None:
    rows = await write(driver, database, REVOKE, urn=urn, reason=reason, actor=actor)
    return plain(rows[0]["props"]) if rows else None


async def accept(
    driver: AsyncDriver, database: str, urn: str, actor: str, digest: str
) -> Record | None:
    rows = await write(driver, database, ACCEPT, urn=urn, actor=actor, digest=digest)
    return plain(rows[0]["props"]) if rows else None


async def migrate(
    driver: AsyncDriver, database: str, urn: str, old: str, new: str, actor: str
) -> Record | None:
    """Move request ``urn``'s live grant from version ``old`` to ``new``; None if it no longer
    applies (the grant ended, or ``new`` is not a published version of the product)."""
    rows = await write(driver, database, MIGRATE, urn=urn, to=new, actor=actor, **{"from": old})
    return plain(rows[0]["props"]) if rows else None


async def bindings(
    driver: AsyncDriver, database: str, product: str, version: str | None, limit: int,
    after: str | None = None, *, viewer: str | None,
) -> list[Record]:  # fmt: skip
    """The live grants on the product's versions (``version``: that one only), by request:
    those ``viewer`` sees (None: all)."""
    rows = await read(
        driver, database, BINDINGS, product=product, version=version, after=after, limit=limit,
        viewer=viewer,
    )  # fmt: skip
    return [plain(r) for r in rows]


async def count_bindings(
    driver: AsyncDriver, database: str, product: str, version: str | None, *, viewer: str | None
) -> int:
    rows = await read(
        driver, database, COUNT_BINDINGS, product=product, version=version, viewer=viewer
    )
    return rows[0]["n"]


async def requests_page(
    driver: AsyncDriver, database: str, *, after: tuple[str, str] | None, limit: int,
    **where: Any,
) -> list[tuple[Record, str]]:  # fmt: skip
    """Requests, oldest first, after (requestedAt, urn), each with its requestedAt as the
    database writes it (the cursor's). ``where``: status, product, version, team, domain (a
    name), and who asks: ``subject`` and ``approves`` (the domains it approves in; None: all)."""
    at, urn = after or (None, None)
    rows = await read(driver, database, REQUESTS, at=at, after=urn, limit=limit, **where)
    return [(plain(r["props"]), r["at"]) for r in rows]


async def count_requests(driver: AsyncDriver, database: str, **where: Any) -> int:
    return (await read(driver, database, COUNT_REQUESTS, **where))[0]["n"]


async def consumers(
    driver: AsyncDriver, database: str, version: str, limit: int,
    after: Sequence[str] | None = None, *, viewer: str | None,
) -> list[Record]:  # fmt: skip
    """A page of the teams holding a live grant on ``version``, by team name and request URN,
    after ``after`` (such a pair): those ``viewer`` sees (None: all)."""
    name, urn = after or (None, None)
    rows = await read(
        driver, database, CONSUMERS, version=version, name=name, after=urn, limit=limit,
        viewer=viewer,
    )  # fmt: skip
    return [plain(r) for r in rows]


async def count_consumers(
    driver: AsyncDriver, database: str, version: str, *, viewer: str | None
) -> int:
    """How many live grants bind ``version`` that ``viewer`` sees (None: all)."""
    rows = await read(driver, database, COUNT_CONSUMERS, version=version, viewer=viewer)
    return rows[0]["n"]


async def granted(
    driver: AsyncDriver, database: str, subject: str
) -> dict[str, set[tuple[str, str]]]:
    """The URNs ``subject`` reaches through a live grant to one of its teams, each with the
    (version, team) pairs of the grants that reach it."""
    rows = await read(driver, database, GRANTED, subject=subject)
    return {r["urn"]: {(v, t) for v, t in r["grants"]} for r in rows}


async def sweep(
    driver: AsyncDriver, database: str, notice_s: float
) -> tuple[list[Record], list[Record]]:
    """Mark and return the requests whose grant ends within ``notice_s`` (not announced yet)
    and those whose grant ended (now ``expired``)."""
    row = (await write(driver, database, SWEEP, notice=notice_s))[0]
    return [plain(r) for r in row["soon"]], [plain(r) for r in row["over"]]
