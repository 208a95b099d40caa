"""Which data-mesh domains a node belongs to, computed inside the queries that read it.

A ``(:DataProduct)-[:IN_DOMAIN]->(:Domain)`` that ``EXPOSES`` a node, or one of its containers
(source, database, schema, table), puts it in that domain; so does an assignment of the node or
a container to the domain itself, ``(:DataSource|Asset)-[:IN_DOMAIN]->(:Domain)``
(mesh/domains.py assigns by source, by schema or one by one), which counts as an exposure at
the same distance. The nearest wins, so a finance product exposing one table of a database
that a sales product exposes whole puts that table (and its columns) in finance only; several
domains at the same distance put the node in all of them. Mesh nodes are in the domain they
point at: a product, its versions (``HAS_VERSION``) and a team. RBAC reads the result
(security/rbac.py); see docs/security.md and docs/mesh.md.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import LiteralString, NamedTuple

from neo4j import AsyncDriver

from graph.driver import Record, read, write
from graph.records import ASSET_TIMES, plain, text_times

# The ``dw``-prefixed names cannot clash with the variables of the query this is pasted into.
# Each hit is [distance, domain name]: a product exposing the node or a container ``{depth}``
# hops up at most (the path's length, two more than the hops up), or an assignment of one,
# which counts as an exposure of it.
_HITS: LiteralString = """[
  dwPath = ({var})<-[:CONTAINS|HAS_COLUMN|HAS_VERSION*0..{depth}]-()<-[:EXPOSES]-(:DataProduct)
           -[:IN_DOMAIN]->(dwDomain:Domain) | [length(dwPath), dwDomain.name]] + [
  dwPath = ({var})<-[:CONTAINS|HAS_COLUMN|HAS_VERSION*0..{depth}]-()-[:IN_DOMAIN]->(dwDomain:Domain)
           | [length(dwPath) + 1, dwDomain.name]]"""
# The nearest hits: [their distance, their names in the order met]; ``{start}`` is [1000, []]
# or what the containers above hold.
_NEAREST: LiteralString = """reduce(dwBest = {start}, dwHit IN {hits} |
  CASE WHEN dwHit[0] < dwBest[0] THEN [dwHit[0], [dwHit[1]]]
       WHEN dwHit[0] = dwBest[0] AND NOT dwHit[1] IN dwBest[1]
         THEN [dwBest[0], dwBest[1] + dwHit[1]]
       ELSE dwBest END)"""
_DEPTH = 4  # a column is at most four hops below its source


# The same hits of the node itself (``{depth}`` 0), without a variable-length expansion.
_OWN_HITS: LiteralString = """[
  ({var})<-[:EXPOSES]-(:DataProduct)-[:IN_DOMAIN]->(dwDomain:Domain) | [2, dwDomain.name]] + [
  ({var})-[:IN_DOMAIN]->(dwDomain:Domain) | [2, dwDomain.name]]"""


def _nearest(variable: LiteralString, depth: int, start: LiteralString) -> LiteralString:
    hits = (_HITS if depth else _OWN_HITS).replace("{var}", variable)
    hits = hits.replace("{depth}", str(depth))
    return _NEAREST.replace("{hits}", hits).replace("{start}", start)  # type: ignore[return-value]


def domains_of(variable: LiteralString) -> LiteralString:
    """A Cypher expression: the domain names of the node bound to ``variable`` (may be [])."""
    return _nearest(variable, _DEPTH, "[1000, []]") + "[1]"  # type: ignore[return-value]


def nearest_above(variable: LiteralString) -> LiteralString:
    """A Cypher expression for a container whose children are read next (a table and its
    columns): what ``domains_below`` needs of it, [distance, names]. Each child then looks at
    itself alone instead of walking four hops up: the detail of a table of 18 columns cost
    Neo4j a fifth less (docs/benchmarks.md, issue 17)."""
    return _nearest(variable, _DEPTH - 1, "[1000, []]")


def domains_below(variable: LiteralString, above: LiteralString) -> LiteralString:
    """The domain names of the node bound to ``variable``, whose only container is the node
    ``above`` (``nearest_above``) was computed for: the same names, in the same order, as
    ``domains_of(variable)``."""
    start: LiteralString = "[" + above + "[0] + 1, " + above + "[1]]"
    own: LiteralString = (
        "EXISTS { ("
        + variable
        + ")<-[:EXPOSES]-(:DataProduct) } OR EXISTS { ("
        + variable
        + ")-[:IN_DOMAIN]->(:Domain) }"
    )
    return (
        "CASE WHEN "
        + own
        + " THEN "
        + _nearest(variable, 0, start)
        + "[1] ELSE "
        + above
        + "[1] END"
    )  # type: ignore[return-value]


_PROPS: LiteralString = text_times("n", ASSET_TIMES)
_ROW: LiteralString = "labels(n) AS labels, " + _PROPS + " AS props, {domains} AS domains"
_MAP: LiteralString = "{labels: labels(n), props: " + _PROPS + ", domains: {domains}}"


def with_node(query: LiteralString, above: LiteralString | None = None) -> LiteralString:
    """Fill in what reads return about node ``n`` with its domains: ``{node}`` as the columns
    ``labels, props, domains``, ``{node_map}`` as one map of them (graph/records.NodeRecord).
    ``above``: the variable holding ``nearest_above`` of ``n``'s one container, if the query
    computed it (the columns of a table)."""
    domains = domains_of("n") if above is None else domains_below("n", above)
    node, node_map = _ROW.replace("{domains}", domains), _MAP.replace("{domains}", domains)
    return query.replace("{node_map}", node_map).replace("{node}", node)  # type: ignore[return-value]


def in_scope(variable: LiteralString, above: LiteralString | None = None) -> LiteralString:
    """A Cypher predicate: the node bound to ``variable`` is within ``$domains``/``$sources``
    (null: unrestricted). A node in no domain is only reachable without a domain restriction,
    as security/rbac.py decides in Python. ``above``: as for ``with_node``."""
    domains = domains_of(variable) if above is None else domains_below(variable, above)
    return (
        "($sources IS NULL OR " + variable + ".source IN $sources)\n"
        "  AND ($domains IS NULL OR all(dwName IN coalesce(nullIf("
        + domains
        + ", []), ['']) WHERE dwName IN $domains))\n"
    )


# Without a domain restriction no walk is needed, nor the table: all rows form one group.
_IN_SCOPE_BY_TABLE: LiteralString = """OPTIONAL MATCH (dwTable)-[:HAS_COLUMN]->({column})
WHERE $domains IS NOT NULL
WITH dwTable, collect([{carried}]) AS dwRows
WITH dwRows, CASE WHEN dwTable IS NULL THEN [1000, []] ELSE {nearest} END AS dwAbove
UNWIND dwRows AS dwRow
WITH {unpacked}, dwAbove
WHERE ({condition})
"""


def in_scope_by_table(
    column: LiteralString, carried: tuple[LiteralString, ...], also: LiteralString = "false"
) -> LiteralString:
    """Cypher clauses that keep the rows (the variables ``carried``, ``column`` first) whose
    column is ``in_scope``, or meets ``also``. The rows are grouped by the column's table, whose
    walk up to the domains is made once for all its columns (``nearest_above``); each column
    then looks at itself alone. Every column walking four hops up itself cost 39 us a row: a
    steward's page of one source's columns took 1.5 s at scale 100 where an admin's took 70 ms
    (docs/benchmarks.md, issue 17). A column has one table (its URN extends the table's), so no
    row is kept twice."""
    unpacked = ", ".join(f"dwRow[{i}] AS {name}" for i, name in enumerate(carried))
    condition = in_scope(column, "dwAbove") + "  OR " + also
    return (
        _IN_SCOPE_BY_TABLE.replace("{column}", column)
        .replace("{carried}", ", ".join(carried))
        .replace("{nearest}", nearest_above("dwTable"))
        .replace("{unpacked}", unpacked)
        .replace("{condition}", condition)
    )  # type: ignore[return-value]


# --- managed domains and teams (mesh/domains.py) ------------------------------------------------

# A domain MERGEs on its name, so the ``:Domain {name}`` nodes products pointed at before keep
# their relationships; ``created`` says whether this call made it.
CREATE_DOMAIN: LiteralString = """
OPTIONAL MATCH (old:Domain {name: $name})
WITH old.createdAt IS NOT NULL AS managed
MERGE (d:Domain {name: $name})
FOREACH (_ IN CASE WHEN managed THEN [] ELSE [1] END |
  SET d.urn = $urn, d.description = $description, d.owners = $owners, d.createdBy = $actor,
      d.createdAt = datetime())
RETURN properties(d) AS props, NOT managed AS created
"""
UPDATE_DOMAIN: LiteralString = """
MATCH (d:Domain {urn: $urn})
SET d.description = coalesce($description, d.description),
    d.owners = coalesce($owners, d.owners),
    d.archivedAt = CASE WHEN $archive THEN coalesce(d.archivedAt, datetime()) ELSE d.archivedAt END,
    d.updatedBy = $actor, d.updatedAt = datetime()
RETURN properties(d) AS props
"""
DOMAIN: LiteralString = "MATCH (d:Domain {urn: $urn}) RETURN properties(d) AS props"
_MANAGED: LiteralString = (
    "MATCH (d:Domain) WHERE d.urn IS NOT NULL AND ($archived OR d.archivedAt IS NULL)\n"
)
DOMAINS: LiteralString = (
    _MANAGED
    + "AND ($after IS NULL OR d.urn > $after)\n"
    + "RETURN properties(d) AS props ORDER BY d.urn LIMIT $limit\n"
)
COUNT_DOMAINS: LiteralString = _MANAGED + "RETURN count(d) AS n\n"
SAVE_TEAM: LiteralString = """
MATCH (d:Domain {urn: $domain})
MERGE (t:Team {name: $name})
SET t.urn = $urn, t.description = coalesce($description, t.description, ''),
    t.members = $members, t.updatedBy = $actor, t.updatedAt = datetime()
WITH d, t
OPTIONAL MATCH (t)-[old:IN_DOMAIN]->(other:Domain) WHERE other <> d
DELETE old
MERGE (t)-[:IN_DOMAIN]->(d)
RETURN properties(t) AS props, d.name AS domain
"""
_TEAMS: LiteralString = "MATCH (t:Team)-[:IN_DOMAIN]->(d:Domain {urn: $domain})\n"
TEAMS: LiteralString = (
    _TEAMS
    + "WHERE $after IS NULL OR t.urn > $after\n"
    + "RETURN properties(t) AS props, d.name AS domain ORDER BY t.urn LIMIT $limit\n"
)
COUNT_TEAMS: LiteralString = _TEAMS + "RETURN count(t) AS n\n"
TEAM: LiteralString = """
MATCH (t:Team {urn: $urn})
OPTIONAL MATCH (t)-[:IN_DOMAIN]->(d:Domain)
RETURN properties(t) AS props, d.name AS domain, COUNT { (t)-[:OWNS]->(:DataProduct) } AS owns
"""
# Assigning a source, schema or asset to a domain replaces its previous direct assignment; the
# tables it holds (or it, if a table; a column's table) are returned so their caches and search
# documents follow, and so are the databases and schemas it holds, whose domains follow it too.
_NODE: LiteralString = """
CALL (urn) {
  MATCH (n:Asset {urn: urn}) RETURN n
  UNION
  MATCH (n:DataSource {urn: urn}) RETURN n
}
"""
_TABLES: LiteralString = """
WITH DISTINCT n
OPTIONAL MATCH (n)-[:CONTAINS*0..3]->(t:Table)
OPTIONAL MATCH (t2:Table)-[:HAS_COLUMN]->(n)
RETURN n.urn AS urn, collect(DISTINCT t.urn) + collect(DISTINCT t2.urn) AS tables,
  COLLECT { MATCH (n)-[:CONTAINS*1..2]->(c) WHERE c:Database OR c:Schema RETURN c.urn } AS holds
"""
EXISTING: LiteralString = "UNWIND $urns AS urn" + _NODE + "RETURN n.urn AS urn"
ASSIGN: LiteralString = (
    "MATCH (d:Domain {urn: $domain})\nUNWIND $urns AS urn"
    + _NODE
    + """OPTIONAL MATCH (n)-[old:IN_DOMAIN]->(:Domain)
DELETE old
MERGE (n)-[:IN_DOMAIN]->(d)"""
    + _TABLES
)
UNASSIGN: LiteralString = (
    "UNWIND $urns AS urn"
    + _NODE
    + """MATCH (n)-[old:IN_DOMAIN]->(:Domain {urn: $domain})
DELETE old"""
    + _TABLES
)
# A domain's assignments as the caller may see them: those of a domain in its scope, of sources
# in its scope ($domains, $sources: None for all), or a scoped steward read the names of other
# domains' and sources' tables here that the catalogue hides from them.
_ASSIGNED: LiteralString = """
MATCH (d:Domain {urn: $domain}) WHERE $domains IS NULL OR d.name IN $domains
MATCH (n)-[:IN_DOMAIN]->(d)
WHERE (n:DataSource OR n:Asset) AND ($sources IS NULL OR coalesce(n.source, n.name) IN $sources)
"""
ASSIGNED: LiteralString = (
    _ASSIGNED
    + "  AND ($after IS NULL OR n.urn > $after)\n"
    + "RETURN n.urn AS urn ORDER BY n.urn LIMIT $limit\n"
)
COUNT_ASSIGNED: LiteralString = _ASSIGNED + "RETURN count(n) AS n\n"


async def create_domain(
    driver: AsyncDriver, database: str, urn: str, name: str, description: str | None,
    owners: list[str], actor: str,
) -> tuple[Record, bool]:  # fmt: skip
    """The domain, and whether it is new (a name already managed is not)."""
    rows = await write(
        driver, database, CREATE_DOMAIN, urn=urn, name=name, description=description,
        owners=owners, actor=actor,
    )  # fmt: skip
    return plain(rows[0]["props"]), rows[0]["created"]


async def update_domain(
    driver: AsyncDriver, database: str, urn: str, actor: str, *,
    description: str | None = None, owners: list[str] | None = None, archive: bool = False,
) -> Record | None:  # fmt: skip
    rows = await write(
        driver, database, UPDATE_DOMAIN, urn=urn, description=description, owners=owners,
        archive=archive, actor=actor,
    )  # fmt: skip
    return plain(rows[0]["props"]) if rows else None


async def get_domain(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    rows = await read(driver, database, DOMAIN, urn=urn)
    return plain(rows[0]["props"]) if rows else None


async def list_domains(
    driver: AsyncDriver, database: str, archived: bool, after: str | None, limit: int
) -> list[Record]:
    """A page of domains in URN order, after the URN ``after``."""
    rows = await read(driver, database, DOMAINS, archived=archived, after=after, limit=limit)
    return [plain(r["props"]) for r in rows]


async def count_domains(driver: AsyncDriver, database: str, archived: bool) -> int:
    return (await read(driver, database, COUNT_DOMAINS, archived=archived))[0]["n"]


async def save_team(
    driver: AsyncDriver, database: str, domain: str, urn: str, name: str,
    description: str | None, members: list[str], actor: str,
) -> Record | None:  # fmt: skip
    """Create or update a team of ``domain`` (moving it there); None if the domain is gone."""
    rows = await write(
        driver, database, SAVE_TEAM, domain=domain, urn=urn, name=name,
        description=description, members=members, actor=actor,
    )  # fmt: skip
    return {**plain(rows[0]["props"]), "domain": rows[0]["domain"]} if rows else None


async def get_team(driver: AsyncDriver, database: str, urn: str) -> Record | None:
    """The team with its domain's name and how many data products it owns."""
    rows = await read(driver, database, TEAM, urn=urn)
    if not rows:
        return None
    return {**plain(rows[0]["props"]), "domain": rows[0]["domain"], "owns": rows[0]["owns"]}


async def list_teams(
    driver: AsyncDriver, database: str, domain: str, limit: int, after: str | None = None
) -> list[Record]:
    """A page of the domain's teams in URN order, after the URN ``after``."""
    rows = await read(driver, database, TEAMS, domain=domain, after=after, limit=limit)
    return [{**plain(r["props"]), "domain": r["domain"]} for r in rows]


async def count_teams(driver: AsyncDriver, database: str, domain: str) -> int:
    return (await read(driver, database, COUNT_TEAMS, domain=domain))[0]["n"]


class Assignment(NamedTuple):
    """What an assignment reached: each node found -> its tables, and the databases and schemas
    held by the nodes found (their domains changed as well)."""

    tables: dict[str, list[str]]
    containers: list[str]

    @property
    def all_tables(self) -> list[str]:
        return sorted({t for ts in self.tables.values() for t in ts})


async def assign(
    driver: AsyncDriver, database: str, domain: str, urns: list[str], remove: bool = False
) -> Assignment:
    """(Un)assign sources, schemas or assets to ``domain``."""
    query = UNASSIGN if remove else ASSIGN
    rows = await write(driver, database, query, domain=domain, urns=urns)
    tables = {r["urn"]: [t for t in r["tables"] if t] for r in rows}
    return Assignment(tables, sorted({c for r in rows for c in r["holds"]}))


async def existing(driver: AsyncDriver, database: str, urns: list[str]) -> set[str]:
    """Which of ``urns`` are sources or assets in the graph."""
    return {r["urn"] for r in await read(driver, database, EXISTING, urns=urns)}


Scope = tuple[Collection[str] | None, Collection[str] | None]


async def assigned(
    driver: AsyncDriver, database: str, domain: str, scope: Scope, limit: int,
    after: str | None = None,
) -> list[str]:  # fmt: skip
    """A page of the sources and assets assigned to the domain directly, in URN order, that a
    caller limited to ``scope`` (domains, sources; None: all) may see."""
    domains, sources = _listed(scope)
    rows = await read(
        driver, database, ASSIGNED, domain=domain, domains=domains, sources=sources,
        after=after, limit=limit,
    )  # fmt: skip
    return [r["urn"] for r in rows]


async def count_assigned(driver: AsyncDriver, database: str, domain: str, scope: Scope) -> int:
    domains, sources = _listed(scope)
    rows = await read(
        driver, database, COUNT_ASSIGNED, domain=domain, domains=domains, sources=sources
    )
    return rows[0]["n"]


def _listed(scope: Scope) -> tuple[list[str] | None, list[str] | None]:
    domains, sources = scope
    return (
        None if domains is None else sorted(domains),
        None if sources is None else sorted(sources),
    )
