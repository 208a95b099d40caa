"""What the MySQL/MariaDB and PostgreSQL connectors share.

Each engine returns its catalog as engine-neutral rows (one bulk query per kind of object and
database, not per table, so thousands of tables cost a handful of queries); this module builds
the tables from them, traces view lineage, and runs the per-table bounded reads:

* profile: ``SELECT <columns> FROM t [TABLESAMPLE] LIMIT profile_rows``, long texts cut to
  ``MAX_VALUE_CHARS`` in SQL and binary columns never read (only whether they are null);
* row count: if the profile read fewer rows than asked, that is the exact count; else
  ``SELECT COUNT(*) FROM (SELECT 1 FROM t LIMIT exact_count_limit + 1)``, exact up to the
  limit; above it, the catalog's estimate (``row_count_exact`` false). See ``ROW_COUNT_TOLERANCE``.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from core.events import ColumnInfo, ForeignKey, Index, LineageEdge, TableDiscovered
from core.urns import schema_urn, table_urn
from ingest.connectors.base import Connector, Failure, bounded_count
from ingest.connectors.profiling import MAX_VALUE_CHARS, profile_values
from ingest.sql_lineage import Dialect, LineageError, TableName, view_lineage

# Estimated counts come from the engines' statistics (InnoDB TABLE_ROWS, pg_class.reltuples)
# and are only used above ``exact_count_limit`` rows. After the engine refreshed its statistics
# (ANALYZE, autovacuum, InnoDB's 10 % change trigger) they are within this relative error;
# InnoDB's page sampling is the loosest of the two.
ROW_COUNT_TOLERANCE = 0.5
# How long past the server's own statement timeout a read may take before it is abandoned.
GRACE_S = 2.0


class TableRow(NamedTuple):
    schema: str
    name: str
    kind: Literal["table", "view"]
    row_estimate: int | None
    size_bytes: int | None
    description: str | None
    view_sql: str | None


class ColumnRow(NamedTuple):
    schema: str
    table: str
    name: str
    data_type: str
    nullable: bool
    default: str | None
    ordinal: int


class KeyRow(NamedTuple):
    """A primary key, foreign key or index, its columns in key order."""

    schema: str
    table: str
    name: str
    kind: Literal["primary", "foreign", "index", "unique"]
    columns: list[str]
    ref_schema: str | None = None
    ref_table: str | None = None
    ref_columns: list[str] | None = None


@dataclass(frozen=True)
class Catalog:
    """One database's catalog; ``schemas`` includes empty ones (their tables were dropped)."""

    schemas: list[str]
    tables: list[TableRow]
    columns: list[ColumnRow]
    keys: list[KeyRow]


@dataclass
class TableSpec:
    """A table as listed from the catalog, before its bounded reads."""

    row: TableRow
    columns: list[ColumnInfo] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    lineage: list[LineageEdge] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.row.name


class SqlConnector(Connector[TableSpec]):
    """The listing and bounded reads of a relational engine; subclasses supply the SQL."""

    dialect: Dialect

    @abstractmethod
    async def _catalog(self, database: str) -> Catalog:
        """The database's catalog rows, ordered by schema, table and ordinal."""

    @abstractmethod
    async def _rows(self, database: str, sql: str, *args: Any) -> list[Sequence[Any]]:
        """Run one query in the database, within the configured timeout."""

    @abstractmethod
    async def _timed(
        self, database: str, schema: str, sql: str, timeout_s: float
    ) -> list[Sequence[Any]]:
        """Run ``sql`` with ``schema`` as its default, stopped by the server after ``timeout_s``."""

    async def read_only(
        self, database: str, schema: str, sql: str, timeout_s: float
    ) -> list[Sequence[Any]]:
        """The rows of one statement the caller checked to be a single read-only query (the
        data mesh's SQL quality rules, mesh/sql_checks.py) in the connector's read-only
        session, under the operator's access policy, stopped after ``timeout_s``."""
        await self.admit()
        async with self._opened(database), asyncio.timeout(timeout_s + GRACE_S):
            return await self._timed(database, schema, sql, timeout_s)

    @abstractmethod
    def _quote(self, name: str) -> str: ...

    @abstractmethod
    def _relation(self, database: str, schema: str, table: str) -> str:
        """The quoted name a query in ``database`` uses for the table."""

    @abstractmethod
    def _value_expr(self, column: ColumnInfo) -> str:
        """The profiled form of a column: itself, its text cut to ``MAX_VALUE_CHARS``, or an
        empty binary literal when not null (binary content is never read)."""

    def _sample_clause(self, spec: TableSpec) -> str:
        """A TABLESAMPLE clause for large tables, where the engine has one."""
        return ""

    def _cut(self, expr: str) -> str:
        return f"LEFT({expr}, {MAX_VALUE_CHARS})"

    async def _listing(self, database: str) -> dict[str, list[TableSpec]]:
        catalog = await self._catalog(database)
        specs = {(r.schema, r.name): TableSpec(r) for r in catalog.tables}
        for c in catalog.columns:
            spec = specs.get((c.schema, c.table))
            if spec is not None:
                spec.columns.append(
                    ColumnInfo(
                        name=c.name,
                        data_type=c.data_type,
                        nullable=c.nullable,
                        default=c.default,
                        ordinal=c.ordinal,
                    )
                )
        for key in catalog.keys:
            spec = specs.get((key.schema, key.table))
            if spec is not None:
                self._add_key(spec, database, key)
        names = {
            TableName(database, schema, table): [c.name for c in spec.columns]
            for (schema, table), spec in specs.items()
        }
        for (schema, _), spec in specs.items():
            if spec.row.view_sql:
                spec.lineage = self._lineage(database, schema, spec, names)
        listing: dict[str, list[TableSpec]] = {s: [] for s in catalog.schemas}
        for (schema, _), spec in specs.items():
            listing.setdefault(schema, []).append(spec)
        return listing

    def _add_key(self, spec: TableSpec, database: str, key: KeyRow) -> None:
        if key.kind == "primary":
            spec.primary_key = key.columns
        if key.kind == "foreign" and key.ref_schema and key.ref_table:
            ref_db = key.ref_schema if self.dialect == "mysql" else database
            spec.foreign_keys.append(
                ForeignKey(
                    name=key.name,
                    columns=key.columns,
                    ref_table_urn=table_urn(
                        self.config.name, ref_db, key.ref_schema, key.ref_table
                    ),
                    ref_columns=key.ref_columns or [],
                )
            )
        if key.kind in ("primary", "index", "unique"):
            spec.indexes.append(
                Index(name=key.name, columns=key.columns, unique=key.kind != "index")
            )

    def _lineage(
        self,
        database: str,
        schema: str,
        spec: TableSpec,
        catalog: dict[TableName, list[str]],
    ) -> list[LineageEdge]:
        try:
            return view_lineage(
                spec.row.view_sql or "",
                dialect=self.dialect,
                source=self.config.name,
                view=TableName(database, schema, spec.name),
                view_columns=[c.name for c in spec.columns],
                catalog=catalog,
            )
        except LineageError as err:
            self.report.failures.append(f"lineage of {database}.{schema}.{spec.name}: {err}")
            return []

    def _unreadable(self, err: Exception) -> bool:
        """Whether ``err`` is the source refusing to read this one object (no privilege, a
        view whose definer is gone, a materialized view never refreshed) while it answers."""
        return False

    async def _describe(self, database: str, schema: str, spec: TableSpec) -> TableDiscovered:
        try:
            columns, row_count, exact = await self._read(database, schema, spec)
        except self.source_errors as err:
            if not self._unreadable(err):
                raise
            # The catalog described it: its columns, keys and lineage stay in the graph.
            what = f"table {database}.{schema}.{spec.name}: catalogued unprofiled"
            self.warn(what, err, Failure.UNREADABLE)
            columns, row_count, exact = spec.columns, None, False
        row = spec.row
        return TableDiscovered(
            name=row.name,
            kind=row.kind,
            schema_urn=schema_urn(self.config.name, database, schema),
            row_count=row_count,
            row_count_exact=exact,
            size_bytes=row.size_bytes,
            description=row.description,
            view_sql=row.view_sql,
            columns=columns,
            primary_key=spec.primary_key,
            foreign_keys=spec.foreign_keys,
            indexes=spec.indexes,
            lineage=spec.lineage,
        )

    async def _read(
        self, database: str, schema: str, spec: TableSpec
    ) -> tuple[list[ColumnInfo], int | None, bool]:
        """The bounded reads: the columns profiled, and the row count with its exactness."""
        relation = self._relation(database, schema, spec.name)
        sampled = self._sample_clause(spec)
        columns = spec.columns
        rows: list[Sequence[Any]] = []
        if columns:
            select = ", ".join(self._value_expr(c) for c in columns)
            rows = await self._rows(
                database,
                f"SELECT {select} FROM {relation} {sampled} LIMIT {self.config.profile_rows}",
            )
            columns = [self._profiled(c, [r[i] for r in rows]) for i, c in enumerate(columns)]
        row_count, exact = await self._row_count(database, relation, spec, len(rows), sampled)
        return columns, row_count, exact

    def _profiled(self, column: ColumnInfo, values: list[Any]) -> ColumnInfo:
        present = [v for v in values if v is not None]
        profile, samples = profile_values(
            present, len(values), len(present), self.config.sample_size
        )
        return column.model_copy(update={"profile": profile, "samples": samples})

    async def _row_count(
        self, database: str, relation: str, spec: TableSpec, read: int, sampled: str
    ) -> tuple[int | None, bool]:
        cfg = self.config
        if spec.columns and read < cfg.profile_rows and not sampled:
            return read, True
        if spec.row.kind == "view":
            return None, False  # counting a view runs its query: not a bounded read

        async def count_upto(limit: int) -> int:
            bounded = f"SELECT COUNT(*) FROM (SELECT 1 FROM {relation} LIMIT {limit}) s"
            return int((await self._rows(database, bounded))[0][0])

        return await bounded_count(cfg.exact_count_limit, count_upto, spec.row.row_estimate)
