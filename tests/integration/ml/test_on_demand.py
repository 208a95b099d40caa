"""On-demand classification: through GraphQL it reads the table again from the real
PostgreSQL, MariaDB or FerretDB (bounded by the source's sample size); when the source cannot be
read the profile's min and max stand in, and the source's circuit breaker opens after repeated
failures. It never replaces a label that had stronger evidence, and steward decisions stand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import pytest
from pymongo import AsyncMongoClient

from core.settings import Settings
from core.sources import DataSourceConfig
from core.urns import column_urn, table_urn
from graph import labels
from graph.driver import write
from graph.sources import register_source
from ml.detectors import ColumnInput
from ml.service import ClassificationService
from tests.integration.graphql.conftest import listening_socket
from tests.integration.ml.conftest import GraphQL

EMAILS = tuple(f"user{i}@example.com" for i in range(20))


async def test_classify_urn_keeps_stronger_evidence(
    classification: ClassificationService, unique: str
) -> None:
    service, db = classification, classification.database
    table = table_urn(unique, "db", "public", "people")
    email, phone = column_urn(table, "kontakt"), column_urn(table, "tel")
    await write(
        service.driver,
        db,
        """
        MERGE (t:Asset {urn: $t}) SET t:Table, t.name = 'people'
        MERGE (e:Asset {urn: $e}) SET e:Column, e.name = 'kontakt', e.dataType = 'varchar',
          e.min = 'ana@example.com', e.max = 'zoe@example.org', e.ordinal = 1
        MERGE (p:Asset {urn: $p}) SET p:Column, p.name = 'tel', p.dataType = 'varchar',
          p.ordinal = 2
        MERGE (t)-[:HAS_COLUMN]->(e) MERGE (t)-[:HAS_COLUMN]->(p)
        """,
        t=table,
        e=email,
        p=phone,
    )
    [scanned, _] = await service.classify_columns(
        [
            ColumnInput(email, "kontakt", "varchar", "people", "", EMAILS),
            ColumnInput(phone, "tel", "varchar", "people", "", ("+44 20 7946 0958",) * 20),
        ]
    )
    [(label, first)] = [(x.label, x.confidence) for x in scanned.labels]
    assert label == "PII.Email" and first >= 0.9
    await labels.decide_label(
        service.driver, db, phone, "PII.Phone", "rejected", "sam", datetime.now(UTC)
    )

    # Two samples (min and max) never decide alone; the scan's 20 valid addresses did.
    by_column = {c.urn: c for c in await service.classify_urn(table)}
    [kept] = by_column[email].labels
    assert (kept.label, kept.confidence, kept.status) == ("PII.Email", first, "suggested")
    rows = await labels.column_labels(service.driver, db, email)
    assert [(r["label"], r["edge"]["confidence"]) for r in rows] == [("PII.Email", first)]
    rows = await labels.column_labels(service.driver, db, phone)
    assert [(r["label"], r["edge"]["status"]) for r in rows] == [("PII.Phone", "rejected")]


ENGINES = {"postgresql": 5432, "mariadb": 3306, "mongodb": 27017}  # mongodb: FerretDB
DATAWAVE = str(Path(sys.executable).parent / "datawave")
ROWS = 30  # in the source; the source's sample_size below reads 20 of them
CLASSIFY = """
mutation ($urn: ID!) {
  classify(urn: $urn) {
    sampledFrom unsampledReason
    columns { name labels { label { name } status confidence evidence { detector hits total } } }
    errors { message }
  }
}
"""
CATALOG = """
MERGE (t:Asset {urn: $table}) SET t:Table, t.name = 'people', t.source = $source
WITH t
UNWIND $columns AS c
MERGE (col:Asset {urn: c.urn})
SET col:Column, col.name = c.name, col.source = $source, col.dataType = 'varchar',
    col.ordinal = c.ordinal, col.min = c.min, col.max = c.max
MERGE (t)-[:HAS_COLUMN]->(col)
"""


@pytest.fixture
async def people_db(unique: str, settings: Settings, request: pytest.FixtureRequest) -> Any:
    """A table ``people`` of ROWS e-mail addresses and UK phone numbers in a new database of
    the real PostgreSQL, MariaDB or FerretDB (a collection); dropped afterwards."""
    engine = request.param
    password = settings.source_password.get_secret_value()
    login = {"host": "127.0.0.1", "user": "datawave", "password": password}
    rows = [(f"kunde{i}@example.org", f"+44 20 7946 {i:04d}") for i in range(ROWS)]
    if engine == "postgresql":
        admin = await asyncpg.connect(**login, database="postgres")
        await admin.execute(f'CREATE DATABASE "{unique}"')
        conn = await asyncpg.connect(**login, database=unique)
        await conn.execute("CREATE TABLE people (kontakt varchar(80), tel varchar(40))")
        await conn.executemany("INSERT INTO people VALUES ($1, $2)", rows)
        await conn.close()
        yield engine, "public"
        await admin.execute(f'DROP DATABASE "{unique}" WITH (FORCE)')
        await admin.close()
    elif engine == "mongodb":
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient("127.0.0.1", 27017)
        await client[unique].people.insert_many([{"kontakt": k, "tel": t} for k, t in rows])
        yield engine, unique
        await client.drop_database(unique)
        await client.close()
    else:
        maria = await aiomysql.connect(**login, port=3306, autocommit=True)
        async with maria.cursor() as cur:
            await cur.execute(f"CREATE DATABASE `{unique}`")
            await cur.execute(
                f"CREATE TABLE `{unique}`.people (kontakt varchar(80), tel varchar(40))"
            )
            await cur.executemany(f"INSERT INTO `{unique}`.people VALUES (%s, %s)", rows)
        yield engine, unique
        async with maria.cursor() as cur:
            await cur.execute(f"DROP DATABASE `{unique}`")
        maria.close()


async def register(
    service: ClassificationService, unique: str, kind: str, port: int, schema: str
) -> tuple[str, str, str]:
    """The source (its password in an allowed variable) and the table as a scan left it in
    the graph: no samples, min and max only. Returns the table's and columns' URNs."""
    login = {} if kind == "mongodb" else {
        "user": "datawave", "secret_ref": f"env:DATAWAVE_SOURCE_{unique.upper()}"
    }  # fmt: skip
    config = DataSourceConfig(
        name=unique, kind=kind, port=port, databases=[unique], sample_size=20, profile_rows=100,
        **login,
    )  # fmt: skip
    await register_source(service.driver, service.database, config)
    table = table_urn(unique, unique, schema, "people")
    kontakt, tel = column_urn(table, "kontakt"), column_urn(table, "tel")
    columns = [
        {"urn": kontakt, "name": "kontakt", "ordinal": 1, "min": "kunde0@example.org",
         "max": "kunde9@example.org"},
        {"urn": tel, "name": "tel", "ordinal": 2, "min": "+44 20 7946 0000",
         "max": "+44 20 7946 0029"},
    ]  # fmt: skip
    await write(
        service.driver, service.database, CATALOG, table=table, source=unique, columns=columns
    )
    return table, kontakt, tel


@pytest.mark.parametrize("people_db", list(ENGINES), indirect=True)
async def test_classify_samples_the_source_again(
    classification: ClassificationService,
    people_db: tuple[str, str],
    unique: str,
    settings: Settings,
    graphql: GraphQL,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind, schema = people_db
    monkeypatch.setenv(
        f"DATAWAVE_SOURCE_{unique.upper()}", settings.source_password.get_secret_value()
    )
    table, _, tel = await register(classification, unique, kind, ENGINES[kind], schema)
    await labels.decide_label(
        classification.driver, classification.database, tel, "PII.Phone", "rejected", "sam",
        datetime.now(UTC),
    )  # fmt: skip

    body = await graphql(graphql.token("steward"), CLASSIFY, urn=table)
    assert "errors" not in body, body
    done = body["data"]["classify"]
    assert (done["sampledFrom"], done["unsampledReason"], done["errors"]) == ("SOURCE", None, [])
    by_name = {c["name"]: c["labels"] for c in done["columns"]}
    [email] = by_name["kontakt"]
    # Min and max alone never decide; the source's 20 fresh values (its sample_size) do.
    assert (email["label"]["name"], email["status"]) == ("PII.Email", "SUGGESTED")
    assert email["confidence"] >= 0.95
    [pattern] = [e for e in email["evidence"] if e["detector"] == "pattern"]
    assert (pattern["hits"], pattern["total"]) == (20, 20)
    # The steward's rejection stands, though 20 valid phone numbers were read.
    assert [(x["label"]["name"], x["status"]) for x in by_name["tel"]] == [
        ("PII.Phone", "REJECTED")
    ]


async def test_an_unreachable_source_falls_back_to_min_max_and_opens_its_breaker(
    classification: ClassificationService, unique: str, settings: Settings, graphql: GraphQL,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv(f"DATAWAVE_SOURCE_{unique.upper()}", "whatever")
    closed = listening_socket()  # bound, never listening: connections are refused
    try:
        table, kontakt, _ = await register(
            classification, unique, "postgresql", closed.getsockname()[1], "public"
        )
        token = graphql.token("steward")
        reasons = []
        for _ in range(settings.resilience.breaker_threshold + 1):
            done = (await graphql(token, CLASSIFY, urn=table))["data"]["classify"]
            assert done["sampledFrom"] == "PROFILE" and done["errors"] == []
            reasons.append(done["unsampledReason"])
    finally:
        closed.close()
    assert all(r.startswith("not sampled: ") for r in reasons)
    assert "circuit breaker is open" not in reasons[0]
    assert "circuit breaker is open" in reasons[-1]
    # What min and max show is written, below what fresh values would give.
    [row] = await labels.column_labels(classification.driver, classification.database, kontakt)
    assert row["label"] == "PII.Email" and row["edge"]["confidence"] < 0.95
    # `datawave classify urn` says why it fell back, and what it wrote.
    done = await asyncio.to_thread(
        subprocess.run, [DATAWAVE, "classify", "urn", table], capture_output=True, text=True,
        timeout=240, env=os.environ | {"COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "circuit breaker is open" in out and "the profile's min and max stood in" in out
    assert "kontakt" in out and "PII.Email" in out
