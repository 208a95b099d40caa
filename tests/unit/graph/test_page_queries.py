"""A page query holds only the conditions its filter sets and starts where the filter points:
one query with every condition optional took Neo4j's planner seconds, and a page of one
source scanned every column (docs/benchmarks.md, GraphQL)."""

from __future__ import annotations

from typing import LiteralString

import pytest

from core.urns import column_urn, schema_urn, source_urn, table_urn
from graph.catalog import (
    BY_DOMAIN,
    EVERY_KIND,
    KIND_MATCH,
    Anchor,
    AssetFilter,
    AssetKind,
    AssetSort,
    SortField,
    budgeted_page_query,
    count_query,
    every_source_count_query,
    merged_page_query,
    merges_sources,
    page_query,
    scans_first,
    splits_by_kind,
)


def query_of(where: AssetFilter) -> str:
    return page_query("Column", where.anchor, where.active, SortField.NAME, False)


def test_a_source_page_seeks_the_source_and_holds_no_optional_conditions() -> None:
    where = AssetFilter(source="crm", kind=AssetKind.COLUMN)
    assert (where.anchor, where.active) == (Anchor.SOURCE, frozenset({"source", "removed"}))
    query = query_of(where)
    assert query.startswith(
        "MATCH (a:Column)\nWHERE a.source = $source AND NOT a:Unresolved\n"
        "  AND a.name IS NOT NULL\n  AND a.urn IS NOT NULL\n"
    ), "seeks the index on (source, name, urn)"
    assert "IS NULL OR" not in query.replace("$after IS NULL OR", ""), "only the cursor's"
    assert "dwDomain" not in query and "$granted" not in query, (
        "no scope for an unrestricted caller"
    )


def test_a_scoped_caller_gets_the_scope_and_grants_in_the_query() -> None:
    where = AssetFilter(domains=frozenset({"sales"}), granted=frozenset({"urn:x"}))
    assert (where.anchor, where.active) == (
        Anchor.LABEL,
        frozenset({"removed", "scope", BY_DOMAIN}),
    )
    query = query_of(where)
    assert query.startswith("MATCH (a:Column)\n")
    assert "$domains" in query and "$granted" in query
    # Columns take their domains from one walk up their table; tables walk up themselves.
    assert "WITH dwTable, collect([a]) AS dwRows" in query
    assert "count(a)" in count_query("Column", where.anchor, where.active)
    tables = page_query("Table", where.anchor, where.active, SortField.NAME, False)
    assert "dwTable" not in tables and "$domains" in tables
    by_source = AssetFilter(sources=frozenset({"crm"}))
    assert BY_DOMAIN not in by_source.active and "dwTable" not in query_of(by_source)


def test_a_schema_page_seeks_the_schema_index_and_counts_alike() -> None:
    schema = schema_urn("crm", "db", "public")
    where = AssetFilter(schema=schema, source="crm", label="PII", text="mail", removed=None)
    assert where.anchor is Anchor.SCHEMA
    assert where.active == frozenset({"source", "label", "text"})
    count = count_query("Table", where.anchor, where.active)
    assert count.startswith("MATCH (a:Table)\nWHERE a.schemaUrn = $schema\n")
    assert count.endswith("RETURN count(a) AS total\n")
    assert "removedAt" not in count, "removed: null matches both"
    # Only scanned tables of the schema's own source carry its URN: neither is tested per table.
    assert "Unresolved" not in count and "a.source" not in count
    assert count_query("Asset", where.anchor, where.active) == count, "a schema holds tables"
    assert not where.matches_nothing


@pytest.mark.parametrize(
    ("schema", "source", "nothing"),
    [
        (schema_urn("crm", "db", "public"), "crm", False),
        (schema_urn("crm", "db", "public"), None, False),
        (schema_urn("erp", "db", "public"), "crm", True),
        ("not a urn", "crm", True),
        (None, "crm", False),
    ],
)
def test_a_schema_of_another_source_matches_nothing(
    schema: str | None, source: str | None, nothing: bool
) -> None:
    assert AssetFilter(schema=schema, source=source).matches_nothing is nothing


@pytest.mark.parametrize(
    ("label", "where", "first_property"),
    [
        ("Table", AssetFilter(schema="urn:s", kind=AssetKind.TABLE), "a.schemaUrn"),
        ("Table", AssetFilter(source="crm", kind=AssetKind.TABLE), "a.source"),
        ("Column", AssetFilter(source="crm", kind=AssetKind.COLUMN), "a.source"),
    ],
)
def test_a_page_by_name_is_read_in_the_index_order_from_its_cursor(
    label: LiteralString, where: AssetFilter, first_property: str
) -> None:
    for desc, cmp, order in ((False, ">", "ASC"), (True, "<", "DESC")):
        first = page_query(label, where.anchor, where.active, SortField.NAME, desc)
        assert "AND a.name IS NOT NULL\n" in first
        assert f"ORDER BY {first_property} {order}, a.name {order}, a.urn {order} LIMIT" in first
        resumed = page_query(label, where.anchor, where.active, SortField.NAME, desc, True)
        assert f"AND a.name {cmp}= $after[0]\n" in resumed, "seeks past the cursor"
    by_size = page_query(label, where.anchor, where.active, SortField.SIZE_BYTES, False)
    assert "ORDER BY key ASC, a.urn ASC" in by_size
    assert f"{first_property} = ${where.anchor.value}" in by_size
    # A source has only the index on (source, name, urn); a schema's count and other orders seek
    # (schemaUrn, kind), which visits the tables in store order.
    assert ("a.name IS NOT NULL" in by_size) is (where.anchor is Anchor.SOURCE)


def test_a_label_filter_counts_inherited_labels_only_when_asked() -> None:
    own = AssetFilter(label="PII.Email")
    inherited = AssetFilter(label="PII.Email", inherited_labels=True)
    assert "label" in own.active and "inheritedLabel" not in own.active
    assert "inheritedLabel" in inherited.active and "label" not in inherited.active
    assert "LABELED|INHERITS" in query_of(inherited)
    assert "INHERITS" not in query_of(own)
    assert inherited.params()["inheritedLabel"] == "PII.Email"


def test_a_scoped_caller_counts_an_inherited_label_only_along_a_path_in_scope() -> None:
    scoped = AssetFilter(label="PII", inherited_labels=True, sources=frozenset({"crm"}))
    assert {"inheritedLabelInScope", "scope"} <= scoped.active
    assert "inheritedLabel" not in scoped.active
    assert "dwOn.urn IN l.path" in query_of(scoped)
    unscoped = AssetFilter(label="PII", inherited_labels=True)
    assert "l.path" not in query_of(unscoped), "an unrestricted caller's plan stays small"


def test_pages_with_conditions_that_may_keep_few_rows_scan_the_name_index_first() -> None:
    column, table = "Column", "Table"
    source = {"source": "crm", "kind": AssetKind.COLUMN}
    name, size = AssetSort(), AssetSort(field=SortField.SIZE_BYTES)
    assert scans_first(column, AssetFilter(**source, text="mail"), name)
    assert scans_first(column, AssetFilter(**source, domains=frozenset({"sales"})), name)
    assert scans_first(column, AssetFilter(**source, label="PII"), name)
    assert scans_first(table, AssetFilter(schema="urn:s", text="ord"), name)
    assert not scans_first(column, AssetFilter(**source), name), "the index's order is the page"
    assert not scans_first(column, AssetFilter(**source, sources=frozenset({"crm"})), name)
    assert not scans_first(column, AssetFilter(**source, text="mail"), size), "no index order"
    assert not scans_first(column, AssetFilter(text="mail"), name), "no anchor with an index"
    where = AssetFilter(**source, text="mail", domains=frozenset({"sales"}))
    query = budgeted_page_query(column, where.anchor, where.active, False, False)
    guard, rest = query.split("AS dwSource\n}\n")  # whether the domains reach the source
    scan, kept = rest.split("WITH collect(a) AS dwScan")
    assert "$domains" in guard and "MATCH (a" not in guard
    assert "LIMIT $budget" in scan and "$text" not in scan and "$domains" not in scan
    assert "$text" in kept and "$domains" in kept and "dwTable" not in kept


@pytest.mark.parametrize("kind", [AssetKind.TABLE, None])
@pytest.mark.parametrize("removed", [False, True, None])
def test_a_schemas_plain_count_reads_indexes_only(
    kind: AssetKind | None, removed: bool | None
) -> None:
    where = AssetFilter(schema=schema_urn("crm", "db", "public"), kind=kind, removed=removed)
    label = "Table" if kind else "Asset"
    count = count_query(label, where.anchor, where.active)
    assert "USING INDEX a:Table(schemaUrn, removedAt)" in count
    assert ("a.kind = $tableKind" in count) is (kind is not None)
    assert ("every - gone" in count) is (removed is not None)
    # With a condition the indexes do not hold, each table is read.
    labelled = AssetFilter(schema=where.schema, kind=kind, label="PII")
    assert "removedAt)" not in count_query(label, labelled.anchor, labelled.active)


def test_a_text_count_of_a_source_seeks_the_text_index_not_the_name_order() -> None:
    text = AssetFilter(source="crm", kind=AssetKind.COLUMN, text="mail")
    assert "a.urn IS NOT NULL" not in count_query("Column", text.anchor, text.active)
    whole = AssetFilter(source="crm", kind=AssetKind.COLUMN)
    assert "a.urn IS NOT NULL" in count_query("Column", whole.anchor, whole.active)


def test_a_domain_restricted_page_of_a_source_first_asks_whether_its_domains_reach_it() -> None:
    guard = "AS dwSource\n}\n"
    steward = AssetFilter(source="crm", kind=AssetKind.COLUMN, domains=frozenset({"sales"}))
    name = SortField.NAME
    assert page_query("Column", steward.anchor, steward.active, name, False).startswith("CALL")
    assert guard in count_query("Column", steward.anchor, steward.active)
    budgeted = budgeted_page_query("Column", steward.anchor, steward.active, False, False)
    assert guard in budgeted
    # The index is sought with the guard's answer (null when the domains do not reach the
    # source: nothing is read), not with the source itself as well.
    for query in (budgeted, count_query("Column", steward.anchor, steward.active)):
        assert "a.source = dwSource" in query and "$source AND" not in query.split(guard)[1]
    # Nothing to guard: no domain restriction, or no one source.
    for where in (
        AssetFilter(source="crm", kind=AssetKind.COLUMN),
        AssetFilter(source="crm", kind=AssetKind.COLUMN, sources=frozenset({"crm"})),
        AssetFilter(kind=AssetKind.COLUMN, domains=frozenset({"sales"})),
    ):
        assert guard not in page_query("Column", where.anchor, where.active, name, False)
        assert guard not in count_query("Column", where.anchor, where.active)


def test_what_held_nodes_contain_is_told_by_their_urns_alone() -> None:
    """A scope read from the nodes domains hold (``catalog.widened``) finds the nearest one at
    or above each asset by URN prefix; a segment's ``/`` is encoded, so a table's prefix never
    matches a namesake's with more after it."""
    public = schema_urn("crm", "db", "public")
    orders = table_urn("crm", "db", "public", "orders")

    def under(held: str, kind: AssetKind | None) -> list[str]:
        where = AssetFilter(source="crm", kind=kind, held=((held, True),))
        [holding] = where.params()["under"]
        return holding["prefixes"]

    assert under(public, AssetKind.COLUMN) == ["urn:dw:column:crm/db/public/"]
    assert under(public, None) == ["urn:dw:table:crm/db/public/", "urn:dw:column:crm/db/public/"]
    assert under(orders, AssetKind.VIEW) == [], "a table contains no table"
    [prefix] = under(orders, AssetKind.COLUMN)
    assert column_urn(orders, "id").startswith(prefix)
    assert not column_urn(table_urn("crm", "db", "public", "orders/x"), "id").startswith(prefix)
    # The nearest holding decides: each carries its depth and whether the caller sees it.
    where = AssetFilter(source="crm", kind=AssetKind.COLUMN, held=((orders, False), (public, True)))
    assert "under" in where.active and "scope" not in where.active
    assert [(h["urn"], h["depth"], h["seen"]) for h in where.params()["under"]] == [
        (orders, 3, False),
        (public, 2, True),
    ]
    # Without a source, pages and counts read the sources with a holding the caller sees.
    everywhere = AssetFilter(
        kind=AssetKind.COLUMN,
        held=((orders, True), (source_urn("web"), True), (source_urn("hr"), False)),
    )
    assert everywhere.params()["heldSources"] == ["crm", "web"]
    assert merges_sources("Column", everywhere, AssetSort())
    for query in (
        merged_page_query("Column", everywhere.active, False, False),
        count_query("Column", everywhere.anchor, everywhere.active),
    ):
        assert query.startswith("UNWIND $heldSources AS dwSource\nCALL (dwSource) {\n")
        assert "WHERE a.source = dwSource" in query and ":DataSource" not in query


def test_a_page_of_every_sources_live_assets_seeks_each_sources_name_order() -> None:
    where = AssetFilter(kind=AssetKind.TABLE)
    assert merges_sources("Table", where, AssetSort())
    query = merged_page_query("Table", where.active, False, True)
    assert "WHERE a.source = dwSource AND NOT a:Unresolved\n  AND a.name >= $after[0]\n" in query
    assert "$source" not in query
    assert "a.kind = $tableKind" in query, "the kind still filters each source's assets"
    # Not for removed assets, other orders, or conditions that may keep few of the rows.
    for other, sort in (
        (AssetFilter(kind=AssetKind.TABLE, removed=None), AssetSort()),
        (where, AssetSort(field=SortField.ROW_COUNT)),
        (AssetFilter(kind=AssetKind.TABLE, text="id"), AssetSort()),
        (AssetFilter(kind=AssetKind.TABLE, domains=frozenset({"d"})), AssetSort()),
    ):
        assert not merges_sources("Table", other, sort)


def test_a_page_by_label_of_no_source_starts_from_the_label() -> None:
    for where, edges in (
        (AssetFilter(label="PII"), "LABELED"),
        (AssetFilter(label="PII", inherited_labels=True), "LABELED|INHERITS"),
    ):
        assert where.anchor is Anchor.CLASSIFIED
        for query in (query_of(where), count_query("Column", where.anchor, where.active)):
            assert query.startswith("MATCH (dwLabel:Label) WHERE dwLabel.name = $")
            assert (
                f"MATCH (dwLabel)<-[:{edges}]-(:Asset)<-[:HAS_COLUMN]-{{0,1}}(a:Column)\n"
                "WITH DISTINCT a\nWHERE NOT a:Unresolved\n"
            ) in query
    assert AssetFilter(label="PII", source="crm").anchor is Anchor.SOURCE, "the source's index"


def test_a_page_of_every_kind_is_read_kind_by_kind() -> None:
    assert all(
        splits_by_kind(where)
        for where in (AssetFilter(), AssetFilter(source="crm"), AssetFilter(label="PII"))
    )
    assert not splits_by_kind(AssetFilter(kind=AssetKind.COLUMN))
    assert not splits_by_kind(AssetFilter(schema=schema_urn("crm", "db", "public")))
    assert {KIND_MATCH[kind] for kind in EVERY_KIND} == {
        ("Column", None), ("Table", None), ("Schema", None), ("Database", None),
    }, "every label an asset page lists, every kind of table"  # fmt: skip


@pytest.mark.parametrize("removed", [False, True, None])
def test_a_sources_plain_count_reads_indexes_only(removed: bool | None) -> None:
    where = AssetFilter(source="crm", kind=AssetKind.COLUMN, removed=removed)
    count = count_query("Column", where.anchor, where.active)
    assert "WHERE a.source = $source AND a.name IS NOT NULL AND a.urn IS NOT NULL\n" in count
    assert "USING INDEX a:Column(source, removedAt)" in count
    assert "MATCH (a:Unresolved) WHERE a:Column AND a.source = $source" in count
    assert "CASE $removed" in count if removed is not None else "indexed - placeholders AS" in count
    every = every_source_count_query("Table")
    assert every.startswith("CALL () {\n  MATCH (dwDataSource:DataSource)\n")
    assert "CALL (dwSource) {\n  MATCH (a:Table) USING INDEX a:Table(source, removedAt)" in every
    # With a condition the indexes do not hold, each column is read.
    labelled = AssetFilter(source="crm", kind=AssetKind.COLUMN, label="PII")
    assert "removedAt)" not in count_query("Column", labelled.anchor, labelled.active)
