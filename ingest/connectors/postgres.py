"""PostgreSQL through asyncpg: pg_catalog for the catalog, one pool per database being scanned.

A connection reaches one database only, so the pool (``pool_size`` connections) is opened for
the database being scanned and closed after it: a source never holds more than that. Sessions
are read-only, and ``search_path`` is ``pg_catalog`` so that ``pg_get_viewdef`` writes every
table schema-qualified, which view lineage relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg

from core.events import ColumnInfo
from ingest.connectors.base import ConnectorError, Failure, ServerInfo, registry
from ingest.connectors.sql import Catalog, ColumnRow, KeyRow, SqlConnector, TableRow, TableSpec

# Types profiled as themselves; every other type is profiled as (cut) text, bytea not at all.
NATIVE_TYPES = frozenset(
    {
        "smallint", "integer", "bigint", "numeric", "real", "double precision", "boolean",
        "date", "timestamp without time zone", "timestamp with time zone",
        "time without time zone", "interval",
    }
)  # fmt: skip
SAMPLE_ABOVE = 10  # TABLESAMPLE tables estimated above this many times profile_rows
# What the server answers for one object it lists but will not read: no SELECT privilege, a
# materialized view never refreshed (WITH NO DATA), a foreign table whose wrapper fails.
UNREADABLE = (
    asyncpg.InsufficientPrivilegeError,
    asyncpg.ObjectNotInPrerequisiteStateError,
    asyncpg.FDWError,
)
# A login the server refused: a wrong password, no such role, no pg_hba.conf entry for it.
AUTHENTICATION = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
RELATIONS = "c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition"

DATABASES = """
SELECT datname, datallowconn FROM pg_database WHERE NOT datistemplate ORDER BY datname"""
COUNTS = f"""
SELECT (SELECT count(*) FROM pg_namespace n WHERE {USER_SCHEMAS}) AS schemas,
       count(*) FILTER (WHERE c.relkind IN ('r', 'p', 'f')) AS tables,
       count(*) FILTER (WHERE c.relkind IN ('v', 'm')) AS views
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {RELATIONS} AND {USER_SCHEMAS}"""
SCHEMAS = f"SELECT n.nspname FROM pg_namespace n WHERE {USER_SCHEMAS} ORDER BY 1"
TABLES = f"""
SELECT n.nspname, c.relname,
       CASE WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'table' END,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
       CASE WHEN c.relkind IN ('r', 'm') THEN pg_total_relation_size(c.oid) END,
       obj_description(c.oid, 'pg_class'),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {RELATIONS} AND {USER_SCHEMAS}
ORDER BY 1, 2"""
COLUMNS = f"""
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, a.attnum
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND {RELATIONS} AND {USER_SCHEMAS}
ORDER BY 1, 2, a.attnum"""
KEY_COLUMNS = """ARRAY(
    SELECT a.attname FROM unnest(con.{0}) WITH ORDINALITY k(num, i)
    JOIN pg_attribute a ON a.attrelid = con.{1} AND a.attnum = k.num ORDER BY k.i)"""
KEYS = f"""
SELECT n.nspname, c.relname, con.conname,
       CASE con.contype WHEN 'p' THEN 'primary' ELSE 'foreign' END,
       {KEY_COLUMNS.format("conkey", "conrelid")}, rn.nspname, rc.relname,
       {KEY_COLUMNS.format("confkey", "confrelid")}
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'f') AND {USER_SCHEMAS}
UNION ALL
SELECT n.nspname, c.relname, i.relname, CASE WHEN x.indisunique THEN 'unique' ELSE 'index' END,
       ARRAY(SELECT CASE WHEN x.indkey[k - 1] <> 0
                         THEN (SELECT attname FROM pg_attribute
                               WHERE attrelid = c.oid AND attnum = x.indkey[k - 1])
                         ELSE pg_get_indexdef(x.indexrelid, k, true) END
             FROM generate_series(1, x.indnkeyatts) k ORDER BY k),
       NULL, NULL, NULL
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT x.indisprimary AND {USER_SCHEMAS}
ORDER BY 1, 2, 3"""


@registry.register("postgresql", "postgres")
class PostgresConnector(SqlConnector):
    dialect = "postgres"
    standard_port = 5432
    source_errors = (asyncpg.PostgresError, asyncpg.InterfaceError)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pools: dict[str, asyncpg.Pool] = {}

    def _connect_args(self, database: str) -> dict[str, Any]:
        cfg = self.config
        pinned = self.pinned
        return {
            "host": list(pinned.addresses),  # tried in order, as asyncpg tries a name's
            "port": cfg.port,
            "user": cfg.user,
            "password": self.password(),
            "database": database,
            "timeout": cfg.timeout_s,
            "command_timeout": cfg.timeout_s,
            "ssl": pinned.tls(cfg.tls) or False,  # never PGSSLMODE's or asyncpg's "prefer"
            "server_settings": {
                "application_name": "datawave",
                "search_path": "pg_catalog",
                "default_transaction_read_only": "on",
            },
        }

    def _failure(self, err: BaseException) -> Failure | None:
        if isinstance(err, AUTHENTICATION):
            return Failure.AUTHENTICATION
        if isinstance(err, ConnectionError) and "rejected SSL upgrade" in str(err):
            return Failure.TLS  # asyncpg's words for a server without TLS
        return None

    def _setup_error(self, database: str, err: Exception) -> ConnectorError:
        return ConnectorError(f"cannot connect to {self.config.target}/{database}: {err}")

    @contextlib.asynccontextmanager
    async def _connection(self, database: str) -> AsyncIterator[asyncpg.Connection]:
        """One short-lived connection, for validation's few queries."""
        try:
            conn = await asyncpg.connect(**self._connect_args(database))
        except (*self.source_errors, OSError, TimeoutError) as err:
            raise self._setup_error(database, err) from err
        try:
            yield conn
        finally:
            await conn.close()

    @contextlib.asynccontextmanager
    async def _opened(self, database: str) -> AsyncIterator[None]:
        try:
            pool = await asyncpg.create_pool(
                min_size=1, max_size=self.config.pool_size, **self._connect_args(database)
            )
        except (*self.source_errors, OSError, TimeoutError) as err:
            raise self._setup_error(database, err) from err
        self._pools[database] = pool
        try:
            yield
        finally:
            del self._pools[database]
            await pool.close()

    async def _rows(self, database: str, sql: str, *args: Any) -> list[Sequence[Any]]:
        async with asyncio.timeout(self.config.timeout_s):
            return await self._pools[database].fetch(sql, *args)

    async def _timed(
        self, database: str, schema: str, sql: str, timeout_s: float
    ) -> list[Sequence[Any]]:
        ms = max(1, round(timeout_s * 1000))
        async with self._pools[database].acquire() as conn, conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {ms}")
            await conn.execute(f"SET LOCAL search_path = {self._quote(schema)}, pg_catalog")
            try:
                return await conn.fetch(sql)
            except asyncpg.QueryCanceledError as err:  # statement_timeout
                raise TimeoutError(str(err)) from err

    async def _server(self) -> ServerInfo:
        """Listed from the first configured database that exists, else from ``postgres``: a
        dropped database must show as missing from the listing, not as an unreachable server."""
        *first, last = dict.fromkeys([*self.config.databases, "postgres"])
        for maintenance in first:
            try:
                return await self._listed_from(maintenance)
            except ConnectorError as err:
                if not isinstance(err.__cause__, asyncpg.InvalidCatalogNameError):
                    raise
        return await self._listed_from(last)

    async def _listed_from(self, maintenance: str) -> ServerInfo:
        async with self._connection(maintenance) as conn, asyncio.timeout(self.config.timeout_s):
            version = await conn.fetchval("SELECT current_setting('server_version')")
            rows = await conn.fetch(DATABASES)
        return ServerInfo(
            version, [r[0] for r in rows if r[1]], closed=[r[0] for r in rows if not r[1]]
        )

    async def _counts(self, databases: list[str]) -> dict[str, int]:
        counts = {"schemas": 0, "tables": 0, "views": 0}
        for database in databases:
            async with self._connection(database) as conn, asyncio.timeout(self.config.timeout_s):
                row = await conn.fetchrow(COUNTS)
            for key in counts:
                counts[key] += row[key]
        return counts

    async def _catalog(self, database: str) -> Catalog:
        return Catalog(
            schemas=[r[0] for r in await self._rows(database, SCHEMAS)],
            tables=[TableRow(*r) for r in await self._rows(database, TABLES)],
            columns=[ColumnRow(*r) for r in await self._rows(database, COLUMNS)],
            keys=[KeyRow(*r) for r in await self._rows(database, KEYS)],
        )

    def _unreadable(self, err: Exception) -> bool:
        return isinstance(err, UNREADABLE)

    def _quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def _relation(self, database: str, schema: str, table: str) -> str:
        return f"{self._quote(schema)}.{self._quote(table)}"

    def _value_expr(self, column: ColumnInfo) -> str:
        name = self._quote(column.name)
        base = re.sub(r"\(.*?\)", "", column.data_type)
        if base == "bytea":
            return f"CASE WHEN {name} IS NULL THEN NULL ELSE ''::bytea END"
        if base in NATIVE_TYPES:
            return name
        return self._cut(f"{name}::text")

    def _sample_clause(self, spec: TableSpec) -> str:
        estimate = spec.row.row_estimate or 0
        wanted = self.config.profile_rows
        if spec.row.kind != "table" or estimate <= SAMPLE_ABOVE * wanted:
            return ""
        percent = min(100.0, 100.0 * 3 * wanted / estimate)  # SYSTEM samples whole pages
        return f"TABLESAMPLE SYSTEM ({percent:.6f})"
