"""Tables in Spanish, Polish and English, end to end: PostgreSQL -> the real connector -> Kafka
-> the classification consumer -> Neo4j. Every sensitive column is suggested from its values and
local names, decoys stay unlabeled (hire dates spanning decades, SSN-shaped part numbers), labels
carry each signal's contribution, and near-misses wait as candidates that mask nothing."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faker import Faker

from core.settings import Settings, SourceSettings
from core.sources import DataSourceConfig
from core.urns import column_urn, table_urn
from graph import labels
from graph.driver import read
from ingest.connectors.base import connector_for
from ingest.producer import EventProducer
from ingest.source_access import SourceAccess
from ml.consumer import ClassificationConsumer
from ml.service import ClassificationService
from tests.integration.databases import postgres_database

ROWS = 60
DOB = "PII.DateOfBirth"


def ssn_shaped(rng: random.Random) -> str:
    """AAA-GG-SSSS in the SSN's ranges, which have no check digit: part numbers, not SSNs."""
    return f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"


# table -> column -> (SQL type, Faker recipe, the label it should get or None for a decoy)
TABLES = {
    "clientes": {
        "nombre_completo": ("text", lambda f, r: f.name(), "PII.PersonName"),
        "correo": ("text", lambda f, r: f.email(), "PII.Email"),
        "telefono": ("text", lambda f, r: f.phone_number(), "PII.Phone"),
        "fecha_nacimiento": (
            "date",
            lambda f, r: f.date_of_birth(minimum_age=18, maximum_age=90),
            "PII.DateOfBirth",
        ),
        "dni": ("text", lambda f, r: f.nif(), "PII.NationalId"),
        "cuenta_bancaria": ("text", lambda f, r: f.iban(), "PCI.BankAccount"),
        "direccion": ("text", lambda f, r: f.address().replace("\n", ", "), "PII.PostalAddress"),
        "observaciones": ("text", lambda f, r: f.paragraph(nb_sentences=2), None),
        "codigo_pedido": ("text", lambda f, r: f.bothify("PED-########"), None),
    },
    "klienci": {
        "imie_nazwisko": ("text", lambda f, r: f.name(), "PII.PersonName"),
        "pesel": ("text", lambda f, r: f.pesel(), "PII.NationalId"),
        "k7": ("text", lambda f, r: f.free_email(), "PII.Email"),  # a name that says nothing
        "nr_karty": ("text", lambda f, r: r.choice(MAESTRO_JCB), "PCI.CardNumber"),
        "firma": ("text", lambda f, r: f.company(), None),
    },
    "employees": {
        "dob": ("date", lambda f, r: f.date_of_birth(minimum_age=18, maximum_age=70), DOB),
        "ssn": ("text", lambda f, r: f.ssn(), "PII.NationalId"),
        # Thirty-five years of hiring span decades like birth dates; the name says what they are.
        "hire_date": (
            "date",
            lambda f, r: f.date_between(date(1990, 1, 1), date(2024, 12, 31)),
            None,
        ),
    },
    "parts": {
        "part_number": ("text", lambda f, r: ssn_shaped(r), None),
        "sku": ("text", lambda f, r: ssn_shaped(r), None),
    },
}
LOCALE = {"clientes": "es_ES", "klienci": "pl_PL", "employees": "en_US", "parts": "en_US"}
MAESTRO_JCB = ("675936625853", "6759649826438453", "213144978690732", "3530111333300000")


@pytest.fixture
async def estate(settings: Settings, unique: str) -> AsyncIterator[str]:
    """A PostgreSQL database ``unique`` holding the two tables; dropped afterwards."""
    password = settings.source_password.get_secret_value()
    rng = random.Random(15)
    async with postgres_database(password, unique) as conn:
        for table, columns in TABLES.items():
            fake = Faker(LOCALE[table])
            fake.seed_instance(15)
            ddl = ", ".join(f"{name} {sql}" for name, (sql, _, _) in columns.items())
            await conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, {ddl})")
            rows = [tuple(make(fake, rng) for _, make, _ in columns.values()) for _ in range(ROWS)]
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        yield password


async def test_spanish_polish_and_english_tables_end_to_end(
    estate: str,
    classification: ClassificationService,
    settings: Settings,
    admin: AIOKafkaAdminClient,
    unique: str,
    tmp_path: Path,
) -> None:
    secret = tmp_path / "password"
    secret.write_text(estate)
    cfg = DataSourceConfig(
        name=unique,
        kind="postgresql",
        port=5432,
        user="datawave",
        secret_ref=f"file:{secret}",
        databases=[unique],
    )
    access = SourceAccess.from_settings(
        Settings(_env_file=None, sources=SourceSettings(secrets_dir=tmp_path))
    )
    async with connector_for(cfg, access) as connector:
        events = [e async for e in connector.discover("scan-15")]
    topics = [classification.cfg.topic, classification.cfg.changes_topic]
    await admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    async with EventProducer(settings.kafka, unique) as producer:
        await producer.publish_many(events)

    expected = {
        column_urn(table_urn(unique, unique, "public", table), name): label
        for table, columns in TABLES.items()
        for name, (_, _, label) in columns.items()
    }
    consumer = ClassificationConsumer(classification, settings.kafka)
    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(120):
            while consumer.stats.tables < len(TABLES):  # noqa: ASYNC110 (the consumer runs apart)
                await asyncio.sleep(0.2)
    finally:
        consumer.stop()
        await running

    db = classification.database
    found = {}
    for urn in expected:
        rows = await labels.column_labels(classification.driver, db, urn)
        found[urn] = {r["label"]: r["edge"] for r in rows}
    got = {urn.rsplit("/", 1)[1]: sorted(edges) for urn, edges in found.items()}
    want = {urn.rsplit("/", 1)[1]: [label] if label else [] for urn, label in expected.items()}
    assert got == want
    for urn, label in expected.items():
        if label:
            edge = found[urn][label]
            assert edge["status"] == "suggested", (urn, edge["explanation"])
            signals = {c["signal"] for c in json.loads(edge["contributions"])}
            assert {"pattern", "ner", "semantic", "name", "bias"} <= signals

    # Near-misses are candidates: listed for stewards, never LABELED, so they mask nothing.
    candidates = await labels.candidate_labels(classification.driver, db, source=unique, limit=100)
    for c in candidates:
        assert 0.2 <= c["edge"]["confidence"] < 0.5
        assert c["label"] not in found[c["urn"]]
    masked = await read(
        classification.driver,
        db,
        "MATCH (c:Column)-[r:LABELED]->() WHERE c.source = $s AND r.confidence < 0.5 "
        "RETURN count(r) AS n",
        s=unique,
    )
    assert masked[0]["n"] == 0
