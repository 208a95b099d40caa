"""On-demand classification sees less than a scan (profile min and max): it never replaces a
label that had stronger evidence, and steward decisions stand."""

from __future__ import annotations

from datetime import UTC, datetime

from core.urns import column_urn, table_urn
from graph import labels
from graph.driver import write
from ml.detectors import ColumnInput
from ml.service import ClassificationService

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
