"""Table- and column-level lineage of a SQL view, parsed with sqlglot.

The view's SELECT is qualified against the columns of the database's tables, so unqualified
columns in joins resolve to their table; every output column is then traced back through
CTEs and subqueries to the physical columns it is computed from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

from core.events import LineageEdge
from core.urns import column_urn, table_urn

log = logging.getLogger(__name__)

Dialect = Literal["mysql", "postgres"]


class LineageError(ValueError):
    """The view's SQL cannot be parsed; the message says why."""


@dataclass(frozen=True, order=True)
class TableName:
    """A table's place; MySQL has no schema level, so there ``schema == database``."""

    database: str
    schema: str
    table: str


def view_lineage(
    sql: str,
    *,
    dialect: Dialect,
    source: str,
    view: TableName,
    view_columns: Sequence[str],
    catalog: Mapping[TableName, Sequence[str]],
) -> list[LineageEdge]:
    """Edges upstream table -> view and upstream column -> view column, deduplicated.

    ``catalog`` holds the columns of the tables (and views) the SQL may read; a table missing
    from it still gets a table edge, its columns only when the SQL names them qualified.
    Column edges are skipped (and logged) when sqlglot cannot trace the projections.
    """
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except SqlglotError as err:
        raise LineageError(f"cannot parse the SQL of {view.table}: {err}") from err
    schema = _schema(_read_by(tree, catalog), dialect)
    _alias_tables_as_named(tree)
    defaults = {"db": view.schema} if dialect == "mysql" else {"catalog": view.database}
    try:
        qualified = qualify(
            tree,
            dialect=dialect,
            schema=schema,
            validate_qualify_columns=False,
            identify=False,
            **defaults,
        )
    except SqlglotError as err:
        raise LineageError(f"cannot qualify the SQL of {view.table}: {err}") from err

    def urn(table: exp.Table) -> str:
        name = _table_name(table, view, dialect)
        return table_urn(source, name.database, name.schema, name.table)

    view_urn = urn(exp.table_(view.table, db=view.schema, catalog=view.database))
    edges = [LineageEdge(upstream_urn=urn(t), downstream_urn=view_urn) for t in _tables(qualified)]
    try:
        outputs = lineage(None, qualified, schema=schema, dialect=dialect)
    except (SqlglotError, ValueError) as err:
        log.warning("column lineage of %s skipped: %s", view.table, err)
        outputs = {}
    targets = _targets(list(outputs), view_columns)
    for output, node in outputs.items():
        if output not in targets:
            continue
        downstream = column_urn(view_urn, targets[output])
        for leaf in node.walk():
            if not isinstance(leaf.expression, exp.Table):
                continue
            column = exp.to_column(leaf.name).name
            if column != "*":  # an unexpanded star of a table missing from the catalog
                upstream = column_urn(urn(leaf.expression), column)
                edges.append(LineageEdge(upstream_urn=upstream, downstream_urn=downstream))
    return list(dict.fromkeys(edges))


def _read_by(
    tree: exp.Expression, catalog: Mapping[TableName, Sequence[str]]
) -> dict[TableName, Sequence[str]]:
    """The part of ``catalog`` whose table names the SQL mentions (in any case, under any
    schema: more than it reads is harmless). A view's schema holds only those: built from the
    whole database for every view, a scan of 12,000 tables and 1,000 views was quadratic
    (docs/benchmarks.md, a million columns)."""
    named = {table.name.casefold() for table in tree.find_all(exp.Table)}
    return {name: columns for name, columns in catalog.items() if name.table.casefold() in named}


def _schema(catalog: Mapping[TableName, Sequence[str]], dialect: Dialect) -> MappingSchema:
    """sqlglot's nested mapping; names are kept as the catalog spells them."""
    nested: dict[str, dict] = {}
    for name, columns in catalog.items():
        path = [name.schema] if dialect == "mysql" else [name.database, name.schema]
        level = nested
        for part in path:
            level = level.setdefault(part, {})
        level[name.table] = dict.fromkeys(columns, "unknown")
    return MappingSchema(nested, dialect=dialect, normalize=False)


def _alias_tables_as_named(tree: exp.Expression) -> None:
    """Give each table read without an alias its own name, as written, for one. qualify()
    would alias ``"KundenMixed"`` as ``kundenmixed`` (normalized) while the columns stay
    qualified ``"KundenMixed".id``, as PostgreSQL prints every view: sqlglot then traced no
    column of a quoted mixed-case table."""
    for table in tree.find_all(exp.Table):
        if not table.alias and isinstance(table.this, exp.Identifier):
            table.set("alias", exp.TableAlias(this=table.this.copy()))


def _tables(tree: exp.Expression) -> list[exp.Table]:
    """Physical tables read anywhere in the query (CTE names excluded)."""
    root = build_scope(tree)
    if root is None:
        return []
    found = [
        source
        for scope in root.traverse()
        for source in scope.sources.values()
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)
    ]
    return sorted(found, key=lambda t: (t.catalog, t.db, t.name))


def _table_name(table: exp.Table, view: TableName, dialect: Dialect) -> TableName:
    if dialect == "mysql":
        database = table.db or view.database
        return TableName(database, database, table.name)
    return TableName(table.catalog or view.database, table.db or view.schema, table.name)


def _targets(outputs: list[str], view_columns: Sequence[str]) -> dict[str, str]:
    """Map the SELECT's output names to the view's columns: by position when the counts
    agree (``CREATE VIEW v (a, b) AS ...`` renames), else by name."""
    if len(outputs) == len(view_columns):
        return dict(zip(outputs, view_columns, strict=True))
    return {o: o for o in outputs if o in set(view_columns)}
