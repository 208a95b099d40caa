"""Which data-mesh domains a node belongs to, computed inside the queries that read it.

A ``(:DataProduct)-[:IN_DOMAIN]->(:Domain)`` that ``EXPOSES`` a node, or one of its containers
(source, database, schema, table), puts it in that domain. The nearest exposure wins, so a
finance product exposing one table of a database that a sales product exposes whole puts that
table (and its columns) in finance only; products of several domains at the same distance put
the node in all of them. RBAC reads the result (security/rbac.py); see docs/security.md.
"""

from __future__ import annotations

from typing import LiteralString

# The ``dw``-prefixed names cannot clash with the variables of the query this is pasted into.
_DOMAINS: LiteralString = """reduce(dwBest = [1000, []], dwHit IN [
  dwPath = ({var})<-[:CONTAINS|HAS_COLUMN|HAS_VERSION*0..4]-()<-[:EXPOSES]-(:DataProduct)
           -[:IN_DOMAIN]->(dwDomain:Domain) | [length(dwPath), dwDomain.name]] |
  CASE WHEN dwHit[0] < dwBest[0] THEN [dwHit[0], [dwHit[1]]]
       WHEN dwHit[0] = dwBest[0] AND NOT dwHit[1] IN dwBest[1]
         THEN [dwBest[0], dwBest[1] + dwHit[1]]
       ELSE dwBest END)[1]"""


def domains_of(variable: LiteralString) -> LiteralString:
    """A Cypher expression: the domain names of the node bound to ``variable`` (may be [])."""
    return _DOMAINS.replace("{var}", variable)


_ROW: LiteralString = (
    "labels(n) AS labels, properties(n) AS props, " + domains_of("n") + " AS domains"
)
_MAP: LiteralString = "{labels: labels(n), props: properties(n), domains: " + domains_of("n") + "}"


def with_node(query: LiteralString) -> LiteralString:
    """Fill in what reads return about node ``n`` with its domains: ``{node}`` as the columns
    ``labels, props, domains``, ``{node_map}`` as one map of them (graph/records.NodeRecord)."""
    return query.replace("{node_map}", _MAP).replace("{node}", _ROW)


def in_scope(variable: LiteralString) -> LiteralString:
    """A Cypher predicate: the node bound to ``variable`` is within ``$domains``/``$sources``
    (null: unrestricted). A node in no domain is only reachable without a domain restriction,
    as security/rbac.py decides in Python."""
    return (
        "($sources IS NULL OR " + variable + ".source IN $sources)\n"
        "  AND ($domains IS NULL OR all(dwName IN coalesce(nullIf("
        + domains_of(variable)
        + ", []), ['']) WHERE dwName IN $domains))\n"
    )
