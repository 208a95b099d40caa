"""Classification against the real graph and Kafka: labels written, re-evaluated on rescan,
steward decisions kept, the model registry, and the consumer on TableDiscovered events."""

from __future__ import annotations

import asyncio
import base64
import copy
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from core.events import (
    TABLE_DISCOVERED,
    ColumnInfo,
    ColumnProfile,
    TableDiscovered,
    make_event,
    parse_event,
)
from core.sample_cipher import SampleCipher
from core.settings import KafkaSettings, Settings
from core.urns import column_urn, schema_urn, source_urn, table_urn
from graph import labels
from graph.anomalies import anomaly_page
from graph.driver import read, write
from ingest.producer import EventProducer
from ml.consumer import ClassificationConsumer
from ml.detectors import ColumnInput
from ml.service import ClassificationService, label_rows, model_props, open_service
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from ml.training import default_model
from tests.integration.cleanup import drop_classified, drop_models
from tests.ml_support import shared_classifier

EMAILS = tuple(f"user{i}@example.com" for i in range(20))
PHONES = tuple(f"+44 20 7946 {i:04d}" for i in range(20))


@pytest.fixture
async def service(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> AsyncIterator[ClassificationService]:
    """A service on the shared classifier, with its own model registry; cleans up its nodes."""
    db = settings.neo4j.database
    cfg = ClassifierSettings(
        registry=unique, topic=unique, group_id=unique, changes_topic=f"{unique}-changes"
    )
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    yield ClassificationService(neo4j, db, cfg, shared_classifier(), f"{unique}:1")
    await drop_classified(settings, neo4j, unique)


async def one_partition(settings: Settings, topic: str) -> None:
    """Create ``topic`` with one partition: the consumer reads its events in order."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def until(check: Callable[[], Awaitable[object]]) -> None:
    """Poll the graph until ``check`` returns something truthy (the consumer runs apart)."""
    async with asyncio.timeout(60):
        while not await check():  # noqa: ASYNC110 (the graph has no change notification)
            await asyncio.sleep(0.2)


def col(unique: str, name: str, samples: tuple[str, ...]) -> ColumnInput:
    urn = column_urn(table_urn(unique, "db", "public", "people"), name)
    return ColumnInput(urn, name, "varchar", "people", "", samples)


async def edges(service: ClassificationService, urn: str) -> dict[str, str]:
    rows = await labels.column_labels(service.driver, service.database, urn)
    return {r["label"]: r["edge"]["status"] for r in rows}


async def test_labels_follow_the_evidence_and_stewards_win(
    service: ClassificationService, unique: str
) -> None:
    contact = col(unique, "contact_details", EMAILS)
    await service.classify_columns([contact])
    assert set(await edges(service, contact.urn)) == {"PII.Email"}
    [row] = await labels.column_labels(service.driver, service.database, contact.urn)
    assert row["edge"]["model"] == f"{unique}:1" and "pattern" in row["edge"]["method"]
    assert "user0@example.com" not in row["edge"]["explanation"] + row["edge"]["evidence"]

    # The column now holds phone numbers: the suggestion moves with the evidence.
    await service.classify_columns([col(unique, "contact_details", PHONES)])
    assert set(await edges(service, contact.urn)) == {"PII.Phone"}

    # A steward rejects Phone and confirms Email; a rescan with phones again keeps both.
    at = datetime.now(UTC)
    db = service.database
    await labels.decide_label(service.driver, db, contact.urn, "PII.Phone", "rejected", "sam", at)
    await labels.decide_label(service.driver, db, contact.urn, "PII.Email", "confirmed", "sam", at)
    await service.classify_columns([col(unique, "contact_details", PHONES)])
    assert await edges(service, contact.urn) == {"PII.Phone": "rejected", "PII.Email": "confirmed"}
    feedback = [
        f for f in await labels.steward_feedback(service.driver, db) if f["label"] == "PII.Phone"
    ]
    assert any(not f["positive"] and f["features"]["pattern"] == 1.0 for f in feedback)
    assert (
        await labels.decide_label(
            service.driver, db, contact.urn, "No.Such", "confirmed", "sam", at
        )
        is None
    )


async def test_weak_evidence_goes_to_the_review_queue(
    service: ClassificationService, unique: str
) -> None:
    codes = col(unique, "security_code", ("123", "456", "789", "x", "y", "z"))
    [written] = await service.classify_columns([codes])
    assert [(r.label, r.status) for r in written.labels] == [("PCI.CVV", "review")]
    queue = await labels.review_queue(service.driver, service.database, source=unique)
    assert [(r["urn"], r["label"]) for r in queue] == [(codes.urn, "PCI.CVV")]


async def test_model_registry_versions(service: ClassificationService, unique: str) -> None:
    db = service.database
    first = await labels.active_model(service.driver, db, unique, {"params": "{}"})
    assert (first["id"], first["version"], first["active"]) == (f"{unique}:1", 1, True)
    assert (await labels.active_model(service.driver, db, unique, {"params": "new"}))[
        "params"
    ] == "{}"
    second = await labels.register_model(service.driver, db, unique, {"params": "{}"})
    assert (second["version"], second["active"]) == (2, True)
    rows = await read(
        service.driver,
        db,
        "MATCH (m:ClassifierModel {registry: $r}) RETURN m.version AS v, m.active AS a ORDER BY v",
        r=unique,
    )
    assert rows == [{"v": 1, "a": False}, {"v": 2, "a": True}]


async def test_classify_urn_from_the_graph(service: ClassificationService, unique: str) -> None:
    table = table_urn(unique, "db", "public", "people")
    await write(
        service.driver,
        service.database,
        """
        MERGE (t:Asset {urn: $t}) SET t:Table, t.name = 'people'
        MERGE (c:Asset {urn: $c}) SET c:Column, c.name = 'email', c.dataType = 'varchar',
          c.min = 'ana@example.com', c.max = 'zoe@example.org', c.ordinal = 1
        MERGE (t)-[:HAS_COLUMN]->(c)
        """,
        t=table,
        c=column_urn(table, "email"),
    )
    [written] = await service.classify_urn(table)
    assert written.labels[0].label == "PII.Email"
    assert await edges(service, column_urn(table, "email")) == {
        "PII.Email": written.labels[0].status
    }


async def test_open_service_bootstraps_the_registry(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    cfg = ClassifierSettings(registry=unique)
    try:
        cipher = SampleCipher.from_settings(settings.kafka)
        opened = await open_service(neo4j, settings.neo4j.database, cfg, cipher=cipher)
        assert opened.model_id == f"{unique}:1"
    finally:
        await drop_models(settings, neo4j, unique)


def discovered(unique: str, rows: int, null_ratio: float, *columns: tuple[str, tuple[str, ...]]):  # type: ignore[no-untyped-def]
    data = TableDiscovered(
        name="people",
        kind="table",
        schema_urn=schema_urn(unique, "db", "public"),
        row_count=rows,
        columns=[
            ColumnInfo(
                name=name,
                data_type="varchar",
                ordinal=i,
                samples=list(samples),
                profile=ColumnProfile(null_ratio=null_ratio),
            )
            for i, (name, samples) in enumerate(columns, start=1)
        ],
    )
    return make_event(
        TABLE_DISCOVERED, source_urn(unique), table_urn(unique, "db", "public", "people"), data
    )


async def of_table(service: ClassificationService, table: str) -> list[dict]:
    rows = await anomaly_page(service.driver, service.database, limit=100, table=table)
    return [anomaly for anomaly, _ in rows]


async def test_consumer_labels_columns_and_reports_anomalies(
    service: ClassificationService, settings: Settings, unique: str
) -> None:
    first = discovered(unique, 1000, 0.0, ("email", EMAILS), ("id", tuple(map(str, range(20)))))
    second = discovered(
        unique, 100, 0.5, ("email", EMAILS), ("id", tuple(map(str, range(20)))), ("mobile", PHONES)
    )
    changes = AIOKafkaConsumer(
        service.cfg.changes_topic,
        bootstrap_servers=settings.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        topics = [service.cfg.topic, service.cfg.changes_topic]
        await admin.create_topics(
            [NewTopic(t, num_partitions=2, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()
    consumer = ClassificationConsumer(service, settings.kafka)
    running = asyncio.create_task(consumer.run())
    await changes.start()
    try:
        async with EventProducer(settings.kafka, unique) as producer:
            await producer.publish(first)
            email = column_urn(first.subject, "email")
            await until(lambda: edges(service, email))
            await producer.publish(second)
            await until(lambda: of_table(service, first.subject))
        found = await of_table(service, first.subject)
        assert {(a["kind"], a["subject"].rsplit("/", 1)[1]) for a in found} == {
            ("row_count_drop", "people"),
            ("null_ratio_jump", "email"),
            ("null_ratio_jump", "id"),
            ("new_sensitive_column", "mobile"),
        }
        assert await edges(service, column_urn(first.subject, "id")) == {}
        assert await edges(service, column_urn(first.subject, "mobile")) == {
            "PII.Phone": "suggested"
        }
        published = []
        async with asyncio.timeout(30):
            while len(published) < 4:
                batch = await changes.getmany(timeout_ms=500)
                published += [r for rs in batch.values() for r in rs]
        assert {r.key.decode().rsplit("/", 1)[1] for r in published} == {
            "people",
            "email",
            "id",
            "mobile",
        }
    finally:
        consumer.stop()
        await running
        await changes.stop()
    assert consumer.stats.tables == 2 and consumer.stats.anomalies == 4


async def test_the_consumer_picks_up_a_new_model_version(
    service: ClassificationService, settings: Settings, unique: str
) -> None:
    """A version registered while the consumer runs (``datawave classify fit`` elsewhere)
    labels the next batch; its own classifier object, so the session's shared one is left."""
    own = replace(service, classifier=copy.copy(service.classifier))
    db = own.database
    first = await labels.active_model(own.driver, db, unique, model_props(default_model()))
    await one_partition(settings, unique)
    consumer = ClassificationConsumer(own, settings.kafka)
    running = asyncio.create_task(consumer.run())
    email = column_urn(table_urn(unique, "db", "public", "people"), "email")

    async def model_of_email() -> str | None:
        rows = await labels.column_labels(own.driver, db, email)
        return rows[0]["edge"]["model"] if rows else None

    try:
        async with EventProducer(settings.kafka, unique) as producer:
            await producer.publish(discovered(unique, 10, 0.0, ("email", EMAILS)))
            await until(model_of_email)
            assert await model_of_email() == first["id"]
            second = await labels.register_model(
                own.driver, db, unique, model_props(default_model())
            )
            await producer.publish(discovered(unique, 10, 0.0, ("email", EMAILS)))
            await until(lambda: _is(model_of_email, second["id"]))
    finally:
        consumer.stop()
        await running
    assert own.model_id == second["id"] and service.classifier.model is not own.classifier.model


async def _is(read_value: Callable[[], Awaitable[object]], expected: object) -> bool:
    return await read_value() == expected


async def test_refit_learns_from_stewards(service: ClassificationService, unique: str) -> None:
    contact = col(unique, "contact_details", PHONES)
    await service.classify_columns([contact])
    at = datetime.now(UTC)
    db = service.database
    await labels.decide_label(service.driver, db, contact.urn, "PII.Phone", "rejected", "sam", at)
    await labels.active_model(service.driver, db, unique, {"params": "{}"})
    before = service.classifier.model
    try:
        registered = await service.refit()
        assert registered["id"] == service.model_id == f"{unique}:2"
        assert registered["stewardExamples"] >= 1 and registered["active"]
    finally:
        service.classifier.model = before  # the classifier is shared by the session


async def test_samples_travel_sealed_and_only_the_classifier_opens_them(
    service: ClassificationService, settings: Settings, admin: AIOKafkaAdminClient, unique: str
) -> None:
    """The raw discovery topic holds no sample in clear (the ingest worker sees none either);
    the classifier opens them, with keys rotated between two scans."""
    topics = [service.cfg.topic, service.cfg.changes_topic]
    await admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1) for t in topics])
    old_key, new_key = (base64.b64encode(os.urandom(32)).decode() for _ in "ab")
    kafka = settings.kafka.model_dump()
    before = KafkaSettings(**kafka | {"sample_keys": {"k1": old_key}, "sample_kid": "k1"})
    rotated = KafkaSettings(
        **kafka | {"sample_keys": {"k1": old_key, "k2": new_key}, "sample_kid": "k2"}
    )
    first = discovered(unique, 10, 0.0, ("contact", EMAILS))
    second = discovered(unique, 10, 0.0, ("contact", EMAILS), ("mobile", PHONES))
    async with EventProducer(before, unique) as producer:
        await producer.publish(first)
    async with EventProducer(rotated, unique) as producer:
        await producer.publish(second)

    raw = AIOKafkaConsumer(unique, auto_offset_reset="earliest", **settings.kafka.client_options())
    await raw.start()
    try:
        async with asyncio.timeout(30):
            records = []
            while len(records) < 2:
                batch = await raw.getmany(timeout_ms=500)
                records += [r for rs in batch.values() for r in rs]
    finally:
        await raw.stop()
    for record, kid in zip(records, ("k1", "k2"), strict=True):
        assert record.value is not None
        assert not any(v.encode() in record.value for v in EMAILS + PHONES), "no sample in clear"
        seen_by_ingest = parse_event(record.value).data  # what the ingest worker reads
        assert all(c.samples == [] for c in seen_by_ingest.columns)
        assert seen_by_ingest.sealed_samples is not None
        assert seen_by_ingest.sealed_samples.kid == kid

    consumer = ClassificationConsumer(service, rotated)
    running = asyncio.create_task(consumer.run())
    try:
        mobile = column_urn(first.subject, "mobile")
        await until(lambda: edges(service, mobile))
    finally:
        consumer.stop()
        await running
    assert consumer.stats.tables == 2 and consumer.stats.skipped == 0
    assert (await edges(service, column_urn(first.subject, "contact"))).keys() == {"PII.Email"}
    assert (await edges(service, mobile)).keys() == {"PII.Phone"}
