"""Data products and their versions (one ``:Contract`` each): the mesh's product aggregate.

``(:DataProduct)-[:IN_DOMAIN]->(:Domain)``, ``(:Team)-[:OWNS]->(:DataProduct)``; output ports
are ``(:DataProduct)-[:EXPOSES {port}]->(:Asset)`` (which is also what places those assets in
the product's domain, graph/domains.py) and ``(:DataProduct)-[:HAS_PORT]->(:StreamPort)`` for
Kafka topics; input ports ``(:DataProduct)-[:CONSUMES]->(:Asset)``; versions
``(:DataProduct)-[:HAS_VERSION]->(:Contract)`` holding the ODCS YAML, the lifecycle status and
the quality gate's verdict (its runs and remediations: graph/gates.py).
Each function is one transaction: one workflow step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from neo4j import AsyncDriver

from graph.driver import Record, read, read_values, write
from graph.records import plain

CREATE: LiteralString = """
MATCH (d:Domain {urn: $domain})
OPTIONAL MATCH (t:Team {urn: $team})
CREATE (p:DataProduct {urn: $urn})
SET p += $props, p.domain = d.name, p.createdAt = datetime()
CREATE (p)-[:IN_DOMAIN]->(d)
FOREACH (_ IN CASE WHEN t IS NULL THEN [] ELSE [1] END | MERGE (t)-[:OWNS]->(p))
WITH p
CALL (p) {
  UNWIND $outputs AS port
  MATCH (a:Asset {urn: port.asset})
  MERGE (p)-[r:EXPOSES]->(a) SET r.port = port.name
}
CALL (p) {
  UNWIND $inputs AS input
  MATCH (a:Asset {urn: input})
  MERGE (p)-[:CONSUMES]->(a)
}
RETURN p.urn AS urn
"""
STREAM_PORTS: LiteralString = """
MATCH (p:DataProduct {urn: $product})
SET p.streamError = $error
WITH p
UNWIND $ports AS port
MERGE (s:StreamPort {key: port.key})
SET s += port
MERGE (p)-[:HAS_PORT]->(s)
"""
# Products by URN with their owner, ports and versions. Each version with every property
# (DETAIL: the mesh's steps compare and index contracts) or, for the API's pages, without its
# ODCS YAML and ``findable`` text (SUMMARY: up to 512 kB each, read for nothing).
_DETAIL: LiteralString = """
MATCH (p:DataProduct) WHERE p.urn IN $urns
OPTIONAL MATCH (p)<-[:OWNS]-(team:Team)
RETURN p.urn AS urn, properties(p) AS props, team.urn AS team, team.name AS teamName,
  [(p)-[r:EXPOSES]->(a:Asset) | {name: r.port, asset: a.urn, assetName: a.name,
                                 kind: coalesce(a.kind, 'table')}] AS outputs,
  [(p)-[:HAS_PORT]->(s:StreamPort) | properties(s)] AS streams,
  [(p)-[:CONSUMES]->(a:Asset) | a.urn] AS inputs,
"""
DETAIL: LiteralString = (
    _DETAIL + "  [(p)-[:HAS_VERSION]->(c:Contract) | properties(c)] AS versions\n"
)
SUMMARY: LiteralString = (
    _DETAIL + "  [(p)-[:HAS_VERSION]->(c:Contract) | c {.urn, .version, .status}] AS versions\n"
)
# Products of a domain (or all) whose name, description, tags or any version's contract (its
# tables, columns, descriptions, SLA: ``findable``, mesh/contracts.py; a version saved before it
# was kept is matched on its YAML) mention ``$text`` (lower-case; null: any).
_FIND: LiteralString = """
MATCH (p:DataProduct)
WHERE ($domain IS NULL OR EXISTS { (p)-[:IN_DOMAIN]->(:Domain {urn: $domain}) })
  AND ($text IS NULL OR toLower(p.name) CONTAINS $text
       OR toLower(coalesce(p.description, '')) CONTAINS $text
       OR any(tag IN coalesce(p.tags, []) WHERE toLower(tag) CONTAINS $text)
       OR EXISTS { MATCH (p)-[:HAS_VERSION]->(c:Contract)
                   WHERE toLower(coalesce(c.findable, c.odcs)) CONTAINS $text })
"""
FIND: LiteralString = (
    _FIND
    + "  AND ($after IS NULL OR p.urn > $after)\n"
    + "RETURN p.urn AS urn ORDER BY p.urn LIMIT $limit\n"
)
COUNT_FOUND: LiteralString = _FIND + "RETURN count(p) AS n\n"
ADD_VERSION: LiteralString = """
MATCH (p:DataProduct {urn: $product})
MERGE (p)-[:HAS_VERSION]->(c:Contract {urn: $urn})
ON CREATE SET c.createdBy = $actor, c.createdAt = datetime(), c.status = 'draft'
SET c.name = p.name + ' ' + $version, c.product = $product, c.version = $version,
    c.odcs = $odcs, c.findable = $findable, c.updatedBy = $actor, c.updatedAt = datetime(),
    c.drift = null, c.driftCheckedAt = null
RETURN properties(c) AS props
"""
# What the API's lists of versions leave out of each (``c {.*, ...}``): its ODCS YAML and
# ``findable`` text, up to 512 kB each, which a page of products with their versions read for
# every one. ``CONTRACTS`` reads the YAML of the versions whose ``contract`` a caller asks for.
_LIGHT: LiteralString = "odcs: null, findable: null"
# The ODCS YAML of versions by URN, one query for a request's batch (resolvers/loaders.py).
CONTRACTS: LiteralString = """
MATCH (c:Contract) WHERE c.urn IN $urns
RETURN c.urn AS urn, c.odcs AS odcs
"""
# Pages of products' versions, one per key of ``$keys`` (a request's batch, resolvers/loaders.py):
# each its product's versions in semantic-version order (MAJOR.MINOR.PATCH compared as numbers,
# so 1.10.0 follows 1.9.0) after the version ``key.after`` (its parts; null: from the start), up
# to ``key.limit``, and how many the product has in all (``n``).
VERSION_PAGES: LiteralString = (
    """
UNWIND range(0, size($keys) - 1) AS i
WITH i, $keys[i] AS key
CALL (key) {
  MATCH (:DataProduct {urn: key.product})-[:HAS_VERSION]->(c:Contract)
  WITH c, [part IN split(c.version, '.') | toInteger(part)] AS semver
  ORDER BY semver
  WITH count(c) AS n,
       collect(CASE WHEN key.after IS NULL OR semver > key.after THEN c {.*, """
    + _LIGHT
    + """} END) AS later
  RETURN n, later[..key.limit] AS versions
}
RETURN i, n, versions
"""
)
VERSION: LiteralString = """
MATCH (p:DataProduct)-[:HAS_VERSION]->(c:Contract {urn: $urn})
RETURN properties(c) AS props, p.urn AS product, p.domain AS domain
"""
# A lifecycle step: only from the status the caller read (someone else's step in between
# makes it a no-op the caller reports). With a ``$notice``, the consumers it concerns are told
# in the same transaction: those bound to this version (a deprecation), or, when it is
# published, those bound to a version of a lower major (a new major version to migrate to).
# Retiring counts the live grants bound to the version in the same transaction, after taking
# the version's write lock (``_lock``, set and removed): a grant being bound meanwhile
# (graph/access.py DECIDE, MIGRATE, which take it too) either committed before and is counted,
# or waits and then finds the version retired. With any bound, nothing changes (``consumers``).
STEP: LiteralString = """
MATCH (p:DataProduct)-[:HAS_VERSION]->(c:Contract {urn: $urn}) WHERE c.status = $start
SET c._lock = true REMOVE c._lock
WITH p, c, CASE WHEN $end = 'retired' THEN COUNT {
  (:Team)-[g:GRANTED]->(c) WHERE g.revokedAt IS NULL AND g.expiresAt > datetime() } ELSE 0
  END AS consumers
FOREACH (_ IN CASE WHEN consumers = 0 THEN [1] ELSE [] END | SET c.status = $end, c += $stamps)
WITH p, c, consumers
CALL (p, c) {
  MATCH (p)-[:HAS_VERSION]->(bound:Contract)<-[g:GRANTED]-(:Team)
  WHERE $notice IS NOT NULL AND g.revokedAt IS NULL AND g.expiresAt > datetime()
    AND (bound = c OR ($end = 'published' AND toInteger(split(bound.version, '.')[0])
                                              < toInteger(split(c.version, '.')[0])))
  SET g.notice = $notice, g.noticeAt = datetime(), g.noticeOf = c.urn
  WITH g
  MATCH (r:AccessRequest {id: g.request})
  RETURN collect(properties(r)) AS told
}
RETURN properties(c) AS props, told, consumers
"""
DRIFT: LiteralString = """
MATCH (c:Contract {urn: $urn})
SET c.drift = $drift, c.driftCheckedAt = datetime()
RETURN properties(c) AS props
"""
_DRIFTED: LiteralString = """
MATCH (p:DataProduct)-[:HAS_VERSION]->(c:Contract)
WHERE size(coalesce(c.drift, [])) > 0 AND c.status <> 'retired'
"""
DRIFTED: LiteralString = (
    _DRIFTED
    + "  AND ($after IS NULL OR c.urn > $after)\n"
    + "RETURN c {.*, product: p.urn, "
    + _LIGHT
    + "} AS props ORDER BY c.urn LIMIT $limit\n"
)
COUNT_DRIFTED: LiteralString = _DRIFTED + "RETURN count(c) AS n\n"
# What the scans found behind the product's output ports: tables with their live columns.
PORT_TABLES: LiteralString = """
MATCH (:DataProduct {urn: $product})-[:EXPOSES]->(t:Table)
RETURN t.urn AS urn, t.name AS name, t.rowCount AS rowCount, t.lastSeenAt AS lastSeenAt,
  [(t)-[:HAS_COLUMN]->(c:Column) | c {.name, .dataType, .nullable, .nullRatio, .distinctCount,
                                      .removedAt}] AS columns
"""
# Open findings of the governance engine (graph/compliance.py) on what the product exposes:
# the final compliance check before publishing.
BLOCKING: LiteralString = """
MATCH (:DataProduct {urn: $product})-[:EXPOSES]->(x)
MATCH (x)-[:CONTAINS|HAS_COLUMN*0..4]->(c:Column)
MATCH (f:Finding {asset: c.urn}) WHERE f.status = 'open' AND f.severity IN $severities
RETURN DISTINCT f.urn AS urn, f.message AS message ORDER BY f.urn LIMIT 20
"""
# Labels (not rejected) of the live columns the product exposes: the policy engine's view of
# what a contract shares (mesh/policy.py).
EXPOSED_LABELS: LiteralString = """
MATCH (:DataProduct {urn: $product})-[:EXPOSES]->(x)
MATCH (x)-[:CONTAINS|HAS_COLUMN*0..4]->(c:Column)-[r:LABELED]->(l:Label)
WHERE c.removedAt IS NULL AND coalesce(r.status, 'suggested') <> 'rejected'
RETURN DISTINCT l.name AS name, l.category AS category, l.sensitivity AS sensitivity,
       coalesce(r.status, 'suggested') AS status
ORDER BY name
"""
# Versions saved before ``findable`` was kept (mesh/backfill.py), a batch at a time.
UNFINDABLE: LiteralString = """
MATCH (:DataProduct)-[:HAS_VERSION]->(c:Contract)
WHERE c.findable IS NULL AND c.odcs IS NOT NULL
RETURN c.urn AS urn, c.odcs AS odcs ORDER BY urn LIMIT $limit
"""
# Their ``findable`` text, unless the contract changed (or was backfilled) meanwhile.
SET_FINDABLE: LiteralString = """
UNWIND $rows AS row
MATCH (c:Contract {urn: row.urn}) WHERE c.findable IS NULL AND c.odcs = row.odcs
SET c.findable = row.findable
RETURN count(c) AS n
"""
# Versions whose contracts drift can concern: not yet retired.
_LIVE_VERSION: LiteralString = "WHERE c.status IN ['draft', 'published', 'deprecated']\n"
# The versions whose products expose one of these tables (a scan changed them).
EXPOSING: LiteralString = (
    """
MATCH (t:Table) WHERE t.urn IN $tables
MATCH (t)<-[:EXPOSES]-(p:DataProduct)-[:HAS_VERSION]->(c:Contract)
"""
    + _LIVE_VERSION
    + "RETURN DISTINCT c.urn AS urn\n"
)
# Every live version (the changes to what they expose were missed: mesh/watch.py).
LIVE_VERSIONS: LiteralString = (
    "MATCH (:DataProduct)-[:HAS_VERSION]->(c:Contract)\n"
    + _LIVE_VERSION
    + "RETURN c.urn AS urn ORDER BY urn\n"
)


class Bound(Exception):
    """A version live grants bind was not retired: ``count`` of them."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} live grant(s) bind the version")
        self.count = count


async def create_product(
    driver: AsyncDriver, database: str, urn: str, domain: str, team: str | None,
    props: Mapping[str, Any], outputs: Sequence[Mapping[str, str]], inputs: Sequence[str],
) -> None:  # fmt: skip
    """One transaction: the product, its domain and owner, its table ports and inputs."""
    await write(
        driver, database, CREATE, urn=urn, domain=domain, team=team, props=dict(props),
        outputs=list(outputs), inputs=list(inputs),
    )  # fmt: skip


async def record_streams(
    driver: AsyncDriver, database: str, product: str, ports: Sequence[Mapping[str, Any]],
    error: str | None,
) -> None:  # fmt: skip
    """The stream ports whose topics exist, and why the others failed (None: none did)."""
    await write(driver, database, STREAM_PORTS, product=product, ports=list(ports), error=error)


async def details(
    driver: AsyncDriver, database: str, urns: Sequence[str], *, contracts: bool = True
) -> dict[str, Record]:
    """Products by URN with their owner, ports and versions; ``contracts=False``: each version
    without its contract (URN, version and status only), what pages need."""
    rows = await read(driver, database, DETAIL if contracts else SUMMARY, urns=list(urns))
    return {r["urn"]: plain(r) for r in rows}


async def product_urns(
    driver: AsyncDriver, database: str, domain: str | None, limit: int, text: str | None = None,
    after: str | None = None,
) -> list[str]:  # fmt: skip
    """Products of ``domain`` (None: all) mentioning ``text`` anywhere (None: any), in URN
    order after the URN ``after``."""
    needle = text.lower() if text else None
    rows = await read(driver, database, FIND, domain=domain, text=needle, after=after, limit=limit)
    return [r["urn"] for r in rows]


async def count_products(
    driver: AsyncDriver, database: str, domain: str | None, text: str | None
) -> int:
    needle = text.lower() if text else None
    return (await read(driver, database, COUNT_FOUND, domain=domain, text=needle))[0]["n"]


async def save_version(
    driver: AsyncDriver, database: str, product: str, urn: str, version: str, odcs: str,
    actor: str, findable: str,
) -> Record:  # fmt: skip
    """The version's contract (``findable``: the text product discovery matches in it)."""
    rows = await write(
        driver, database, ADD_VERSION, product=product, urn=urn, version=version, odcs=odcs,
        actor=actor, findable=findable,
    )  # fmt: skip
    return plain(rows[0]["props"])


async def get_version(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    """A version's properties, with ``product`` and ``domain``; None if there is none."""
    rows = await read(driver, database, VERSION, urn=urn)
    if not rows:
        return None
    return {**plain(rows[0]["props"]), "product": rows[0]["product"], "domain": rows[0]["domain"]}


async def version_pages(
    driver: AsyncDriver, database: str, keys: Sequence[tuple[str, int, Sequence[int] | None]]
) -> list[tuple[list[Record], int]]:
    """For each (product, limit, after): up to ``limit`` of the product's versions, oldest first,
    after the version whose (major, minor, patch) is ``after`` (None: from the start), without
    their contract (``odcs``, ``findable`` None; ``contracts``), and how many it has; one query."""
    rows = await read_values(
        driver, database, VERSION_PAGES,
        keys=[{"product": p, "limit": n, "after": list(a) if a is not None else None}
              for p, n, a in keys],
    )  # fmt: skip
    found = {r["i"]: ([plain(v) for v in r["versions"]], r["n"]) for r in rows}
    return [found.get(i, ([], 0)) for i in range(len(keys))]


async def contracts(
    driver: AsyncDriver, database: str, urns: Sequence[str]
) -> dict[str, str | None]:
    """The ODCS YAML of the versions ``urns`` names, by URN (none for an unknown URN)."""
    rows = await read_values(driver, database, CONTRACTS, urns=list(urns))
    return {r["urn"]: r["odcs"] for r in rows}


async def step(
    driver: AsyncDriver, database: str, urn: str, start: str, end: str,
    stamps: Mapping[str, Any], notice: str | None = None,
) -> tuple[Record, list[Record]] | None:  # fmt: skip
    """The step, and the access requests whose consumers ``notice`` was recorded for; None if
    the version left ``start`` meanwhile. Retiring a version live grants bind changes nothing
    and raises ``Bound`` with their number."""
    rows = await write(
        driver, database, STEP, urn=urn, start=start, end=end, stamps=dict(stamps), notice=notice
    )
    if not rows:
        return None
    if rows[0]["consumers"]:
        raise Bound(rows[0]["consumers"])
    return plain(rows[0]["props"]), [plain(r) for r in rows[0]["told"]]


async def record_drift(driver: AsyncDriver, database: str, urn: str, drift: list[str]) -> Record:
    rows = await write(driver, database, DRIFT, urn=urn, drift=drift)
    return plain(rows[0]["props"])


async def port_tables(driver: AsyncDriver, database: str, product: str) -> list[Record]:
    return [plain(r) for r in await read(driver, database, PORT_TABLES, product=product)]


async def versions_exposing(
    driver: AsyncDriver, database: str, tables: Sequence[str] | None
) -> list[str]:
    """The live versions exposing one of ``tables``; every live version for None."""
    if tables is None:
        rows = await read(driver, database, LIVE_VERSIONS)
    else:
        rows = await read(driver, database, EXPOSING, tables=list(tables))
    return [r["urn"] for r in rows]


async def drifted(
    driver: AsyncDriver, database: str, limit: int, after: str | None = None
) -> list[Record]:
    """Live versions whose last drift check found violations, in URN order, without their
    contract (as ``versions``)."""
    rows = await read(driver, database, DRIFTED, limit=limit, after=after)
    return [plain(r["props"]) for r in rows]


async def count_drifted(driver: AsyncDriver, database: str) -> int:
    return (await read(driver, database, COUNT_DRIFTED))[0]["n"]


async def blocking_findings(
    driver: AsyncDriver, database: str, product: str, severities: Sequence[str]
) -> list[Record]:
    """Open findings of these severities on the columns the product exposes (up to 20)."""
    rows = await read(driver, database, BLOCKING, product=product, severities=list(severities))
    return [plain(r) for r in rows]


async def exposed_labels(driver: AsyncDriver, database: str, product: str) -> list[Record]:
    return [plain(r) for r in await read(driver, database, EXPOSED_LABELS, product=product)]


async def unfindable(driver: AsyncDriver, database: str, limit: int) -> list[Record]:
    """Up to ``limit`` versions (``urn``, ``odcs``) without the text discovery matches."""
    return [plain(r) for r in await read(driver, database, UNFINDABLE, limit=limit)]


async def set_findable(
    driver: AsyncDriver, database: str, rows: Sequence[Mapping[str, str]]
) -> int:
    """One transaction: ``findable`` of each (``urn``, ``odcs``, ``findable``) still without
    one and with that contract; how many were set."""
    return (await write(driver, database, SET_FINDABLE, rows=list(rows)))[0]["n"]
