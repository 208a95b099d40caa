"""Classification explained over the API: each label's signal contributions, and the near-misses
a steward can page through (labelCandidates) and confirm."""

from __future__ import annotations

from neo4j import AsyncDriver

from core.settings import Settings
from graph import labels
from ml.detectors import ColumnInput
from ml.service import ClassificationService, label_rows
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute
from tests.ml_support import shared_classifier

LABELS = """
query ($urn: ID!) {
  node(id: $urn) {
    ... on Column {
      labels { label { name } status confidence contributions { signal score contribution } }
    }
  }
}
"""
CANDIDATES = """
query ($source: String, $first: Int!, $after: String) {
  labelCandidates(source: $source, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { label confidence column { id } explanation contributions { signal } } }
  }
}
"""
EMAILS = tuple(f"user{i}@example.com" for i in range(20))
PINS = tuple(f"{i:04d}" for i in range(20))  # 4-digit codes: CVV-shaped, yet nothing says so


async def test_contributions_and_candidates(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    db = settings.neo4j.database
    estate.table("people", ("kontakt", "pin"))
    await estate.write(neo4j, db)
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    service = ClassificationService(
        neo4j, db, ClassifierSettings(), shared_classifier(), "default:1"
    )
    email, pins = estate.column_urn("people", "kontakt"), estate.column_urn("people", "pin")
    written = await service.classify_columns(
        [
            ColumnInput(email, "kontakt", "varchar", "people", "", EMAILS),
            ColumnInput(pins, "pin", "varchar", "people", "", PINS),
        ]
    )
    expected_candidates = {(c.urn, k.label) for c in written for k in c.candidates}
    assert (pins, "PCI.CVV") in expected_candidates

    node = (await execute(LABELS, urn=email))["node"]
    [assignment] = node["labels"]
    assert assignment["label"]["name"] == "PII.Email" and assignment["status"] == "SUGGESTED"
    signals = {c["signal"]: c for c in assignment["contributions"]}
    assert {"pattern", "ner", "semantic", "name", "bias", "floor:specific"} <= set(signals)
    assert signals["pattern"]["score"] == 1.0 and signals["pattern"]["contribution"] > 0

    seen, after = [], None
    while True:
        page = (await execute(CANDIDATES, source=estate.name, first=1, after=after))[
            "labelCandidates"
        ]
        assert page["totalCount"] == len(expected_candidates)
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {(n["column"]["id"], n["label"]) for n in seen} == expected_candidates
    for n in seen:
        assert 0.2 <= n["confidence"] < 0.5 and "bias" in {c["signal"] for c in n["contributions"]}
