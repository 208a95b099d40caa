"""MySQL and MariaDB through aiomysql: one pool per source, information_schema for the catalog.

A MySQL database is also its only schema, so each database yields one schema of its name.
Sessions are read-only and autocommit, so a scan never holds a snapshot or writes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import aiomysql
import pymysql
from pymysql.constants import CLIENT, ER

from core.events import ColumnInfo
from core.sources import TlsMode
from ingest.connectors.base import ConnectorError, Failure, ServerInfo, TlsRefused, registry
from ingest.connectors.sql import Catalog, ColumnRow, KeyRow, SqlConnector, TableRow

SYSTEM_DATABASES = ("information_schema", "mysql", "performance_schema", "sys")
TEXT_TYPES = (
    "char",
    "varchar",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "json",
    "enum",
    "set",
)
BINARY_TYPES = (
    "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit",
    "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
    "multipolygon", "geometrycollection",
)  # fmt: skip
# Statements stopped by max_statement_time (MariaDB) or max_execution_time (MySQL).
STATEMENT_TIMEOUTS = (1969, 3024)
TABLE_TYPES = {"BASE TABLE": "table", "SYSTEM VERSIONED": "table", "VIEW": "view"}
# What the server answers for one object it lists but will not read: SELECT or column access
# denied, a view over what no longer exists, a view whose DEFINER account was dropped.
UNREADABLE = (
    ER.TABLEACCESS_DENIED_ERROR, ER.COLUMNACCESS_DENIED_ERROR, ER.VIEW_INVALID, ER.NO_SUCH_USER,
)  # fmt: skip

# A login the server refused: a wrong password or user, a database or host not granted to it.
AUTHENTICATION = (ER.ACCESS_DENIED_ERROR, ER.DBACCESS_DENIED_ERROR, ER.HOST_NOT_PRIVILEGED)

DATABASES = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME"
COUNTS = """
SELECT TABLE_TYPE, COUNT(*) FROM information_schema.TABLES
WHERE TABLE_SCHEMA IN ({}) GROUP BY TABLE_TYPE"""
TABLES = """
SELECT t.TABLE_NAME, t.TABLE_TYPE, t.TABLE_ROWS, t.DATA_LENGTH + t.INDEX_LENGTH,
       t.TABLE_COMMENT, v.VIEW_DEFINITION
FROM information_schema.TABLES t
LEFT JOIN information_schema.VIEWS v
  ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = %s AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')
ORDER BY t.TABLE_NAME"""
COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_DEFAULT,
       ORDINAL_POSITION
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
ORDER BY TABLE_NAME, ORDINAL_POSITION"""
INDEXES = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND COLUMN_NAME IS NOT NULL
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"""
FOREIGN_KEYS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME,
       REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"""


def _grouped(rows: Iterable[Sequence[Any]], width: int) -> Iterable[tuple[tuple, list]]:
    """Consecutive rows sharing their first ``width`` fields, with the remaining fields."""
    for key, group in itertools.groupby(rows, key=lambda r: tuple(r[:width])):
        yield key, [tuple(r[width:]) for r in group]


def _offers_tls(greeting: bytes) -> bool:
    """Whether a server's initial handshake packet (protocol 10) sets CLIENT_SSL."""
    payload = greeting[4:]  # 3 bytes of length, 1 of sequence
    if not payload or payload[0] != 10 or b"\0" not in payload[1:]:
        return False
    at = payload.index(b"\0", 1) + 1 + 4 + 8 + 1  # version, connection id, salt, filler
    flags = int.from_bytes(payload[at : at + 2], "little") if len(payload) >= at + 2 else 0
    return bool(flags & CLIENT.SSL)


@registry.register("mysql", "mariadb")
class MySQLConnector(SqlConnector):
    dialect = "mysql"
    source_errors = (pymysql.err.MySQLError,)
    standard_port = 3306

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: aiomysql.Pool | None = None
        self._mariadb = False

    def _failure(self, err: BaseException) -> Failure | None:
        refused = isinstance(err, pymysql.err.OperationalError) and err.args[:1]
        return Failure.AUTHENTICATION if refused and refused[0] in AUTHENTICATION else None

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    async def _connect(self) -> aiomysql.Pool:
        if self._pool is None:
            cfg, pinned = self.config, self.pinned
            try:
                address = await pinned.answering(cfg.timeout_s)
                if cfg.tls is not TlsMode.DISABLE:
                    await self._refuse_server_without_tls(address)
                self._pool = await aiomysql.create_pool(
                    minsize=1,
                    maxsize=cfg.pool_size,
                    host=address,
                    port=cfg.port,
                    user=cfg.user,
                    password=self.password() or "",
                    connect_timeout=cfg.timeout_s,
                    autocommit=True,
                    charset="utf8mb4",
                    init_command="SET SESSION TRANSACTION READ ONLY",
                    ssl=pinned.tls(cfg.tls),
                )
            except (pymysql.err.MySQLError, OSError, TimeoutError) as err:
                raise ConnectorError(f"cannot connect to {cfg.target}: {err}") from err
            if cfg.tls is not TlsMode.DISABLE:
                await self._refuse_plain_session(self._pool)
        return self._pool

    async def _refuse_server_without_tls(self, address: str) -> None:
        """aiomysql logs in over plain TCP when the server offers no TLS: read the server's
        greeting first and refuse before any login is sent."""
        cfg = self.config
        async with asyncio.timeout(cfg.timeout_s):
            reader, writer = await asyncio.open_connection(address, cfg.port)
            try:
                greeting = await reader.read(4096)
            finally:
                writer.close()
        if not _offers_tls(greeting):
            raise TlsRefused(f"{cfg.target} offers no TLS (tls: {cfg.tls})")

    async def _refuse_plain_session(self, pool: aiomysql.Pool) -> None:
        """The greeting said TLS; check the session is encrypted (another server may answer)."""
        async with pool.acquire() as conn:
            encrypted = conn._writer.get_extra_info("ssl_object") is not None
        if not encrypted:
            await self.close()
            raise TlsRefused(f"{self.config.target} offers no TLS (tls: {self.config.tls})")

    async def _rows(self, database: str, sql: str, *args: Any) -> list[Sequence[Any]]:
        pool = await self._connect()
        async with pool.acquire() as conn:
            try:
                async with asyncio.timeout(self.config.timeout_s), conn.cursor() as cur:
                    await cur.execute(sql, args or None)
                    return list(await cur.fetchall())
            except BaseException:
                conn.close()  # a cancelled or failed read leaves the protocol mid-stream
                raise

    async def _timed(
        self, database: str, schema: str, sql: str, timeout_s: float
    ) -> list[Sequence[Any]]:
        pool = await self._connect()
        async with pool.acquire() as conn:
            try:
                async with conn.cursor() as cur:
                    await cur.execute("SELECT VERSION()")
                    (version,) = await cur.fetchone()
                    mariadb = "mariadb" in version.lower()
                    ms = max(1, round(timeout_s * 1000))
                    limit = f"max_statement_time = {ms / 1000:g}" if mariadb else (
                        f"max_execution_time = {ms}"
                    )  # fmt: skip
                    await cur.execute(f"SET SESSION {limit}")
                    await cur.execute(f"USE {self._quote(database)}")
                    await cur.execute(sql)
                    return list(await cur.fetchall())
            except pymysql.err.OperationalError as err:
                if err.args and err.args[0] in STATEMENT_TIMEOUTS:
                    raise TimeoutError(str(err)) from err
                raise
            finally:
                conn.close()  # its session settings and default database go with it

    async def _server(self) -> ServerInfo:
        ((version,),) = await self._rows("", "SELECT VERSION()")
        self._mariadb = "mariadb" in version.lower()
        names = [n for (n,) in await self._rows("", DATABASES) if n not in SYSTEM_DATABASES]
        return ServerInfo(version, names)

    async def _counts(self, databases: list[str]) -> dict[str, int]:
        counts = {"schemas": len(databases), "tables": 0, "views": 0}
        if databases:
            sql = COUNTS.format(", ".join(["%s"] * len(databases)))
            for table_type, n in await self._rows("", sql, *databases):
                if table_type in TABLE_TYPES:
                    counts[f"{TABLE_TYPES[table_type]}s"] += n
        return counts

    async def _catalog(self, database: str) -> Catalog:
        tables = [
            TableRow(
                database,
                name,
                TABLE_TYPES[table_type],
                None if rows is None else int(rows),
                None if size is None else int(size),
                comment if comment and table_type != "VIEW" else None,
                view_sql,
            )
            for name, table_type, rows, size, comment, view_sql in await self._rows(
                database, TABLES, database
            )
        ]
        columns = [
            ColumnRow(database, table, name, col_type, bool(nullable), self._default(default), pos)
            for table, name, col_type, nullable, default, pos in await self._rows(
                database, COLUMNS, database
            )
        ]
        keys = [
            KeyRow(
                database,
                table,
                index,
                "primary" if index == "PRIMARY" else "unique" if not cols[0][0] else "index",
                [c for _, c in cols],
            )
            for (table, index), cols in _grouped(await self._rows(database, INDEXES, database), 2)
        ]
        keys += [
            KeyRow(
                database,
                table,
                name,
                "foreign",
                [c[0] for c in cols],
                cols[0][1],
                cols[0][2],
                [c[3] for c in cols],
            )
            for (table, name), cols in _grouped(
                await self._rows(database, FOREIGN_KEYS, database), 2
            )
        ]
        return Catalog([database], tables, columns, keys)

    def _default(self, default: str | None) -> str | None:
        """MariaDB reports a NULL default as the literal ``NULL`` (MySQL as SQL NULL)."""
        return None if self._mariadb and default == "NULL" else default

    def _unreadable(self, err: Exception) -> bool:
        return isinstance(err, pymysql.err.MySQLError) and bool(err.args) and (
            err.args[0] in UNREADABLE
        )  # fmt: skip

    def _quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def _relation(self, database: str, schema: str, table: str) -> str:
        return f"{self._quote(database)}.{self._quote(table)}"

    def _value_expr(self, column: ColumnInfo) -> str:
        name = self._quote(column.name)
        base = column.data_type.split("(")[0].split()[0].lower()
        if base in BINARY_TYPES:
            return f"CASE WHEN {name} IS NULL THEN NULL ELSE x'' END"
        if base in TEXT_TYPES:
            return self._cut(name)
        return name
