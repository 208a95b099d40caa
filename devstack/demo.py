"""Load the "acme" demo estate (``devstack.demo_estate``) into the local stack's three engines.

MariaDB ``shop``, PostgreSQL ``billing`` and ``analytics``, MongoDB ``crm``: about 50 tables,
views and collections at scale 1. ``scale`` N adds N - 1 replicas of every table, view and
collection (suffix ``_002`` ...), each with fewer rows (``rows_per_table``); from scale 10 on
tables and collections also get wider (``attributes``), as real large estates do, so scale 100
gives 5 000 tables and about 10^5 columns for benchmarks.

Data is generated once per run from Faker and ``random`` seeded with 42, so every load holds
the same values; loading drops and recreates the demo databases (and only them), with batch
inserts on MariaDB, COPY on PostgreSQL and ``insert_many`` on MongoDB.
"""

from __future__ import annotations

import asyncio
import math
import random
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomysql
import asyncpg
import pymysql
from faker import Faker
from pymongo import AsyncMongoClient

from core.sources import DataSourceConfig
from devstack.demo_estate import ESTATE, Database, Engine, Row, Table, widen

SEED = 42
ROWS = 200  # rows per table at scale 1
MIN_ROWS = 10
CONCURRENCY = 8  # connections per engine while loading
# The demo sources read their password from this variable; the local stack's is `datawave`
# (``Settings.source_password``), so `export DATAWAVE_SOURCE_PASSWORD=datawave` to scan them.
PASSWORD_ENV = "DATAWAVE_SOURCE_PASSWORD"
SOURCES: dict[Engine, tuple[str, str, int]] = {  # engine: (source name, connector kind, port)
    "mariadb": ("acme-mariadb", "mariadb", 3306),
    "postgres": ("acme-postgres", "postgresql", 5432),
    "mongodb": ("acme-mongo", "mongodb", 27017),
}
USER = "datawave"


def demo_sources(prefix: str = "") -> list[DataSourceConfig]:
    """The demo estate's sources; ``prefix`` is put before every database name (tests)."""
    return [
        DataSourceConfig(
            name=name,
            kind=kind,
            port=port,
            user=None if engine == "mongodb" else USER,
            secret_ref=None if engine == "mongodb" else f"env:{PASSWORD_ENV}",
            databases=[prefix + db.name for db in ESTATE if db.engine == engine],
        )
        for engine, (name, kind, port) in SOURCES.items()
    ]


def rows_per_table(scale: int) -> int:
    return max(MIN_ROWS, ROWS // scale)


def attributes(scale: int) -> int:
    """Extra columns per table and collection: none below scale 10, then 6.5 per decade."""
    return 0 if scale < 10 else int(6.5 * math.log10(scale))


def estate(scale: int) -> tuple[Database, ...]:
    return tuple(widen(db, attributes(scale)) for db in ESTATE)


@dataclass(frozen=True)
class Loaded:
    """What one demo database received."""

    source: str
    database: str
    tables: int
    views: int
    collections: int
    rows: int


@dataclass(frozen=True)
class _Plan:
    prefix: str
    suffixes: list[str]
    data: dict[tuple[str, str], list[Any]]  # (database, table or collection): rows or documents

    def summary(self, db: Database) -> Loaded:
        copies = len(self.suffixes)
        per_copy = sum(len(v) for (d, _), v in self.data.items() if d == db.name)
        return Loaded(
            SOURCES[db.engine][0],
            self.prefix + db.name,
            len(db.tables) * copies,
            len(db.views) * copies,
            len(db.collections) * copies,
            per_copy * copies,
        )


def generate(scale: int) -> dict[tuple[str, str], list[Any]]:
    """Every base table's rows (tuples) and collection's documents, deterministically."""
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    row = Row(fake, random.Random(SEED), rows_per_table(scale))
    data: dict[tuple[str, str], list[Any]] = {}
    for db in estate(scale):
        for table in db.tables:
            data[db.name, table.name] = [
                tuple(c.gen(row) for c in table.columns) for row.i in range(1, row.n + 1)
            ]
        for coll in db.collections:
            data[db.name, coll.name] = [coll.doc(row) for row.i in range(1, row.n + 1)]
    return data


async def load_demo(password: str, scale: int = 1, prefix: str = "") -> list[Loaded]:
    """Drop and rebuild the demo databases; ``password`` is the MariaDB/PostgreSQL one."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    plan = _Plan(
        prefix,
        [""] + [f"_{k:03d}" for k in range(2, scale + 1)],
        await asyncio.to_thread(generate, scale),
    )
    dbs = estate(scale)
    await asyncio.gather(*(_LOADERS[db.engine](db, plan, password) for db in dbs))
    return [plan.summary(db) for db in dbs]


async def drop_demo(password: str, prefix: str = "") -> None:
    """Drop the demo databases (those named with ``prefix``), nothing else."""
    for db in ESTATE:
        name = prefix + db.name
        if db.engine == "mariadb":
            await _mariadb_recreate(name, password, create=False)
        elif db.engine == "postgres":
            await _postgres_recreate(name, password, create=False)
        else:
            async with _mongo() as client:
                await client.drop_database(name)


async def _each(suffixes: list[str], load: Callable[[str], Awaitable[None]]) -> None:
    """Load the replicas with at most CONCURRENCY at a time."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(suffix: str) -> None:
        async with gate:
            await load(suffix)

    await asyncio.gather(*(one(s) for s in suffixes))


def _column_type(engine: Engine, portable: str) -> str:
    return "datetime" if engine == "mariadb" and portable == "timestamp" else portable


def _create_table(db: Database, table: Table, s: str) -> str:
    schema = f"{table.schema}." if db.engine == "postgres" else ""
    columns = [
        f"{c.name} {_column_type(db.engine, c.type)}"
        + (" PRIMARY KEY" if c.name == "id" else "")
        + ("" if c.nullable else " NOT NULL")
        + (" UNIQUE" if c.unique else "")
        for c in table.columns
    ]
    columns += [
        f"CONSTRAINT fk_{table.name}{s}_{col} FOREIGN KEY ({col})"
        f" REFERENCES {schema}{parent}{s} (id)"
        for col, parent in table.refs
    ]
    doc = table.doc.replace("'", "''")
    ddl = f"CREATE TABLE {schema}{table.name}{s} (\n  " + ",\n  ".join(columns) + "\n)"
    if db.engine == "mariadb":
        return f"{ddl} COMMENT '{doc}'"
    return f"{ddl};\nCOMMENT ON TABLE {schema}{table.name}{s} IS '{doc}'"


# --- MariaDB ------------------------------------------------------------------------------


async def _mariadb_recreate(name: str, password: str, create: bool = True) -> None:
    conn = await aiomysql.connect(
        host="127.0.0.1", port=SOURCES["mariadb"][2], user=USER, password=password
    )
    try:
        async with conn.cursor() as cur:
            with warnings.catch_warnings():  # the "database doesn't exist" note of IF EXISTS
                warnings.simplefilter("ignore", pymysql.Warning)
                await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            if create:
                await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()


async def _load_mariadb(db: Database, plan: _Plan, password: str) -> None:
    name = plan.prefix + db.name
    await _mariadb_recreate(name, password)
    pool = await aiomysql.create_pool(
        host="127.0.0.1",
        port=SOURCES["mariadb"][2],
        user=USER,
        password=password,
        db=name,
        autocommit=True,
        maxsize=CONCURRENCY,
    )

    async def replica(s: str) -> None:
        async with pool.acquire() as conn, conn.cursor() as cur:
            for table in db.tables:
                await cur.execute(_create_table(db, table, s))
                names = ", ".join(c.name for c in table.columns)
                marks = ", ".join(["%s"] * len(table.columns))
                await cur.executemany(
                    f"INSERT INTO {table.name}{s} ({names}) VALUES ({marks})",
                    plan.data[db.name, table.name],
                )
            for view in db.views:
                await cur.execute(f"CREATE VIEW {view.name}{s} AS {view.sql.format(s=s)}")

    try:
        await _each(plan.suffixes, replica)
    finally:
        pool.close()
        await pool.wait_closed()


# --- PostgreSQL ---------------------------------------------------------------------------


async def _postgres_recreate(name: str, password: str, create: bool = True) -> None:
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=SOURCES["postgres"][2],
        user=USER,
        password=password,
        database="postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _load_postgres(db: Database, plan: _Plan, password: str) -> None:
    name = plan.prefix + db.name
    await _postgres_recreate(name, password)
    pool = await asyncpg.create_pool(
        host="127.0.0.1",
        port=SOURCES["postgres"][2],
        user=USER,
        password=password,
        database=name,
        min_size=1,
        max_size=CONCURRENCY,
    )

    async def replica(s: str) -> None:
        async with pool.acquire() as conn:
            await conn.execute(";\n".join(_create_table(db, t, s) for t in db.tables))
            for table in db.tables:
                await conn.copy_records_to_table(
                    f"{table.name}{s}",
                    records=plan.data[db.name, table.name],
                    columns=[c.name for c in table.columns],
                    schema_name=table.schema,
                )
            for view in db.views:
                kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
                sql = view.sql.format(s=s)
                await conn.execute(f"CREATE {kind} {view.schema}.{view.name}{s} AS {sql}")

    try:
        await pool.execute(";".join(f"CREATE SCHEMA IF NOT EXISTS {s}" for s in db.schemas))
        await _each(plan.suffixes, replica)
    finally:
        await pool.close()


# --- MongoDB ------------------------------------------------------------------------------


def _mongo() -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(host="127.0.0.1", port=SOURCES["mongodb"][2], directConnection=True)


async def _load_mongodb(db: Database, plan: _Plan, password: str) -> None:
    name = plan.prefix + db.name
    async with _mongo() as client:
        await client.drop_database(name)
        mongo_db = client[name]

        async def replica(s: str) -> None:
            for coll in db.collections:
                target = mongo_db[f"{coll.name}{s}"]
                await target.insert_many(plan.data[db.name, coll.name])
                for field in coll.unique:
                    await target.create_index(field, unique=True)
                for field in coll.indexed:
                    await target.create_index(field)

        await _each(plan.suffixes, replica)


_LOADERS: dict[Engine, Callable[[Database, _Plan, str], Awaitable[None]]] = {
    "mariadb": _load_mariadb,
    "postgres": _load_postgres,
    "mongodb": _load_mongodb,
}
