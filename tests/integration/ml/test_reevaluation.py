"""A new model re-scores the evidence stored in the graph: what changed is reported (new, lost,
moved), values that decide alone keep their label, and steward decisions stand."""

from __future__ import annotations

from datetime import UTC, datetime

from core.urns import column_urn, table_urn
from graph import labels
from ml.detectors import ColumnInput
from ml.model import DETECTORS, PAIRS, Model, Params
from ml.service import ClassificationService
from ml.taxonomy import BUILTIN

EMAILS = tuple(f"user{i}@example.com" for i in range(20))
CODES = ("123", "456", "789", "x", "y", "z")


def col(unique: str, name: str, samples: tuple[str, ...]) -> ColumnInput:
    urn = column_urn(table_urn(unique, "db", "public", "people"), name)
    return ColumnInput(urn, name, "varchar", "people", "", samples)


async def statuses(service: ClassificationService, urn: str) -> dict[str, str]:
    rows = await labels.column_labels(service.driver, service.database, urn)
    return {r["label"]: r["edge"]["status"] for r in rows}


async def test_a_new_model_rescores_stored_evidence(
    classification: ClassificationService, unique: str
) -> None:
    service = classification
    emails, codes = col(unique, "contact_x", EMAILS), col(unique, "security_code", CODES)
    confirmed = col(unique, "kontakt", EMAILS)
    await service.classify_columns([emails, codes, confirmed])
    db = service.database
    await labels.decide_label(
        service.driver, db, confirmed.urn, "PII.Email", "confirmed", "sam", datetime.now(UTC)
    )
    assert await statuses(service, codes.urn) == {"PCI.CVV": "review"}

    # A model that believes nothing: only values that decide alone keep their labels.
    nothing = Params((0.0,) * (len(DETECTORS) + len(PAIRS)), -9.0)
    sceptic = Model({label.name: nothing for label in BUILTIN})
    before, before_id = service.classifier.model, service.model_id
    service.classifier.model, service.model_id = sceptic, f"{unique}:2"
    try:
        report = await service.reevaluate(source=unique)
    finally:
        service.classifier.model, service.model_id = before, before_id

    assert report.columns == 2  # the confirmed column has nothing for the machine to re-score
    assert (codes.urn, "PCI.CVV", "review") in report.lost
    assert await statuses(service, codes.urn) == {}
    email_edges = await labels.column_labels(service.driver, db, emails.urn)
    assert [(r["label"], r["edge"]["status"], r["edge"]["model"]) for r in email_edges] == [
        ("PII.Email", "suggested", f"{unique}:2")
    ]
    assert "values alone (specific validator)" in email_edges[0]["edge"]["explanation"]
    assert await statuses(service, confirmed.urn) == {"PII.Email": "confirmed"}
