"""Rescans after drops, end to end: real PostgreSQL and MariaDB -> connectors -> Kafka -> the
ingest worker -> Neo4j, then what a user of the catalog sees (asset counts, lineage, the
announcements that drive search, caches and subscribers).

Each test owns its databases and sources (named by ``unique``) and deletes them afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, LiteralString, cast

import aiomysql
import asyncpg
import pytest
import typer
from aiokafka import AIOKafkaConsumer
from neo4j import AsyncDriver

from app.cli.sources import scan
from core.events import parse_event
from core.settings import IngestSettings, Settings
from core.sources import DataSourceConfig
from core.urns import schema_urn, table_urn
from devstack.demo import PASSWORD_ENV
from graph import lineage_queries as lq
from graph.catalog import AssetFilter, AssetKind, count_assets
from graph.driver import read, write
from graph.migrations import load_migrations
from graph.sources import register_source
from ingest.scan import ScanProgress, run_scan
from ingest.worker import Worker
from tests.factories import running
from tests.integration.estate import Estate

TABLES = """
MATCH (t:Table) WHERE t.source = $source
RETURN t.name AS name, t.removedAt IS NOT NULL AS removed, t:Unresolved AS unresolved
"""
REMOVED_AT = "MATCH (a:Asset {urn: $urn}) RETURN a.removedAt IS NOT NULL AS removed"
CLEANUP = """
MATCH (n) WHERE n.source STARTS WITH $prefix OR n.urn STARTS WITH 'urn:dw:source:' + $prefix
DETACH DELETE n
"""


@pytest.fixture
def scan_settings(
    settings: Settings, ingest_cfg: IngestSettings, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    return settings.model_copy(update={"ingest": ingest_cfg})


@pytest.fixture
async def worker(scan_settings: Settings, neo4j: AsyncDriver, unique: str) -> AsyncIterator[None]:
    """An ingest worker on this test's topics; the test's sources are deleted afterwards."""
    db = scan_settings.neo4j.database
    async with running(Worker(scan_settings.ingest, scan_settings.kafka, neo4j, db)):
        yield
    await write(neo4j, db, CLEANUP, prefix=unique)


@pytest.fixture
async def pg(settings: Settings, unique: str) -> AsyncIterator[Callable[..., Any]]:
    """``connect(database)`` to PostgreSQL; databases named ``<unique>_*`` are dropped after."""
    password = settings.source_password.get_secret_value()
    admin = await asyncpg.connect(
        host="127.0.0.1", user="datawave", password=password, database="postgres"
    )

    async def connect(database: str = "postgres") -> asyncpg.Connection:
        return await asyncpg.connect(
            host="127.0.0.1", user="datawave", password=password, database=database
        )

    try:
        yield connect
    finally:
        rows = await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{unique}\\_%"
        )
        for (name,) in rows:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def create_pg(connect: Callable[..., Any], database: str, ddl: str) -> None:
    admin = await connect()
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    conn = await connect(database)
    try:
        await conn.execute(ddl)
    finally:
        await conn.close()


async def register(settings: Settings, neo4j: AsyncDriver, **config: Any) -> DataSourceConfig:
    cfg = DataSourceConfig(user="datawave", secret_ref=f"env:{PASSWORD_ENV}", **config)
    await register_source(neo4j, settings.neo4j.database, cfg)
    return cfg


async def scanned(settings: Settings, neo4j: AsyncDriver, source: str) -> ScanProgress:
    return await run_scan(settings, neo4j, source, ingest_timeout_s=60)


async def tables(settings: Settings, neo4j: AsyncDriver, source: str) -> dict[str, dict]:
    rows = await read(neo4j, settings.neo4j.database, TABLES, source=source)
    return {r["name"]: r for r in rows}


async def live_datasets(settings: Settings, neo4j: AsyncDriver, source: str) -> int:
    """What ``assets(filter: {source, kind: DATASET})`` counts."""
    where = AssetFilter(source=source, kind=AssetKind.DATASET)
    return await count_assets(neo4j, settings.neo4j.database, where)


async def announced(settings: Settings, topic: str, wanted: set[tuple[str, str]]) -> set:
    """(subject, change) pairs on the changes topic, read until ``wanted`` are all there."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: set[tuple[str, str]] = set()
    try:
        async with asyncio.timeout(20):
            while not wanted <= seen:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    for record in batch:
                        event = parse_event(record.value)
                        seen.add((event.subject, event.data.change))
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return seen


# --- item 12: what a rescan no longer lists -------------------------------------------------

SCHEMAS_DDL = """
CREATE SCHEMA keep; CREATE SCHEMA gone;
CREATE TABLE keep.k1 (id int PRIMARY KEY);
CREATE TABLE gone.g1 (id int PRIMARY KEY, note text);
CREATE TABLE gone.g2 (id int);
CREATE VIEW gone.gv AS SELECT id FROM gone.g1;
"""


@pytest.mark.usefixtures("worker")
async def test_a_dropped_schema_is_soft_deleted_and_announced_on_the_next_scan(
    scan_settings: Settings, neo4j: AsyncDriver, pg: Callable[..., Any], unique: str
) -> None:
    database = f"{unique}_a"
    await create_pg(pg, database, SCHEMAS_DDL)
    cfg = await register(
        scan_settings, neo4j, name=unique, kind="postgresql", port=5432, databases=[database]
    )
    assert (await scanned(scan_settings, neo4j, cfg.name)).stage == "finished"
    assert await live_datasets(scan_settings, neo4j, cfg.name) == 4

    conn = await pg(database)
    await conn.execute("DROP SCHEMA gone CASCADE")
    await conn.close()
    result = await scanned(scan_settings, neo4j, cfg.name)

    assert result.stage == "finished", result.error
    state = await tables(scan_settings, neo4j, cfg.name)
    assert {n: t["removed"] for n, t in state.items()} == {
        "k1": False, "g1": True, "g2": True, "gv": True,
    }  # fmt: skip
    assert await live_datasets(scan_settings, neo4j, cfg.name) == 1
    gone_schema = schema_urn(cfg.name, database, "gone")
    (row,) = await read(neo4j, scan_settings.neo4j.database, REMOVED_AT, urn=gone_schema)
    assert row["removed"], "the schema itself is removed too"
    removed = {(table_urn(cfg.name, database, "gone", t), "removed") for t in ("g1", "g2", "gv")}
    assert removed <= await announced(scan_settings, scan_settings.ingest.changes_topic, removed)


@pytest.mark.usefixtures("worker")
async def test_a_configured_database_gone_from_the_server_fails_the_scan_and_its_tables_go(
    scan_settings: Settings, neo4j: AsyncDriver, pg: Callable[..., Any], unique: str
) -> None:
    kept, dropped = f"{unique}_kept", f"{unique}_dropped"
    await create_pg(pg, kept, "CREATE TABLE a (id int)")
    await create_pg(pg, dropped, "CREATE TABLE b (id int); CREATE TABLE c (id int)")
    # The dropped database comes first: the server is then listed from the next one.
    cfg = await register(
        scan_settings, neo4j, name=unique, kind="postgresql", port=5432,
        databases=[dropped, kept],
    )  # fmt: skip
    assert (await scanned(scan_settings, neo4j, cfg.name)).stage == "finished"
    admin = await pg()
    await admin.execute(f'DROP DATABASE "{dropped}" WITH (FORCE)')
    await admin.close()

    result = await scanned(scan_settings, neo4j, cfg.name)

    assert result.stage == "failed"
    assert result.error and f"{dropped} not found on postgresql://" in result.error
    state = await tables(scan_settings, neo4j, cfg.name)
    assert {n: t["removed"] for n, t in state.items()} == {"a": False, "b": True, "c": True}
    assert await live_datasets(scan_settings, neo4j, cfg.name) == 1
    with pytest.raises(typer.Exit) as exited:  # `datawave scan <source>`, its own event loop
        await asyncio.to_thread(scan, scan_settings, [cfg.name])
    assert exited.value.exit_code == 1


@pytest.mark.usefixtures("worker")
async def test_a_database_or_server_out_of_reach_for_now_keeps_its_tables(
    scan_settings: Settings, neo4j: AsyncDriver, pg: Callable[..., Any], unique: str
) -> None:
    """Only a listing that succeeded can show a database gone."""
    first, closed = f"{unique}_first", f"{unique}_closed"
    await create_pg(pg, first, "CREATE TABLE a (id int)")
    await create_pg(pg, closed, "CREATE TABLE b (id int)")
    cfg = await register(
        scan_settings, neo4j, name=unique, kind="postgresql", port=5432, databases=[first, closed]
    )
    assert (await scanned(scan_settings, neo4j, cfg.name)).stage == "finished"
    admin = await pg()
    await admin.execute(f'ALTER DATABASE "{closed}" ALLOW_CONNECTIONS false')
    await admin.close()
    await scanned(scan_settings, neo4j, cfg.name)
    down = cfg.model_copy(update={"port": 1, "timeout_s": 2})
    await register_source(neo4j, scan_settings.neo4j.database, down)
    assert (await scanned(scan_settings, neo4j, cfg.name)).stage == "failed"

    state = await tables(scan_settings, neo4j, cfg.name)
    assert {n: t["removed"] for n, t in state.items()} == {"a": False, "b": False}


# --- item 13: what a view refers to ---------------------------------------------------------


@pytest.fixture
async def mariadb(settings: Settings, unique: str) -> AsyncIterator[aiomysql.Cursor]:
    """A MariaDB cursor; databases named ``<unique>_*`` are dropped after."""
    conn = await aiomysql.connect(
        host="127.0.0.1", port=3306, user="datawave", autocommit=True,
        password=settings.source_password.get_secret_value(),
    )  # fmt: skip
    cur = await conn.cursor()
    try:
        yield cur
    finally:
        await cur.execute("SHOW DATABASES LIKE %s", (f"{unique}\\_%",))
        for (name,) in await cur.fetchall():
            await cur.execute(f"DROP DATABASE `{name}`")
        conn.close()


@pytest.mark.usefixtures("worker")
# MariaDB warns, as it should, when the views whose tables this test drops are read.
@pytest.mark.filterwarnings("ignore:View .* references invalid table")
async def test_views_link_to_the_source_holding_what_they_read_and_mark_the_rest(
    scan_settings: Settings, neo4j: AsyncDriver, mariadb: aiomysql.Cursor, unique: str
) -> None:
    views, other = f"{unique}_views", f"{unique}_other"
    for ddl in (
        f"CREATE DATABASE `{views}`",
        f"CREATE DATABASE `{other}`",
        f"CREATE TABLE `{other}`.t (id INT PRIMARY KEY, x INT)",
        f"CREATE TABLE `{views}`.dropped (id INT PRIMARY KEY, y INT)",
        f"CREATE VIEW `{views}`.v_dropped AS SELECT d.id, d.y FROM `{views}`.dropped d",
        f"CREATE VIEW `{views}`.v_cross AS SELECT t.id, t.x FROM `{other}`.t t",
        f"DROP TABLE `{views}`.dropped",
        f"CREATE TABLE `{views}`.later (id INT PRIMARY KEY)",
        f"CREATE VIEW `{views}`.v_later AS SELECT l.id FROM `{views}`.later l",
    ):
        await mariadb.execute(ddl)
    a = await register(
        scan_settings, neo4j, name=f"{unique}-a", kind="mariadb", port=3306, databases=[views]
    )
    b = await register(
        scan_settings, neo4j, name=f"{unique}-b", kind="mariadb", port=3306, databases=[other]
    )
    db = scan_settings.neo4j.database

    assert (await scanned(scan_settings, neo4j, a.name)).stage == "finished"
    in_a = await tables(scan_settings, neo4j, a.name)
    assert set(in_a) == {"v_dropped", "v_cross", "dropped", "later", "v_later"}, "no phantom t"
    assert in_a["dropped"]["unresolved"] and not in_a["v_cross"]["unresolved"]
    assert await live_datasets(scan_settings, neo4j, a.name) == 4, "placeholders are not assets"
    real_t = table_urn(b.name, other, other, "t")
    assert (await tables(scan_settings, neo4j, b.name))["t"]["unresolved"], "not scanned yet"

    cross = await lq.lineage(
        neo4j, db, table_urn(a.name, views, views, "v_cross"), lq.Direction.UPSTREAM, 1,
        lq.Level.TABLE,
    )  # fmt: skip
    assert cross and [(e.from_urn, e.unresolved) for e in cross.edges] == [(real_t, True)]
    broken = await lq.lineage(
        neo4j, db, table_urn(a.name, views, views, "v_dropped"), lq.Direction.BOTH, 3,
        lq.Level.TABLE,
    )  # fmt: skip
    dropped = table_urn(a.name, views, views, "dropped")
    assert broken and [(e.from_urn, e.unresolved) for e in broken.edges] == [(dropped, True)]

    assert (await scanned(scan_settings, neo4j, b.name)).stage == "finished"
    assert not (await tables(scan_settings, neo4j, b.name))["t"]["unresolved"]
    cross = await lq.lineage(
        neo4j, db, table_urn(a.name, views, views, "v_cross"), lq.Direction.UPSTREAM, 1,
        lq.Level.COLUMN,
    )  # fmt: skip
    assert cross and {(e.from_urn.rsplit("/", 1)[1], e.unresolved) for e in cross.edges} == {
        ("id", False), ("x", False),
    }  # fmt: skip

    # A table dropped after it was scanned: removed by the rescan, and what the view reads.
    await mariadb.execute(f"DROP TABLE `{views}`.later")
    assert (await scanned(scan_settings, neo4j, a.name)).stage == "finished"
    assert (await tables(scan_settings, neo4j, a.name))["later"]["removed"]
    later = await lq.lineage(
        neo4j, db, table_urn(a.name, views, views, "v_later"), lq.Direction.BOTH, 3,
        lq.Level.TABLE,
    )  # fmt: skip
    later_urn = table_urn(a.name, views, views, "later")
    assert later and [(e.from_urn, e.unresolved) for e in later.edges] == [(later_urn, True)]


async def test_placeholders_written_before_the_label_are_marked_by_the_migration(
    neo4j: AsyncDriver, settings: Settings, estate: Estate
) -> None:
    view = estate.table("v", ("id",), kind="view")
    await estate.write(neo4j, settings.neo4j.database)
    old_style = """
    MATCH (v:Asset {urn: $view})
    CREATE (t:Asset:Table {urn: $table, name: 'gone', source: $source})-[:FEEDS]->(v)
    CREATE (:Asset:Column {urn: $column, name: 'id', source: $source})
    """
    await write(
        neo4j, settings.neo4j.database, old_style, view=view, table=estate.table_urn("gone"),
        column=estate.column_urn("gone", "id"), source=estate.name,
    )  # fmt: skip
    where = AssetFilter(source=estate.name)
    assert await count_assets(neo4j, settings.neo4j.database, where) == 6, "db, schema, v, v.id"

    (migration,) = [m for m in load_migrations() if m.id == "0010_unresolved_placeholders"]
    for statement in migration.statements:
        await write(neo4j, settings.neo4j.database, cast(LiteralString, statement))

    assert await count_assets(neo4j, settings.neo4j.database, where) == 4
    assert (await tables(settings, neo4j, estate.name))["gone"]["unresolved"]
