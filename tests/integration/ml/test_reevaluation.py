"""A new model re-scores the evidence stored in the graph: what changed is reported (new, lost,
moved), values that decide alone keep their label, and steward decisions stand. A new version in
the registry is picked up by the admin's reevaluateLabels mutation and `datawave classify
reevaluate`, which re-score only what another version scored."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.urns import column_urn, table_urn
from graph import labels
from ml.detectors import ColumnInput
from ml.model import DETECTORS, PAIRS, Model, Params
from ml.service import ClassificationService, model_props
from ml.taxonomy import BUILTIN
from ml.training import default_model
from tests.integration.graphql.conftest import Served
from tests.integration.ml.conftest import GraphQL

EMAILS = tuple(f"user{i}@example.com" for i in range(20))
CODES = ("123", "456", "789", "x", "y", "z")
DATAWAVE = str(Path(sys.executable).parent / "datawave")


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
    service.cfg = service.cfg.model_copy(update={"batch_size": 1})  # a transaction per column
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


REEVALUATE = """
mutation ($source: String) {
  reevaluateLabels(source: $source) {
    model previousModels columns newCount lostCount movedCount
    changes { column label kind before after }
    errors { message }
  }
}
"""


@pytest.fixture
async def api_service(
    ml_api: Served, classification: ClassificationService
) -> AsyncIterator[ClassificationService]:
    """The API's classification service is the test's, on the test's own model registry (a
    new version in the shared registry would change every other test's labels), with its own
    classifier object: loading a model into it leaves the session's shared one alone."""
    service = replace(classification, classifier=copy.copy(classification.classifier))
    lazy = ml_api.app.state.datawave.classifier
    before, lazy._service = lazy._service, service
    yield service
    lazy._service = before


async def register(service: ClassificationService, model: Model) -> str:
    registered = await labels.register_model(
        service.driver, service.database, service.cfg.registry, model_props(model)
    )
    return registered["id"]


async def test_a_new_model_version_triggers_reevaluation_through_graphql_and_the_cli(
    api_service: ClassificationService, graphql: GraphQL, unique: str
) -> None:
    service, db = api_service, api_service.database
    first = await labels.active_model(
        service.driver, db, unique, model_props(service.classifier.model)
    )
    service.model_id = first["id"]
    emails, codes = col(unique, "contact_x", EMAILS), col(unique, "security_code", CODES)
    confirmed = col(unique, "kontakt", EMAILS)
    await service.classify_columns([emails, codes, confirmed])
    await labels.decide_label(
        service.driver, db, confirmed.urn, "PII.Email", "confirmed", "sam", datetime.now(UTC)
    )
    nothing = Params((0.0,) * (len(DETECTORS) + len(PAIRS)), -9.0)
    sceptic = await register(service, Model({label.name: nothing for label in BUILTIN}))

    steward = graphql.token("steward", "pii:read")
    refused = await graphql(steward, REEVALUATE, source=unique)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await statuses(service, codes.urn) == {"PCI.CVV": "review"}

    admin = graphql.token("admin")
    body = await graphql(admin, REEVALUATE, source=unique)
    assert "errors" not in body, body
    report = body["data"]["reevaluateLabels"]
    assert (report["model"], report["previousModels"]) == (sceptic, [first["id"]])
    assert (report["columns"], report["lostCount"], report["errors"]) == (2, 1, [])
    changes = report["changes"]
    assert len(changes) == report["newCount"] + report["lostCount"] + report["movedCount"]
    assert {
        "column": codes.urn,
        "label": "PCI.CVV",
        "kind": "LOST",
        "before": "REVIEW",
        "after": None,
    } in changes
    assert all(c["column"] != confirmed.urn for c in changes)
    assert await statuses(service, codes.urn) == {}
    assert await statuses(service, emails.urn) == {"PII.Email": "suggested"}  # values decide
    assert await statuses(service, confirmed.urn) == {"PII.Email": "confirmed"}
    # Nothing is stale any more: a second call re-scores nothing.
    again = (await graphql(admin, REEVALUATE, source=unique))["data"]["reevaluateLabels"]
    assert (again["columns"], again["changes"]) == (0, [])

    # A version registered by `datawave classify fit` elsewhere; the CLI re-scores with it.
    third = await register(service, default_model())
    env = os.environ | {"DATAWAVE_CLASSIFIER__REGISTRY": unique}
    done = await asyncio.to_thread(
        subprocess.run,
        [DATAWAVE, "classify", "reevaluate", "--source", unique],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert f"re-scored 1 columns with model {third} (scored before by {sceptic})" in out
    rows = await labels.column_labels(service.driver, db, emails.urn)
    assert [(r["label"], r["edge"]["model"]) for r in rows] == [("PII.Email", third)]
    assert await statuses(service, confirmed.urn) == {"PII.Email": "confirmed"}


async def test_reevaluating_an_unknown_source_is_not_found(
    api_service: ClassificationService, graphql: GraphQL, unique: str
) -> None:
    """A typo re-scored no column and answered success."""
    body = await graphql(graphql.token("admin"), REEVALUATE, source=unique)
    payload = body["data"]["reevaluateLabels"]
    assert (payload["columns"], payload["errors"]) == (0, [{"message": "no such source"}]), body
