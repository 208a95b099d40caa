"""Connectors against the real MariaDB, PostgreSQL and FerretDB of the local stack.

Each test builds a small database named by ``unique`` and drops it afterwards. Discovery is
checked against the truth read here independently (SHOW statements, information_schema,
listCollections), not against the connectors' own catalog queries.
"""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import pytest
from pymongo import AsyncMongoClient

from core.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    Event,
    TableDiscovered,
)
from core.settings import Settings, SourceSettings
from core.sources import DataSourceConfig
from core.urns import Urn, column_urns, table_urn
from ingest.connectors.base import DiscoveryReport, Failure, connector_for
from ingest.connectors.sql import ROW_COUNT_TOLERANCE
from ingest.source_access import SourceAccess
from tests.integration.databases import postgres_database

SCAN = "scan-1"
BIG_ROWS = 3000  # above exact_count_limit below: its count is the engine's estimate
LIMITS = {"profile_rows": 100, "exact_count_limit": 1000, "sample_size": 10}
# The tests keep password files in their tmp_path: any folder is a secrets folder here.
ACCESS = SourceAccess.from_settings(
    Settings(_env_file=None, sources=SourceSettings(secrets_dir=Path("/")))
)


@pytest.fixture
def password(settings: Settings) -> str:
    return settings.source_password.get_secret_value()


@pytest.fixture
def secret_ref(tmp_path: Path, password: str) -> str:
    path = tmp_path / "source-password"
    path.write_text(password + "\n")
    return f"file:{path}"


def config(kind: str, port: int, secret_ref: str | None, **extra: Any) -> DataSourceConfig:
    user = None if kind == "mongodb" else "datawave"
    return DataSourceConfig(
        name=f"it-{kind}", kind=kind, port=port, user=user, secret_ref=secret_ref, **extra
    )


async def discover(cfg: DataSourceConfig) -> tuple[list[Event], DiscoveryReport]:
    async with connector_for(cfg, ACCESS) as connector:
        events = [e async for e in connector.discover(SCAN)]
    return events, connector.report


def check_stream(events: list[Event], password: str) -> dict[str, TableDiscovered]:
    """The stream's order contract; returns the tables by name."""
    assert events[0].type == SOURCE_CHECKED and events[0].data.status == "reachable"
    known = {events[0].subject}
    by_parent: dict[str, list[str]] = defaultdict(list)
    tables: dict[str, TableDiscovered] = {}
    for event in events[1:]:
        assert event.data.scan_id == SCAN
        assert password not in event.data.model_dump_json()
        if event.type == CONTAINER_DISCOVERED:
            assert event.data.parent_urn in known
            known.add(event.subject)
            by_parent[event.data.parent_urn].append(event.subject)
        elif event.type == TABLE_DISCOVERED:
            assert event.data.schema_urn in known
            by_parent[event.data.schema_urn].append(event.subject)
            tables[event.data.name] = event.data
        else:  # a complete listing of a schema, a database, and last of the source
            assert event.type == CONTAINER_SCANNED
            assert event.data.children == sorted(by_parent[event.subject])  # sorted by URN
            assert event.data.after is event.data.until is None, "small: one part"
    assert events[-1].type == CONTAINER_SCANNED and events[-1].subject == events[0].subject
    return tables


def columns_of(table: TableDiscovered) -> list[tuple[str, str, bool, int]]:
    return [(c.name, c.data_type, c.nullable, c.ordinal) for c in table.columns]


def lineage_of(table: TableDiscovered) -> set[tuple[str, str]]:
    def short(urn: str) -> str:
        parsed = Urn.parse(urn)
        return ".".join(parsed.path[1:])  # schema.table[.column]

    return {(short(e.upstream_urn), short(e.downstream_urn)) for e in table.lineage}


def assert_estimate(table: TableDiscovered, truth: int) -> None:
    assert not table.row_count_exact
    assert abs(table.row_count - truth) <= ROW_COUNT_TOLERANCE * truth


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- MariaDB ------------------------------------------------------------------------------

MYSQL_DDL = [
    """CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(120) NOT NULL,
       full_name VARCHAR(80), born DATE, notes TEXT, photo BLOB, UNIQUE KEY uq_email (email))""",
    """CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
       total DECIMAL(10,2), placed_at DATETIME,
       CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
       KEY ix_placed (placed_at, total))""",
    """CREATE TABLE order_lines (order_id BIGINT, line INT, sku CHAR(8), qty SMALLINT DEFAULT 1,
       PRIMARY KEY (order_id, line),
       CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES orders (id))""",
    "CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, kind VARCHAR(20))",
    """CREATE VIEW customer_revenue AS SELECT c.email, SUM(o.total) AS revenue
       FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.email""",
]


@pytest.fixture
async def mysql(unique: str, password: str) -> AsyncIterator[aiomysql.Cursor]:
    conn = await aiomysql.connect(
        host="127.0.0.1", port=3306, user="datawave", password=password, autocommit=True
    )
    cur = await conn.cursor()
    await cur.execute(f"CREATE DATABASE `{unique}`")
    try:
        await cur.execute(f"USE `{unique}`")
        for ddl in MYSQL_DDL:
            await cur.execute(ddl)
        await cur.executemany(
            "INSERT INTO customers VALUES (%s, %s, %s, '1990-01-02', 'hi', NULL)",
            [(i, f"c{i}@example.com", f"Name {i}") for i in range(1, 21)],
        )
        await cur.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, NOW())",
            [(i, i % 20 + 1, i * 1.5) for i in range(1, 51)],
        )
        await cur.executemany(
            "INSERT INTO events (kind) VALUES (%s)", [("k",) for _ in range(BIG_ROWS)]
        )
        await cur.execute("ANALYZE TABLE events")
        await cur.fetchall()
        yield cur
    finally:
        await cur.execute(f"DROP DATABASE `{unique}`")
        conn.close()


async def mysql_truth(cur: aiomysql.Cursor, db: str) -> dict[str, Any]:
    await cur.execute(f"SHOW FULL TABLES FROM `{db}`")
    kinds = {name: "view" if kind == "VIEW" else "table" for name, kind in await cur.fetchall()}
    truth: dict[str, Any] = {"kinds": kinds, "columns": {}, "pk": {}, "fks": defaultdict(dict)}
    for table in kinds:
        await cur.execute(f"SHOW COLUMNS FROM `{db}`.`{table}`")
        truth["columns"][table] = [
            (r[0], r[1], r[2] == "YES", i) for i, r in enumerate(await cur.fetchall(), 1)
        ]
        await cur.execute(f"SHOW INDEX FROM `{db}`.`{table}` WHERE Key_name = 'PRIMARY'")
        truth["pk"][table] = [r[4] for r in sorted(await cur.fetchall(), key=lambda r: r[3])]
    await cur.execute(
        """SELECT rc.TABLE_NAME, rc.CONSTRAINT_NAME, rc.REFERENCED_TABLE_NAME, k.COLUMN_NAME,
                  k.REFERENCED_COLUMN_NAME
           FROM information_schema.REFERENTIAL_CONSTRAINTS rc
           JOIN information_schema.KEY_COLUMN_USAGE k USING (CONSTRAINT_SCHEMA, CONSTRAINT_NAME)
           WHERE rc.CONSTRAINT_SCHEMA = %s ORDER BY k.ORDINAL_POSITION""",
        (db,),
    )
    for table, name, ref, col, ref_col in await cur.fetchall():
        cols, ref_table, ref_cols = truth["fks"][table].get(name, ([], ref, []))
        truth["fks"][table][name] = ([*cols, col], ref_table, [*ref_cols, ref_col])
    return truth


async def test_mysql_discovery_matches_the_catalog(
    mysql: aiomysql.Cursor, unique: str, secret_ref: str, password: str
) -> None:
    cfg = config("mariadb", 3306, secret_ref, databases=[unique], **LIMITS)
    events, report = await discover(cfg)
    assert report.failures == []
    checked = events[0].data
    assert "MariaDB" in checked.server_version
    assert checked.counts == {"databases": 1, "schemas": 1, "tables": 4, "views": 1}
    tables = check_stream(events, password)
    truth = await mysql_truth(mysql, unique)

    assert {n: t.kind for n, t in tables.items()} == truth["kinds"]
    for name, table in tables.items():
        assert table.schema_urn.endswith(f"/{unique}/{unique}")
        assert columns_of(table) == truth["columns"][name], name
        assert table.primary_key == truth["pk"][name], name
        expected_fks = {
            fk_name: (cols, table_urn(cfg.name, unique, unique, ref), ref_cols)
            for fk_name, (cols, ref, ref_cols) in truth["fks"][name].items()
        }
        assert {
            fk.name: (fk.columns, fk.ref_table_urn, fk.ref_columns) for fk in table.foreign_keys
        } == expected_fks, name

    for name in ("customers", "orders", "order_lines"):
        await mysql.execute(f"SELECT COUNT(*) FROM `{name}`")
        ((count,),) = await mysql.fetchall()
        assert (tables[name].row_count, tables[name].row_count_exact) == (count, True)
    assert_estimate(tables["events"], BIG_ROWS)

    assert {i.name: (i.columns, i.unique) for i in tables["orders"].indexes} == {
        "PRIMARY": (["id"], True),
        "fk_orders_customer": (["customer_id"], False),
        "ix_placed": (["placed_at", "total"], False),
    }
    email = tables["customers"].columns[1]
    assert email.profile.distinct_count == 20 and len(email.samples) == 10
    photo = tables["customers"].columns[5]
    assert photo.profile.null_ratio == 1.0 and photo.samples == []
    view = tables["customer_revenue"]
    assert "join" in view.view_sql.lower()
    assert lineage_of(view) == {
        (f"{unique}.customers", f"{unique}.customer_revenue"),
        (f"{unique}.orders", f"{unique}.customer_revenue"),
        (f"{unique}.customers.email", f"{unique}.customer_revenue.email"),
        (f"{unique}.orders.total", f"{unique}.customer_revenue.revenue"),
    }


# --- PostgreSQL ---------------------------------------------------------------------------

PG_DDL = """
CREATE SCHEMA sales; CREATE SCHEMA reporting; CREATE SCHEMA empty;
CREATE TABLE sales.customers (id integer PRIMARY KEY, email varchar(120) NOT NULL UNIQUE,
    full_name text, born date, photo bytea, tags text[]);
CREATE TABLE sales.orders (id bigint PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES sales.customers (id),
    total numeric(10,2), placed_at timestamp DEFAULT now());
CREATE TABLE sales.order_lines (order_id bigint REFERENCES sales.orders (id), line int,
    sku char(8), qty smallint DEFAULT 1, PRIMARY KEY (order_id, line));
CREATE TABLE sales.shipments (order_id bigint, line int, carrier text,
    CONSTRAINT ship_line FOREIGN KEY (order_id, line) REFERENCES sales.order_lines);
CREATE TABLE public.events (id serial PRIMARY KEY, kind text);
CREATE VIEW reporting.customer_revenue AS SELECT c.email, sum(o.total) AS revenue
    FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY c.email;
CREATE VIEW reporting.big_customers AS
    SELECT email FROM reporting.customer_revenue WHERE revenue > 10;
INSERT INTO sales.customers
    SELECT g, 'c' || g || '@example.com', 'Name ' || g, '1990-01-02', NULL, ARRAY['a']
    FROM generate_series(1, 20) g;
INSERT INTO sales.orders SELECT g, g % 20 + 1, g * 1.5 FROM generate_series(1, 50) g;
INSERT INTO public.events (kind) SELECT 'k' FROM generate_series(1, 3000);
CREATE MATERIALIZED VIEW reporting.daily AS
    SELECT placed_at::date AS day, count(*) AS n FROM sales.orders GROUP BY 1;
ANALYZE;
"""
PG_TRUTH_COLUMNS = """
SELECT table_schema, table_name, column_name, data_type, character_maximum_length,
       numeric_precision, numeric_scale, udt_name, is_nullable = 'YES', ordinal_position
FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema IN ('sales', 'reporting', 'public')
ORDER BY 1, 2, ordinal_position"""
PG_TRUTH_PK = """
SELECT tc.table_name, array_agg(k.column_name::text ORDER BY k.ordinal_position)
FROM information_schema.table_constraints tc
JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)
WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema IN ('sales', 'public')
GROUP BY tc.table_name"""
PG_TRUTH_FK = """
SELECT k.table_name, k.constraint_name, array_agg(k.column_name::text ORDER BY k.ordinal_position),
       min(r.table_schema), min(r.table_name),
       array_agg(r.column_name::text ORDER BY k.ordinal_position)
FROM information_schema.referential_constraints rc
JOIN information_schema.key_column_usage k
  ON k.constraint_schema = rc.constraint_schema AND k.constraint_name = rc.constraint_name
JOIN information_schema.key_column_usage r
  ON r.constraint_schema = rc.unique_constraint_schema
 AND r.constraint_name = rc.unique_constraint_name
 AND r.ordinal_position = k.position_in_unique_constraint
GROUP BY k.table_name, k.constraint_name"""


def pg_type(data_type: str, length: int | None, precision: int | None, scale: int | None,
            udt: str) -> str:  # fmt: skip
    """information_schema's type parts, spelled the way format_type() spells them."""
    if data_type == "ARRAY":
        return udt.removeprefix("_") + "[]"
    if length:
        return f"{data_type}({length})"
    if data_type == "numeric" and precision is not None:
        return f"numeric({precision},{scale})"
    return data_type


@pytest.fixture
async def postgres(unique: str, password: str) -> AsyncIterator[asyncpg.Connection]:
    async with postgres_database(password, unique) as conn:
        await conn.execute(PG_DDL)
        yield conn


async def test_postgres_discovery_matches_the_catalog(
    postgres: asyncpg.Connection, unique: str, secret_ref: str, password: str
) -> None:
    cfg = config("postgresql", 5432, secret_ref, databases=[unique], **LIMITS)
    events, report = await discover(cfg)
    assert report.failures == []
    assert events[0].data.counts == {"databases": 1, "schemas": 4, "tables": 5, "views": 3}
    tables = check_stream(events, password)
    schemas = [e.data.name for e in events if e.type == CONTAINER_DISCOVERED]
    assert schemas == [unique, "empty", "public", "reporting", "sales"]

    truth_tables = {
        r[1]: ("view" if r[2] == "VIEW" else "table", r[0])
        for r in await postgres.fetch(
            """SELECT table_schema, table_name, table_type FROM information_schema.tables
               WHERE table_schema IN ('sales', 'reporting', 'public', 'empty')"""
        )
    }
    truth_tables |= {
        r[0]: ("view", r[1])
        for r in await postgres.fetch("SELECT matviewname, schemaname FROM pg_matviews")
    }
    assert {n: (t.kind, t.schema_urn.rsplit("/", 1)[1]) for n, t in tables.items()} == (
        truth_tables
    )

    truth_columns: dict[str, list[tuple[str, str, bool, int]]] = defaultdict(list)
    for r in await postgres.fetch(PG_TRUTH_COLUMNS):
        truth_columns[r[1]].append((r[2], pg_type(*r[3:8]), r[8], r[9]))
    for name, columns in truth_columns.items():
        assert columns_of(tables[name]) == columns, name

    pks = {r[0]: r[1] for r in await postgres.fetch(PG_TRUTH_PK)}
    assert {n: t.primary_key for n, t in tables.items() if t.primary_key} == pks
    fks = {
        (r[0], r[1]): (r[2], table_urn(cfg.name, unique, r[3], r[4]), r[5])
        for r in await postgres.fetch(PG_TRUTH_FK)
    }
    found = {
        (n, fk.name): (fk.columns, fk.ref_table_urn, fk.ref_columns)
        for n, t in tables.items()
        for fk in t.foreign_keys
    }
    assert found == fks and len(fks) == 3

    for name in ("customers", "orders", "order_lines", "shipments"):
        count = await postgres.fetchval(f"SELECT count(*) FROM sales.{name}")
        assert (tables[name].row_count, tables[name].row_count_exact) == (count, True)
    assert_estimate(tables["events"], BIG_ROWS)
    assert tables["events"].size_bytes > 0

    assert lineage_of(tables["customer_revenue"]) == {
        ("sales.customers", "reporting.customer_revenue"),
        ("sales.orders", "reporting.customer_revenue"),
        ("sales.customers.email", "reporting.customer_revenue.email"),
        ("sales.orders.total", "reporting.customer_revenue.revenue"),
    }
    assert lineage_of(tables["big_customers"]) == {
        ("reporting.customer_revenue", "reporting.big_customers"),
        ("reporting.customer_revenue.email", "reporting.big_customers.email"),
    }
    assert lineage_of(tables["daily"]) == {
        ("sales.orders", "reporting.daily"),
        ("sales.orders.placed_at", "reporting.daily.day"),
    }
    tags = tables["customers"].columns[5]
    assert (tags.data_type, tags.samples) == ("text[]", ["{a}"])


# --- MongoDB (FerretDB) -------------------------------------------------------------------

PEOPLE = [
    {
        "_id": i,
        "name": f"P{i}",
        "address": {"city": "Oslo", "zip": f"0{i:03d}"},
        "tags": ["a", "b"],
        "orders": [{"sku": f"S{i}", "qty": i}],
        **({"email": f"p{i}@example.com"} if i % 2 else {}),
    }
    for i in range(1, 51)
]
PEOPLE_FIELDS = {
    "_id": ("int", False),
    "name": ("string", False),
    "address": ("object", False),
    "address.city": ("string", False),
    "address.zip": ("string", False),
    "tags[]": ("string", False),
    "orders[]": ("object", False),
    "orders[].sku": ("string", False),
    "orders[].qty": ("int", False),
    "email": ("string", True),
}


@pytest.fixture
async def mongo(unique: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient("127.0.0.1", 27017)
    db = client[unique]
    try:
        await db.people.insert_many(PEOPLE)
        await db.people.create_index("address.zip", unique=True)
        await db.notes.insert_many([{"text": "x"}, {"text": None}])
        yield db
    finally:
        await client.drop_database(unique)
        await client.close()


async def test_mongodb_discovery_matches_the_collections(
    mongo: Any, unique: str, password: str
) -> None:
    cfg = config("mongodb", 27017, None, databases=[unique], sample_documents=20,
                 exact_count_limit=30)  # fmt: skip
    events, report = await discover(cfg)
    assert report.failures == []
    assert events[0].data.counts == {"databases": 1, "schemas": 1, "collections": 2}
    tables = check_stream(events, password)
    truth = [c["name"] async for c in await mongo.list_collections()]
    assert sorted(tables) == sorted(truth)
    assert all(t.kind == "collection" for t in tables.values())

    people = tables["people"]
    assert {c.name: (c.data_type, c.nullable) for c in people.columns} == PEOPLE_FIELDS
    assert people.primary_key == ["_id"]
    indexes = {ix["name"] async for ix in await mongo.people.list_indexes()}
    assert {i.name for i in people.indexes} == indexes
    assert_estimate(people, await mongo.people.count_documents({}))
    notes = tables["notes"]
    assert (notes.row_count, notes.row_count_exact) == (2, True)
    assert notes.columns[1].nullable and notes.columns[1].profile.null_ratio == 0.5


async def test_a_field_named_by_the_empty_string_is_not_a_column(
    mongo: Any, unique: str, password: str
) -> None:
    """A CSV imported with an empty header gives documents an empty key ``""``. Its column
    had no URN (``.../imported/``, an empty segment no reader parses back) and read in the
    API as a column named by that broken URN; a key nested under a field (``meta.``) has one."""
    await mongo.imported.insert_many([{"": "a", "name": "x", "meta": {"": 1}}, {"name": "y"}])
    cfg = config("mongodb", 27017, None, databases=[unique])
    events, report = await discover(cfg)
    imported = check_stream(events, password)["imported"]
    assert [c.name for c in imported.columns] == ["_id", "name", "meta", "meta."]
    table = table_urn(cfg.name, unique, unique, "imported")
    for urn in column_urns(table, [c.name for c in imported.columns]):
        assert Urn.parse(urn).path[-1], urn
    assert report.failures == []


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mariadb", "postgresql", "mongodb"])
async def test_a_down_source_is_unreachable_and_discovery_stops(kind: str, secret_ref: str) -> None:
    port = closed_port()
    cfg = config(kind, port, None if kind == "mongodb" else secret_ref, timeout_s=1)
    events, _ = await discover(cfg)
    assert len(events) == 1 and events[0].type == SOURCE_CHECKED
    # The event is the source's lastError, read by viewers: the kind of failure only.
    assert (events[0].data.status, events[0].data.error) == ("unreachable", "unreachable")
    async with connector_for(cfg, ACCESS) as connector:
        checked = await connector.validate()  # testDataSource's: the detail, logged and audited
    assert str(port) in checked.error
    assert "refused" in checked.error.lower() or "connect" in checked.error.lower()


@pytest.mark.parametrize(("kind", "port", "message"), [
    ("mariadb", 3306, "Access denied"),
    ("postgresql", 5432, "password authentication failed"),
])  # fmt: skip
async def test_wrong_credentials_are_reported_without_the_secret(
    kind: str, port: int, message: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password-42")
    cfg = config(kind, port, f"file:{wrong}", timeout_s=5)
    async with connector_for(cfg, ACCESS) as connector:
        checked = await connector.validate()
    assert checked.status == "unreachable"
    assert message in checked.error and "not-the-password-42" not in checked.error
    assert checked.error.startswith(f"cannot connect to {kind}://datawave@127.0.0.1:{port}")


async def test_unset_secret_is_a_clear_error() -> None:
    cfg = config("postgresql", 5432, "env:DATAWAVE_SOURCE_TEST_UNSET")
    async with connector_for(cfg, ACCESS) as connector:
        checked = await connector.validate()
    assert checked.status == "unreachable"
    assert checked.error == (
        "secret_ref env:DATAWAVE_SOURCE_TEST_UNSET: "
        "environment variable DATAWAVE_SOURCE_TEST_UNSET is not set"
    )


async def test_failing_sources_do_not_affect_others(
    mysql: aiomysql.Cursor, unique: str, secret_ref: str, password: str, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    good = config("mariadb", 3306, secret_ref, databases=[unique], **LIMITS)
    down = config("postgresql", closed_port(), secret_ref, timeout_s=1)
    denied = config("mariadb", 3306, f"file:{wrong}")
    (events, report), (down_events, _), (denied_events, _) = await asyncio.gather(
        discover(good), discover(down), discover(denied)
    )
    assert len(check_stream(events, password)) == 5 and report.failures == []
    assert [e.data.status for e in down_events + denied_events] == ["unreachable"] * 2


async def test_a_missing_database_is_reported_not_fatal(
    mysql: aiomysql.Cursor, unique: str, secret_ref: str
) -> None:
    cfg = config("mariadb", 3306, secret_ref, databases=[unique, f"{unique}_missing"], **LIMITS)
    events, report = await discover(cfg)
    assert events[0].data.counts["databases"] == 1
    assert report.failures == [f"databases not found: {unique}_missing"]
    assert table_urn(cfg.name, unique, unique, "customers") in {e.subject for e in events}


# --- objects the source lists but will not read -------------------------------------------


@pytest.fixture
async def pg_reader(unique: str, password: str, tmp_path: Path) -> AsyncIterator[DataSourceConfig]:
    """A least-privilege account (``<unique>_reader``: no SELECT on ``payroll``) over a
    database holding a materialized view created ``WITH NO DATA``; dropped afterwards."""
    role = f"{unique}_reader"
    secret = tmp_path / "reader-password"
    secret.write_text("reader-pw-1\n")
    async with postgres_database(password, unique) as conn:
        await conn.execute(f"""
            CREATE TABLE orders (id int PRIMARY KEY, total numeric);
            INSERT INTO orders VALUES (1, 10), (2, 20);
            CREATE TABLE payroll (id int PRIMARY KEY, salary numeric);
            CREATE MATERIALIZED VIEW totals AS SELECT sum(total) AS total FROM orders
                WITH NO DATA;
            CREATE ROLE "{role}" LOGIN PASSWORD 'reader-pw-1';
            GRANT SELECT ON orders, totals TO "{role}";""")
        try:
            yield DataSourceConfig(
                name="it-reader", kind="postgresql", port=5432, user=role,
                secret_ref=f"file:{secret}", databases=[unique], **LIMITS,
            )  # fmt: skip
        finally:
            await conn.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


async def test_postgres_objects_it_may_not_read_are_catalogued_unprofiled(
    pg_reader: DataSourceConfig, unique: str
) -> None:
    """A table the account may not SELECT and a materialized view not yet refreshed are in
    the catalog with their columns, keys and lineage (the catalog lists them), unprofiled;
    they used to be left out, the scan finishing as if they did not exist."""
    events, report = await discover(pg_reader)
    tables = check_stream(events, "reader-pw-1")
    assert sorted(tables) == ["orders", "payroll", "totals"]
    payroll, totals = tables["payroll"], tables["totals"]
    assert [c.name for c in payroll.columns] == ["id", "salary"]
    assert payroll.primary_key == ["id"]
    assert all(c.profile is None and c.samples == [] for c in payroll.columns)
    assert (payroll.row_count, payroll.row_count_exact) == (None, False)
    assert lineage_of(totals) == {
        ("public.orders", "public.totals"),
        ("public.orders.total", "public.totals.total"),
    }
    assert tables["orders"].row_count == 2, "what it may read is profiled as ever"
    assert sorted(report.failures) == [  # described concurrently; the driver's words logged
        f"table {unique}.public.payroll: catalogued unprofiled: {Failure.UNREADABLE}",
        f"table {unique}.public.totals: catalogued unprofiled: {Failure.UNREADABLE}",
    ]


# Creating the view warns as MariaDB does: the DEFINER named does not exist (the point).
@pytest.mark.filterwarnings("ignore:The user specified as a definer")
async def test_mariadb_views_it_may_not_read_are_catalogued_unprofiled(
    mysql: aiomysql.Cursor,
    unique: str,
    secret_ref: str,
    password: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A view whose DEFINER account was dropped (so no one may read it) keeps its place,
    columns and lineage in the catalog."""
    await mysql.execute(
        "CREATE DEFINER = `gone`@`nowhere` SQL SECURITY DEFINER VIEW emails AS "
        "SELECT email FROM customers"
    )
    cfg = config("mariadb", 3306, secret_ref, databases=[unique], **LIMITS)
    events, report = await discover(cfg)
    emails = check_stream(events, password)["emails"]
    assert [(c.name, c.profile) for c in emails.columns] == [("email", None)]
    assert lineage_of(emails) == {
        (f"{unique}.customers", f"{unique}.emails"),
        (f"{unique}.customers.email", f"{unique}.emails.email"),
    }
    # The scan's warning, which whoever may read the source sees: the kind of failure, as
    # its lastError; MariaDB's words named accounts and hosts (`gone`@`nowhere`).
    assert report.failures == [
        f"table {unique}.{unique}.emails: catalogued unprofiled: {Failure.UNREADABLE}"
    ]
    assert "definer" in caplog.text and "nowhere" in caplog.text, "the driver's words logged"
