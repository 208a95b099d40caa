"""Catalog reads: nodes by URN, their relationships in batches, and filtered keyset pages.

Every function takes many keys at once so DataLoaders turn N lookups into one query. Labels and
sort keys come from the allow-lists below, never from client input; a page query is built from
them once per shape of filter (which conditions are set).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any, LiteralString

from neo4j import AsyncDriver

from core.kinds import KINDS, Scope
from core.urns import CONTAINMENT, InvalidUrn, Urn, source_urn
from graph import compliance
from graph.access import BY_URN as ACCESS_BY_URN
from graph.access import granted_to
from graph.domains import in_scope, in_scope_by_table, nearest_above, with_node
from graph.driver import read, read_list, read_values
from graph.records import LABEL_EDGE, NodeRecord, Record, Related, node_fields


# Lookups by URN, one per label a kind's URNs are unique under (core/kinds.py), the
# allow-list of labels they may match. Nodes RBAC scopes by domain are read with their domains.
def _by_urn(label: LiteralString, scope: Scope | None) -> LiteralString:
    if scope is Scope.PARTIES:  # access requests, read with who is party to each
        return ACCESS_BY_URN
    if scope is Scope.FINDING:  # findings and waivers, read with the finding's scope
        return compliance.by_urn(label)
    query: LiteralString = "MATCH (n:" + label + ") WHERE n.urn IN $urns\nRETURN {node}\n"
    if scope is Scope.DOMAIN:
        return with_node(query)
    return query.replace("{node}", "labels(n) AS labels, properties(n) AS props")


BY_URN: dict[str, LiteralString] = {
    kind.key_label: _by_urn(kind.key_label, kind.scope) for kind in KINDS.labelled()
}


class Relation(StrEnum):
    """A relationship a resolver follows from a node to a list of nodes."""

    COLUMNS = "columns"
    VERSIONS = "versions"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"
    OWNERS = "owners"
    LABELS = "labels"
    COLUMN_LABELS = "column_labels"
    INHERITED_LABELS = "inherited_labels"
    COLUMN_INHERITED_LABELS = "column_inherited_labels"
    CHILDREN = "children"
    SOURCE_DATABASES = "source_databases"
    PARENT = "parent"
    REFERENCES = "references"
    JOB_READS = "job_reads"
    JOB_WRITES = "job_writes"


# Each query returns rows (key, labels, props, rel, and domains of scoped nodes): ``key`` is
# the URN the caller asked about.
COLUMNS = with_node(
    """
MATCH (p:Asset) WHERE p.urn IN $urns
WITH p, """
    + nearest_above("p")
    + """ AS above
MATCH (p)-[r:HAS_COLUMN]->(n:Column)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.ordinal, n.name
""",
    above="above",
)
VERSIONS = with_node("""
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p)-[r:HAS_VERSION]->(n:SchemaVersion)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.version
""")
# One hop of lineage as it is now, as ``lineage`` without ``asOf`` walks it
# (graph/lineage_queries.py): an edge a later run of its job ended (``until``) is history.
# Each neighbour once, with the jobs and views (``rel.via``) of every current edge joining
# the two: two jobs between the same tables are two edges, not two neighbours.
HOP: LiteralString = """
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p){edge}(n:Asset) WHERE r.until IS NULL
WITH p, n, collect(DISTINCT r.via) AS via
RETURN p.urn AS key, {node}, {via: via} AS rel
ORDER BY n.urn
"""
UPSTREAM = with_node(HOP.replace("{edge}", "<-[r:FEEDS]-"))
DOWNSTREAM = with_node(HOP.replace("{edge}", "-[r:FEEDS]->"))
OWNERS = """
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p)<-[r:OWNS]-(n:Team)
RETURN p.urn AS key, labels(n) AS labels, properties(n) AS props, properties(r) AS rel
ORDER BY n.name
"""


# Labels over ``{edge}`` of the keys (``{of}``: how a key leads to its columns, itself or a
# table's), ``rel.column`` saying which column carries each one. An ``INHERITS`` label
# (graph/inheritance.py) only where the column holds none of its own (should an edge be read
# mid-recompute): its own wins.
LABELS_OF: LiteralString = (
    """
MATCH (p:Asset) WHERE p.urn IN $urns
{of}
MATCH (c)-[r:{edge}]->(n:Label)
WHERE r:LABELED OR NOT EXISTS { (c)-[:LABELED]->(n) }
RETURN p.urn AS key, labels(n) AS labels, properties(n) AS props,
       """
    + LABEL_EDGE
    + """ AS rel
ORDER BY c.ordinal, n.name
"""
)


def _labels(of: LiteralString, edge: LiteralString) -> LiteralString:
    return LABELS_OF.replace("{of}", of).replace("{edge}", edge)


ITSELF: LiteralString = "WITH p, p AS c"
ITS_COLUMNS: LiteralString = "MATCH (p)-[:HAS_COLUMN]->(c:Column)"
LABELS = _labels(ITSELF, "LABELED")
# A table's labels are its columns' labels.
COLUMN_LABELS = _labels(ITS_COLUMNS, "LABELED")
# What columns inherit along lineage, with its provenance (graph/inheritance.py).
INHERITED_LABELS = _labels(ITSELF, "INHERITS")
COLUMN_INHERITED_LABELS = _labels(ITS_COLUMNS, "INHERITS")
CHILDREN = with_node("""
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p)-[r:CONTAINS]->(n:Asset)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.name
""")
SOURCE_DATABASES = with_node("""
MATCH (p:DataSource) WHERE p.urn IN $urns
MATCH (p)-[r:CONTAINS]->(n:Asset)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.name
""")
PARENT = with_node("""
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p)<-[r:CONTAINS|HAS_COLUMN]-(n:Asset)
RETURN p.urn AS key, {node}, properties(r) AS rel
""")
REFERENCES = with_node("""
MATCH (p:Asset) WHERE p.urn IN $urns
MATCH (p)-[r:REFERENCES]->(n:Column)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.urn
""")
JOB_READS = with_node("""
MATCH (p:Job) WHERE p.urn IN $urns
MATCH (p)-[r:READS]->(n:Asset)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.urn
""")
JOB_WRITES = with_node("""
MATCH (p:Job) WHERE p.urn IN $urns
MATCH (p)-[r:WRITES]->(n:Asset)
RETURN p.urn AS key, {node}, properties(r) AS rel
ORDER BY n.urn
""")
RELATIONS: dict[Relation, LiteralString] = {
    Relation.COLUMNS: COLUMNS,
    Relation.VERSIONS: VERSIONS,
    Relation.UPSTREAM: UPSTREAM,
    Relation.DOWNSTREAM: DOWNSTREAM,
    Relation.OWNERS: OWNERS,
    Relation.LABELS: LABELS,
    Relation.COLUMN_LABELS: COLUMN_LABELS,
    Relation.INHERITED_LABELS: INHERITED_LABELS,
    Relation.COLUMN_INHERITED_LABELS: COLUMN_INHERITED_LABELS,
    Relation.CHILDREN: CHILDREN,
    Relation.SOURCE_DATABASES: SOURCE_DATABASES,
    Relation.PARENT: PARENT,
    Relation.REFERENCES: REFERENCES,
    Relation.JOB_READS: JOB_READS,
    Relation.JOB_WRITES: JOB_WRITES,
}


async def nodes_by_urn(
    driver: AsyncDriver, database: str, label: str, urns: Sequence[str]
) -> dict[str, NodeRecord]:
    """The nodes under ``label`` (a kind's ``key_label``) found among ``urns`` (missing URNs
    are simply absent)."""
    rows = await read_values(driver, database, BY_URN[label], urns=list(urns))
    records = [NodeRecord.of(r) for r in rows]
    return {r.urn: r for r in records}


async def related(
    driver: AsyncDriver, database: str, relation: Relation, urns: Sequence[str]
) -> dict[str, list[Related]]:
    """For each URN, the nodes ``relation`` leads to, in the relation's order."""
    out: dict[str, list[Related]] = defaultdict(list)
    for row in await read_values(driver, database, RELATIONS[relation], urns=list(urns)):
        out[row["key"]].append(Related.of(row))
    return out


# --- filtered pages ----------------------------------------------------------------------------


class AssetKind(StrEnum):
    DATABASE = "database"
    SCHEMA = "schema"
    DATASET = "dataset"  # a table, view or collection
    TABLE = "table"
    VIEW = "view"
    COLLECTION = "collection"
    COLUMN = "column"


# kind -> (label to match, value of Table.kind or None)
KIND_MATCH: dict[AssetKind | None, tuple[LiteralString, str | None]] = {
    None: ("Asset", None),
    AssetKind.DATABASE: ("Database", None),
    AssetKind.SCHEMA: ("Schema", None),
    AssetKind.DATASET: ("Table", None),
    AssetKind.TABLE: ("Table", "table"),
    AssetKind.VIEW: ("Table", "view"),
    AssetKind.COLLECTION: ("Table", "collection"),
    AssetKind.COLUMN: ("Column", None),
}


class SortField(StrEnum):
    NAME = "name"
    ROW_COUNT = "rowCount"
    SIZE_BYTES = "sizeBytes"
    LAST_SEEN_AT = "lastSeenAt"


# Sort keys never null, so keyset comparisons stay total; datetimes compare as UTC ISO text.
SORT_KEYS: dict[SortField, LiteralString] = {
    SortField.NAME: "coalesce(a.name, '')",
    SortField.ROW_COUNT: "coalesce(a.rowCount, -1)",
    SortField.SIZE_BYTES: "coalesce(a.sizeBytes, -1)",
    SortField.LAST_SEEN_AT: "coalesce(toString(a.lastSeenAt), '')",
}

# A label on the asset or its columns, their own or inherited along lineage, and ``{path}``:
# what the inherited one's edge (``l``, with its ``path`` of columns) must also meet.
_INHERITED_LABEL: LiteralString = """EXISTS {
        MATCH (a)-[:HAS_COLUMN]->{0,1}(:Asset)-[l:LABELED|INHERITS]->(x:Label)
        WHERE (x.name = $inheritedLabel OR x.category = $inheritedLabel)
          AND coalesce(l.status, 'suggested') <> 'rejected'{path} }"""
_NO_STEP_OUT_OF_SCOPE: LiteralString = (
    "\n          AND (type(l) = 'LABELED' OR NOT EXISTS {\n"
    "            MATCH (dwOn:Asset) WHERE dwOn.urn IN l.path AND NOT ("
    + in_scope("dwOn")
    + "  OR "
    + granted_to("dwOn")
    + ") })"
)


# A label matches by exact name or by category (``PII`` matches ``PII.Email``); rejected
# suggestions do not count. A table carries the labels of its columns. The caller's RBAC scope
# (``$domains``, ``$sources``, widened by ``$granted``: what the caller's teams hold live access
# grants on, graph/access.py) applies here too, so pages stay full and counts true. Placeholders
# no scan has found (``:Unresolved``, graph/assets.py) are references, not assets.
# Each condition is written only when its filter is set (``AssetFilter.active``): one query
# with every condition optional (``$x IS NULL OR ...``) took Neo4j's planner seconds, again
# whenever a large ingest moved the statistics (docs/benchmarks.md, GraphQL).
CONDITIONS: dict[str, LiteralString] = {
    "source": "a.source = $source",
    "tableKind": "a.kind = $tableKind",
    "removed": "(a.removedAt IS NOT NULL) = $removed",
    # Lower-cased copies the writers keep (``nameLower``; ``descriptionLower`` of the curated
    # description, else the discovered one) behind TEXT indexes (migration 0013): a source's
    # columns are no longer all read to test the text.
    "text": "(a.nameLower CONTAINS $text OR a.descriptionLower CONTAINS $text)",
    "label": """EXISTS {
        MATCH (a)-[:HAS_COLUMN]->{0,1}(:Asset)-[l:LABELED]->(x:Label)
        WHERE (x.name = $label OR x.category = $label)
          AND coalesce(l.status, 'suggested') <> 'rejected' }""",
    # The same, counting the labels columns inherit along lineage (graph/inheritance.py), the
    # ones reads mask them by: a view's copy of an e-mail column is an e-mail column.
    "inheritedLabel": _INHERITED_LABEL.replace("{path}", ""),
    # For a scoped caller, only along a path no step of which is out of its scope, as
    # ``Column.labels`` shows them: an inherited label must not tell what flows in from out of
    # scope. Its own condition, so that other plans do not carry it: Neo4j 5.26 plans a scoped
    # page with it in 1.1 to 1.3 s (0.5 s without), and written as "every step in scope",
    # ``all()`` over per-step subqueries, in 34 s (for every caller, timing clients out).
    "inheritedLabelInScope": _INHERITED_LABEL.replace("{path}", _NO_STEP_OUT_OF_SCOPE),
    "scope": "(" + in_scope("a") + "  OR " + granted_to("a") + ")",
    # In place of the scope (``widened``): the nearest node held at or above the asset, found
    # by URN among the nodes domains hold in the sources read (``AssetFilter.held``), is one
    # the caller may see (core/urns.py ``CONTAINMENT``).
    "under": """reduce(dwBest = [-1, false], dwHeld IN $under |
      CASE WHEN dwHeld.depth > dwBest[0] AND (a.urn = dwHeld.urn
                OR any(dwPrefix IN dwHeld.prefixes WHERE a.urn STARTS WITH dwPrefix))
           THEN [dwHeld.depth, dwHeld.seen] ELSE dwBest END)[1]""",
}
# A scoped caller's columns, once the other conditions kept them, take their domains from one
# walk up their table (``in_scope_by_table``).
_COLUMNS_IN_SCOPE: LiteralString = in_scope_by_table("a", ("a",), also=granted_to("a"))
# In ``AssetFilter.active`` beside ``scope`` when the caller is restricted by domain (a scope
# by source alone needs no walk: its columns stay in the ``WHERE``, as they filter fastest).
BY_DOMAIN = "byDomain"


# Where a page starts: a label scan only when no filter narrows it. A source's columns or tables
# are read through the index on ``(source, name, urn)`` (migration 0015), a schema's tables (all
# it contains) through the one on ``(schemaUrn, name)`` (migration 0014): a page of one source of
# a million-column estate reads that source's assets, not every column, and a page by name reads
# them in the index's order, its own rows and not the 488,000 columns of a source at 10^6.
class Anchor(StrEnum):
    LABEL = "label"
    SCHEMA = "schema"
    SOURCE = "source"
    CLASSIFIED = "classified"


# A page or count of assets with a classification label, of no source or schema, starts from
# the label's few nodes and the edges to what carries it (an asset, or a table through its
# column; the label's condition, tested again on each, keeps only the right ones). Tested on
# every asset instead, the 90 PII assets of the 10^6-column estate took 1.9 s to page and to
# count (docs/benchmarks.md, issue 17).
def _classified(label: LiteralString, active: frozenset[str]) -> LiteralString:
    param: LiteralString = "$label" if "label" in active else "$inheritedLabel"
    edges: LiteralString = "LABELED" if "label" in active else "LABELED|INHERITS"
    return (
        "MATCH (dwLabel:Label) WHERE dwLabel.name = " + param
        + " OR dwLabel.category = " + param + "\n"
        "MATCH (dwLabel)<-[:" + edges + "]-(:Asset)<-[:HAS_COLUMN]-{0,1}(a:" + label + ")\n"
        "WITH DISTINCT a"
    )  # fmt: skip


# The anchors and labels with an index that hands their assets over in name order, and the
# properties it is on. A schema holds tables only (of any asset label), their names unique in
# it. A source's columns share names (``id`` in every table), so its index orders them by URN
# too: a page never reads a whole group of namesakes to sort it.
NAME_INDEXED: dict[tuple[Anchor, str], tuple[LiteralString, ...]] = {
    (Anchor.SCHEMA, "Table"): ("a.schemaUrn", "a.name"),
    (Anchor.SCHEMA, "Asset"): ("a.schemaUrn", "a.name"),
    (Anchor.SOURCE, "Table"): ("a.source", "a.name", "a.urn"),
    (Anchor.SOURCE, "Column"): ("a.source", "a.name", "a.urn"),
}


# A caller restricted by domain sees of a source only what lies under a node of it that one of
# the caller's domains holds (assigned, or exposed by one of its products; graph/domains.py) or
# what grants reach. When no such node is in the source, and the caller holds no grant, nothing
# is read: a steward browsing a source their domains have no part of waited 5.5 s for an empty
# page of 488,000 columns at 10^6, each candidate's domains walked (docs/benchmarks.md). A
# product's own ``IN_DOMAIN`` may let the guard pass when it need not; the scope still decides.
_REACHES: LiteralString = """CALL () {
  RETURN CASE WHEN $granted IS NOT NULL
    OR EXISTS { MATCH (dwRoot)-[:IN_DOMAIN]->(dwDomain:Domain)
                WHERE dwDomain.name IN $domains AND coalesce(dwRoot.source, dwRoot.name) = $source }
    OR EXISTS { MATCH (dwRoot)<-[:EXPOSES]-(:DataProduct)-[:IN_DOMAIN]->(dwDomain:Domain)
                WHERE dwDomain.name IN $domains AND coalesce(dwRoot.source, dwRoot.name) = $source }
    THEN $source END AS dwSource
}
"""


def _match(
    label: LiteralString,
    anchor: Anchor,
    active: frozenset[str],
    seek: LiteralString = "",
    restricted: bool = False,
    per_source: bool = False,
) -> LiteralString:
    """``seek``: the page's condition on the name, which the index is sought with;
    ``restricted``: the caller is restricted by domain, though ``active`` leaves the scope out;
    ``per_source``: the source is ``dwSource``, bound by the enclosing query."""
    restricted = restricted or BY_DOMAIN in active
    guard: LiteralString = _REACHES if anchor is Anchor.SOURCE and restricted else ""
    source: LiteralString = "dwSource" if guard or per_source else "$source"
    indexed = NAME_INDEXED.get((anchor, label))
    # The source the anchor seeks is not tested again (Neo4j would seek ``$source`` and test
    # the guard's ``dwSource`` on every row), nor the one a schema's tables are all of.
    by_source = anchor is Anchor.SOURCE or (anchor is Anchor.SCHEMA and indexed is not None)
    implied = frozenset({"source"} if by_source else ())
    if indexed is not None:
        if anchor is Anchor.SCHEMA:
            # Only a scanned table carries ``schemaUrn`` (a placeholder never does,
            # graph/assets.py), and a table's URN names its schema's source (core/checks.py):
            # neither is tested on each table, which was half of a schema's count at 10^6. A
            # filter naming another source matches nothing (``AssetFilter.matches_nothing``).
            match: LiteralString = "MATCH (a:Table)\nWHERE a.schemaUrn = $schema\n"
        else:
            match = (
                "MATCH (a:" + label + ")\nWHERE a.source = " + source + " AND NOT a:Unresolved\n"
            )
        # An index is sought only with a condition on each of its properties (every writer sets
        # the name). Without the name's, a schema's count and other orders seek
        # ``(schemaUrn, kind)``, in store order; a source has no other index but the text's,
        # which reads fewer than a whole source, and for which the conditions are reads of
        # every match (a sixth of a text's count).
        if seek or (anchor is Anchor.SOURCE and "text" not in active):
            for condition in (
                seek or "a.name IS NOT NULL",
                *(p + " IS NOT NULL" for p in indexed[2:]),
            ):
                match += "  AND " + condition + "\n"
    else:
        if anchor is Anchor.SCHEMA:
            match = "MATCH (:Asset {urn: $schema})-[:CONTAINS]->(a:" + label + ")"
        elif anchor is Anchor.SOURCE:
            match = "MATCH (a:" + label + " {source: " + source + "})"
        elif anchor is Anchor.CLASSIFIED:
            match = _classified(label, active)
        else:
            match = "MATCH (a:" + label + ")"
        match += "\nWHERE NOT a:Unresolved\n"
    by_table = label == "Column" and BY_DOMAIN in active
    for name, condition in CONDITIONS.items():
        if name in active and name not in implied and not (by_table and name == "scope"):
            match += "  AND " + condition + "\n"
    return guard + (match + _COLUMNS_IN_SCOPE if by_table else match)


ROWS: LiteralString = (
    "RETURN collect({labels: labels(a), props: properties(a), key: key}) AS rows\n"
)


def _in_name_order(
    label: LiteralString,
    anchor: Anchor,
    active: frozenset[str],
    desc: bool,
    resumes: bool,
    restricted: bool = False,
    per_source: bool = False,
) -> tuple[LiteralString, LiteralString]:
    """The assets past the cursor as the name's index hands them over, and the ``ORDER BY``
    that keeps its order: the planner keeps it only when the conditions and the ORDER BY name
    the index's properties themselves (its first fixed by the seek), and then stops at the
    limit."""
    cmp: LiteralString = "<" if desc else ">"
    order: LiteralString = "DESC" if desc else "ASC"
    seek: LiteralString = "a.name " + cmp + "= $after[0]" if resumes else "a.name IS NOT NULL"
    read = (
        _match(label, anchor, active, seek, restricted, per_source)
        + "  AND ($after IS NULL OR a.name " + cmp + " $after[0]\n"
        "       OR (a.name = $after[0] AND a.urn " + cmp + " $after[1]))\n"
    )  # fmt: skip
    by_index = ", ".join(p + " " + order for p in (*NAME_INDEXED[(anchor, label)][:2], "a.urn"))
    return read, by_index  # type: ignore[return-value]


# Pages return their nodes without domains: the scope filtered them already, and computing
# each item's domains again was most of the page's database hits (docs/benchmarks.md, GraphQL).
# The page comes back as one list (``collect`` keeps the order of the rows it receives), not a
# record per item: the driver's per-record Python was most of a cold page's client CPU.
@cache
def page_query(
    label: LiteralString,
    anchor: Anchor,
    active: frozenset[str],
    field: SortField,
    desc: bool,
    resumes: bool = False,
) -> LiteralString:
    """The page query for one shape of filter (labels and keys from the allow-lists above);
    ``resumes``: after a cursor."""
    if (anchor, label) in NAME_INDEXED and field is SortField.NAME:
        read, by_index = _in_name_order(label, anchor, active, desc, resumes)
        return read + "WITH a, a.name AS key ORDER BY " + by_index + " LIMIT $limit\n" + ROWS
    cmp: LiteralString = "<" if desc else ">"
    order: LiteralString = "DESC" if desc else "ASC"
    return (
        _match(label, anchor, active) + "WITH a, " + SORT_KEYS[field] + " AS key\n"
        "WHERE $after IS NULL OR key " + cmp + " $after[0]\n"
        "   OR (key = $after[0] AND a.urn " + cmp + " $after[1])\n"
        "WITH a, key ORDER BY key " + order + ", a.urn " + order + " LIMIT $limit\n" + ROWS
    )  # fmt: skip


# Every asset a page lists is a database, a schema, a table (or view, or collection) or a column
# (graph/assets.py; a dataset OpenLineage names stays a placeholder until a scan finds it as a
# table), and each of those labels has its own indexes where ``Asset`` has none by source or in
# name order: the catalogue's first page of every asset read and sorted the 1.3 million assets
# at 10^6 columns (2.5 s), and every asset of one source scanned them all. Such a page is each
# kind's page, merged; a count is the sum of each kind's (docs/benchmarks.md, issue 17).
EVERY_KIND: tuple[AssetKind, ...] = (
    AssetKind.COLUMN,
    AssetKind.DATASET,
    AssetKind.SCHEMA,
    AssetKind.DATABASE,
)


def splits_by_kind(where: AssetFilter) -> bool:
    """Whether a page or count of every kind is read kind by kind (a schema's assets are its
    tables, read through their own index)."""
    return where.kind is None and where.anchor is not Anchor.SCHEMA


# Conditions that keep nearly every row an index hands over (a source, the removal). The others
# (a kind, a text, a label, a steward's domains) may keep few rows or many: a page by name with
# them first reads at most ``SCAN_BUDGET`` entries of the name's index in its order and keeps the
# rows that match; when they fill the page, or the index had no more entries, that is the page
# (the first matches in the order are the page's, whatever lies beyond), else the planner's plan
# reads it. A text most columns contain, a steward browsing the domain's own source, or the
# tables of a schema (which the planner read through ``(schemaUrn, kind)`` and sorted) no
# longer read and sort every match at 10^6 (docs/benchmarks.md, issue 17).
CHEAP: frozenset[str] = frozenset({"source", "removed"})
SCAN_BUDGET = 1000


def scans_first(label: LiteralString, where: AssetFilter, sort: AssetSort) -> bool:
    """Whether a page is read from the name's index first (``budgeted_page_query``)."""
    indexed = (where.anchor, label) in NAME_INDEXED and sort.field is SortField.NAME
    return indexed and bool(where.active - CHEAP - {"scope"})


@cache
def budgeted_page_query(
    label: LiteralString, anchor: Anchor, active: frozenset[str], desc: bool, resumes: bool
) -> LiteralString:
    """The page within the first ``$budget`` entries of the name's index past the cursor:
    ``rows`` as ``page_query`` returns them, and ``scanned``, the entries read."""
    restricted = BY_DOMAIN in active
    read, by_index = _in_name_order(label, anchor, active & CHEAP, desc, resumes, restricted)
    rest = [CONDITIONS[name] for name in CONDITIONS if name in active and name not in CHEAP]
    return (
        read
        + "WITH a ORDER BY " + by_index + " LIMIT $budget\n"
        "WITH collect(a) AS dwScan\n"
        # In the list's order (``collect`` keeps the index's, ``UNWIND`` hands it on): the
        # conditions stop at the page's last match, a steward's walk up for 51 columns, not 1,000.
        "CALL (dwScan) {\n"
        "  UNWIND dwScan AS a\n"
        "  WITH a WHERE " + "\n    AND ".join(rest) + "\n"
        "  WITH a, a.name AS key LIMIT $limit\n  " + ROWS
        + "}\n"
        "RETURN rows, size(dwScan) AS scanned\n"
    )  # fmt: skip


# A page of live columns or tables of every source by name, as the catalogue opens its lists,
# had no index in that order: Neo4j read and sorted all 1.27 million columns at 10^6 (3.5 s for
# the first 50). It is each source's first page through its ``(source, name, urn)`` index,
# merged: a few rows per source. Every live asset's source has its node (ingest merges it with
# the asset's database, graph/assets.py); removed ones may have lost it with their source's
# registration (graph/sources.py), so a page that shows them reads the label.
MERGED: frozenset[str] = frozenset({"removed", "tableKind"})


def merges_sources(label: LiteralString, where: AssetFilter, sort: AssetSort) -> bool:
    """Whether a page is read as the merge of every source's (``merged_page_query``)."""
    return (
        where.anchor is Anchor.LABEL
        and (Anchor.SOURCE, label) in NAME_INDEXED
        and sort.field is SortField.NAME
        and where.removed is False
        and where.active <= MERGED | {"under"}
    )


def _each_source(active: frozenset[str]) -> LiteralString:
    """Opens a ``CALL`` with ``dwSource`` bound to each source a page or count of every source
    reads: those of the nodes held (``AssetFilter.held``), else every source's node."""
    if "under" in active:
        return "UNWIND $heldSources AS dwSource\nCALL (dwSource) {\n"
    return (
        "MATCH (dwDataSource:DataSource)\n"
        "CALL (dwDataSource) {\n"
        "  WITH dwDataSource.name AS dwSource\n"
    )


@cache
def merged_page_query(
    label: LiteralString, active: frozenset[str], desc: bool, resumes: bool
) -> LiteralString:
    """Each source's page past the cursor, in the order of its name's index, then the first
    ``$limit`` of them all."""
    read, by_index = _in_name_order(label, Anchor.SOURCE, active, desc, resumes, per_source=True)
    order: LiteralString = "DESC" if desc else "ASC"
    return (
        _each_source(active)
        + read
        + "  WITH a ORDER BY " + by_index + " LIMIT $limit\n"
        "  RETURN a\n"
        "}\n"
        "WITH a, a.name AS key ORDER BY key " + order + ", a.urn " + order + " LIMIT $limit\n"
        + ROWS
    )  # fmt: skip


@cache
def count_query(label: LiteralString, anchor: Anchor, active: frozenset[str]) -> LiteralString:
    if anchor is Anchor.SCHEMA and (anchor, label) in NAME_INDEXED and active <= IN_INDEXES:
        return schema_count_query(active)
    if anchor is Anchor.SOURCE and (anchor, label) in NAME_INDEXED and active <= CHEAP:
        return source_count_query(label, active)
    if anchor is Anchor.LABEL and "under" in active and (Anchor.SOURCE, label) in NAME_INDEXED:
        return (
            _each_source(active)
            + _match(label, Anchor.SOURCE, active, per_source=True)
            + "  RETURN count(a) AS dwCount\n}\nRETURN sum(dwCount) AS total\n"
        )
    return _match(label, anchor, active) + "RETURN count(a) AS total\n"


# What the indexes on a table's schema hold besides it (migrations 0014 and 0016; the source is
# implied by the schema).
IN_INDEXES: frozenset[str] = CHEAP | {"tableKind"}


def _by_removal(active: frozenset[str], every: LiteralString) -> LiteralString:
    """The count ``$removed`` asks for, of ``every`` asset, ``gone`` of them removed."""
    if "removed" not in active:
        return every
    return "CASE $removed WHEN true THEN gone WHEN false THEN " + every + " - gone END"


def _indexed_and_removed(label: LiteralString, source: LiteralString) -> LiteralString:
    """``indexed``, the ``source``'s columns or tables on ``(source, name, urn)``, and ``gone``,
    the removed ones on ``(source, removedAt)`` (migration 0017), which holds removed assets
    only: counted from the indexes, no asset read but the removed ones' labels."""
    call: LiteralString = "CALL () {\n" if source.startswith("$") else "CALL (" + source + ") {\n"
    return (
        call
        + "  MATCH (a:" + label + ")\n"
        "  WHERE a.source = " + source + " AND a.name IS NOT NULL AND a.urn IS NOT NULL\n"
        "  RETURN count(a) AS indexed }\n"
        + call
        + "  MATCH (a:" + label + ") USING INDEX a:" + label + "(source, removedAt)\n"
        "  WHERE a.source = " + source + " AND a.removedAt IS NOT NULL AND NOT a:Unresolved\n"
        "  RETURN count(a) AS gone }\n"
    )  # fmt: skip


def source_count_query(label: LiteralString, active: frozenset[str]) -> LiteralString:
    """A source's columns or tables counted from indexes alone, less its placeholders
    (``:Unresolved``: references to what no scan has found yet, few)."""
    return (
        _indexed_and_removed(label, "$source")
        + "CALL () {\n"
        "  MATCH (a:Unresolved) WHERE a:" + label + " AND a.source = $source\n"
        "  RETURN count(a) AS placeholders }\n"
        "RETURN " + _by_removal(active, "indexed - placeholders") + " AS total\n"
    )  # fmt: skip


@cache
def every_source_count_query(label: LiteralString) -> LiteralString:
    """Every source's live columns or tables (as their merged page, ``merges_sources``: every
    live asset's source has its node), each source's counted from indexes alone, less the
    placeholders of those sources."""
    return (
        "CALL () {\n"
        "  MATCH (dwDataSource:DataSource)\n"
        "  WITH dwDataSource.name AS dwSource\n"
        + _indexed_and_removed(label, "dwSource")
        + "  RETURN sum(indexed - gone) AS scanned }\n"
        "CALL () {\n"
        "  MATCH (a:Unresolved) WHERE a:" + label + "\n"
        "    AND EXISTS { MATCH (:DataSource {name: a.source}) }\n"
        "  RETURN count(a) AS placeholders }\n"
        "RETURN scanned - placeholders AS total\n"
    )  # fmt: skip


def schema_count_query(active: frozenset[str]) -> LiteralString:
    """A schema's tables counted from indexes alone, without reading a table: all of them on
    ``(schemaUrn, kind)``, less the removed ones on ``(schemaUrn, removedAt)`` (migration 0016),
    which holds removed tables only. Its source is implied (``_match``)."""
    kind: LiteralString = "a.kind = $tableKind" if "tableKind" in active else "a.kind IS NOT NULL"
    total = _by_removal(active, "every")
    return (
        "CALL () {\n"
        "  MATCH (a:Table) WHERE a.schemaUrn = $schema AND " + kind + "\n"
        "  RETURN count(a) AS every }\n"
        "CALL () {\n"
        "  MATCH (a:Table) USING INDEX a:Table(schemaUrn, removedAt)\n"
        "  WHERE a.schemaUrn = $schema AND a.removedAt IS NOT NULL AND " + kind + "\n"
        "  RETURN count(a) AS gone }\n"
        "RETURN " + total + " AS total\n"
    )  # fmt: skip


@dataclass(frozen=True)
class AssetFilter:
    """Conditions that all must hold; ``None`` means "any". ``removed=False`` hides removed."""

    source: str | None = None
    kind: AssetKind | None = None
    label: str | None = None
    inherited_labels: bool = False  # ``label`` also matches labels inherited along lineage
    text: str | None = None
    removed: bool | None = False
    schema: str | None = None
    # The caller's RBAC scope (security/rbac.py): domain and source names, None for unrestricted.
    domains: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    granted: frozenset[str] | None = None  # exposed URNs the caller reaches through grants
    # Instead of ``domains`` (``widened``): the nodes held by domains in the sources read (the
    # filter's, else those the caller's domains hold parts of), each with whether the caller
    # may see it (every domain holding it is theirs); an asset is as the nearest above it.
    held: tuple[tuple[str, bool], ...] | None = None

    @property
    def active(self) -> frozenset[str]:
        """The ``CONDITIONS`` this filter sets."""
        params = self.params()
        active = {name for name in CONDITIONS if params.get(name) is not None}
        if self.domains is None and self.sources is None:
            active.discard("scope")  # unrestricted: the scope holds for every asset
        else:
            active.add("scope")
            if self.domains is not None:
                active.add(BY_DOMAIN)
            if "inheritedLabel" in active:
                active ^= {"inheritedLabel", "inheritedLabelInScope"}
        return frozenset(active)

    @property
    def matches_nothing(self) -> bool:
        """A schema (or what is not a URN) outside ``source``: no asset is in both; or a scope
        whose domains hold nothing the caller sees in the sources read (``widened``)."""
        if self.held == ():
            return True
        if self.schema is None or self.source is None:
            return False
        try:
            return Urn.parse(self.schema).source != self.source
        except InvalidUrn:
            return True

    @property
    def anchor(self) -> Anchor:
        if self.schema is not None:
            return Anchor.SCHEMA
        if self.source is not None:
            return Anchor.SOURCE
        return Anchor.LABEL if self.label is None else Anchor.CLASSIFIED

    def params(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "tableKind": KIND_MATCH[self.kind][1],
            "label": None if self.inherited_labels else self.label,
            "inheritedLabel": self.label if self.inherited_labels else None,
            "text": self.text.lower() if self.text else None,
            "removed": self.removed,
            "schema": self.schema,
            "domains": sorted(self.domains) if self.domains is not None else None,
            "sources": sorted(self.sources) if self.sources is not None else None,
            "granted": sorted(self.granted) if self.granted else None,
            "under": None if self.held is None else _holdings(self.held, self.kind),
            "heldSources": None if self.held is None else _sources_of(self.held),
        }


@dataclass(frozen=True)
class AssetSort:
    field: SortField = SortField.NAME
    descending: bool = False


class PageItem(Record):
    key: Any  # the sort key: with the URN it is the keyset cursor of this item
    node: NodeRecord


class Page(Record):
    items: list[PageItem]
    has_next: bool


# An asset is in the domains of the nearest node at or above it that domains hold (assigned to
# one, or exposed by a product of one; graph/domains.py), and which assets a held node contains
# its URN tells: the nodes held, each with its domains, say which assets a caller sees without
# a walk up from each candidate to its domains. A domain's steward counting the 488,000 columns
# of their own schema at 10^6 waited over 4 s for the walk, and 8.5 s for their first page of
# every source's columns (docs/benchmarks.md). Asked from the domains' side, their few
# ``IN_DOMAIN`` and ``EXPOSES`` edges, for one source or all.
_HOLDINGS: LiteralString = """
CALL () {
  MATCH (r:DataSource|Asset)-[:IN_DOMAIN]->(d:Domain) RETURN r, d
  UNION
  MATCH (r:DataSource|Asset)<-[:EXPOSES]-(:DataProduct)-[:IN_DOMAIN]->(d:Domain) RETURN r, d
}
WITH coalesce(r.source, r.name) AS source, r, d
WHERE $source IS NULL OR source = $source
RETURN source, r.urn AS urn, collect(DISTINCT d.name) AS domains
"""


# Each candidate tests the prefixes in turn: 64 that it does not start with cost a count of a
# 488,000-column source 1.9 s more than one, still less than the walk (docs/benchmarks.md).
MAX_PREFIXES = 64


def _prefixes(urn: str, kind: AssetKind | None) -> list[str]:
    """The URN prefixes of the assets of ``kind`` that the node ``urn`` contains: a schema's
    columns are ``urn:dw:column:<its path>/...`` (segments are percent-encoded, so ``/`` only
    ever separates them)."""
    label = KIND_MATCH[kind][0].lower()
    kinds = (label,) if label in CONTAINMENT else CONTAINMENT
    parsed = Urn.parse(urn)
    path = urn.removeprefix(f"urn:dw:{parsed.kind}:")
    below = CONTAINMENT[CONTAINMENT.index(parsed.kind) + 1 :]
    return [f"urn:dw:{k}:{path}/" for k in below if k in kinds]


def _holdings(held: tuple[tuple[str, bool], ...], kind: AssetKind | None) -> list[dict]:
    """``$under``: each node held, its depth in the containment chain (the deepest match is the
    nearest), whether the caller sees it, and the URN prefixes of what it contains."""
    return [
        {"urn": urn, "depth": _depth(urn), "seen": seen, "prefixes": _prefixes(urn, kind)}
        for urn, seen in held
    ]


def _depth(urn: str) -> int:
    return CONTAINMENT.index(Urn.parse(urn).kind)


def _sources_of(held: tuple[tuple[str, bool], ...]) -> list[str]:
    """The sources a page or count of every source reads: those with a node the caller sees."""
    return sorted({source for urn, seen in held if seen and (source := Urn.parse(urn).source)})


def _contained(urns: list[str]) -> bool:
    """Whether each of ``urns`` is of the containment chain, whose contents its URN tells (a
    placeholder dataset is not)."""
    try:
        return all(Urn.parse(urn).kind in CONTAINMENT for urn in urns)
    except InvalidUrn:
        return False


def _source_of(where: AssetFilter) -> str | None:
    if where.source is not None or where.schema is None:
        return where.source
    try:
        return Urn.parse(where.schema).source
    except InvalidUrn:
        return None


async def widened(driver: AsyncDriver, database: str, where: AssetFilter) -> AssetFilter:
    """``where`` with the caller's scope in a form read without a walk per candidate: none
    when the caller holds the whole of the filter's source and no other domain any of it,
    else the nodes domains hold in the sources read (``held``, ``_HOLDINGS``; none when the
    caller sees none of them, which reads nothing); the same assets either way. A label
    inherited along lineage keeps the scope (its path may cross sources), and so do grants
    unless the whole source is seen (they may reach beyond what is held)."""
    if where.domains is None and where.sources is None:
        return where
    if where.inherited_labels or where.matches_nothing:
        return where
    source = _source_of(where)
    if where.schema is not None and source is None:  # not a URN: matches nothing anyway
        return where
    if source is not None and where.sources is not None and source not in where.sources:
        return where
    if where.domains is None:  # a scope by source alone, or every source it holds
        if source is not None:
            return replace(where, sources=None, granted=None)
        held = {source_urn(name): True for name in where.sources or ()}
    else:
        rows = await read_values(driver, database, _HOLDINGS, source=source)
        mine = where.domains
        held = {r["urn"]: set(r["domains"]) <= mine for r in rows}
        read = {r["source"] for r in rows if held[r["urn"]]}
        if where.sources is not None:
            read &= where.sources
        held = {r["urn"]: held[r["urn"]] for r in rows if r["source"] in read}
        if not _contained(list(held)):
            return where
        if source is not None and all(held.values()) and held.get(source_urn(source)):
            return replace(where, domains=None, sources=None, granted=None)
    if where.granted:
        return where  # grants may reach beyond what is held
    if sum(len(_prefixes(urn, where.kind)) for urn in held) > MAX_PREFIXES:
        return where
    return replace(where, domains=None, sources=None, held=tuple(sorted(held.items())))


async def page_assets(
    driver: AsyncDriver,
    database: str,
    where: AssetFilter,
    sort: AssetSort,
    first: int,
    after: tuple[Any, str] | None = None,
) -> Page:
    """Up to ``first`` assets after the keyset position ``after`` = (sort key, URN)."""
    where = await widened(driver, database, where)
    if where.matches_nothing:
        return Page(items=[], has_next=False)
    if not splits_by_kind(where):
        return await _page_of_kind(driver, database, where, sort, first, after)
    pages = await asyncio.gather(
        *(
            _page_of_kind(driver, database, replace(where, kind=kind), sort, first, after)
            for kind in EVERY_KIND
        )
    )
    items = sorted(
        (item for page in pages for item in page.items),
        # Cypher orders stored text by code point, as Python does (a parameter by UTF-16
        # code unit: an emoji before U+E000; the keys here are stored values).
        key=lambda item: (item.key, item.node.urn),
        reverse=sort.descending,
    )
    return Page(items=items[:first], has_next=len(items) > first or any(p.has_next for p in pages))


async def _page_of_kind(
    driver: AsyncDriver,
    database: str,
    where: AssetFilter,
    sort: AssetSort,
    first: int,
    after: tuple[Any, str] | None,
) -> Page:
    label = KIND_MATCH[where.kind][0]
    params = {
        **where.params(),
        "after": list(after) if after else None,
        "limit": first + 1,  # one more tells whether a next page exists
    }
    resumes = after is not None
    if merges_sources(label, where, sort):
        query = merged_page_query(label, where.active, sort.descending, resumes)
        return _page(await read_list(driver, database, query, **params), first)
    if scans_first(label, where, sort):
        query = budgeted_page_query(label, where.anchor, where.active, sort.descending, resumes)
        [scan] = await read_values(driver, database, query, **params, budget=SCAN_BUDGET)
        if len(scan["rows"]) > first or scan["scanned"] < SCAN_BUDGET:
            return _page(scan["rows"], first)
    query = page_query(label, where.anchor, where.active, sort.field, sort.descending, resumes)
    return _page(await read_list(driver, database, query, **params), first)


def _page(rows: list[Record], first: int) -> Page:
    items = [{"key": r["key"], "node": node_fields(r)} for r in rows[:first]]
    return Page.model_validate({"items": items, "has_next": len(rows) > first})


async def count_assets(driver: AsyncDriver, database: str, where: AssetFilter) -> int:
    where = await widened(driver, database, where)
    if where.matches_nothing:
        return 0
    kinds = EVERY_KIND if splits_by_kind(where) else (where.kind,)
    return sum(
        await asyncio.gather(
            *(_count_of_kind(driver, database, replace(where, kind=kind)) for kind in kinds)
        )
    )


async def _count_of_kind(driver: AsyncDriver, database: str, where: AssetFilter) -> int:
    label = KIND_MATCH[where.kind][0]
    if where.active == {"removed"} and merges_sources(label, where, AssetSort()):
        query = every_source_count_query(label)
    else:
        query = count_query(label, where.anchor, where.active)
    return (await read(driver, database, query, **where.params()))[0]["total"]
