"""Classification explained over the API: each label's signal contributions, and the near-misses
a steward can page through (labelCandidates) and confirm."""

from __future__ import annotations

import json

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph import labels
from graph.driver import read, write
from graph.labels import Candidate
from ml.detectors import ColumnInput
from ml.service import ClassificationService, label_rows
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute, post_graphql
from tests.ml_support import shared_classifier

LABELS = """
query ($urn: ID!) {
  node(id: $urn) {
    ... on Column {
      labels {
        label { name } status confidence contributions { signal score contribution }
        explanation evidence { detector hits total }
      }
    }
  }
}
"""
CONFIRM = """
mutation ($input: DecideLabelInput!) { decideLabel(input: $input) { errors { message } } }
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
CANDIDATE_EDGES = """
MATCH (:Column {urn: $urn})-[k:CANDIDATE_LABEL]->(:Label {name: $label}) RETURN count(k) AS n
"""
FEATURES = """
MATCH (:Column {urn: $urn})-[r:LABELED {status: 'confirmed'}]->(:Label {name: $label})
RETURN r.features AS features
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


async def near_miss(estate: Estate, neo4j: AsyncDriver, db: str) -> tuple[str, Candidate]:
    """A column of CVV-shaped codes, classified: its URN and its near-miss PCI.CVV."""
    estate.table("people", ("pin",))
    await estate.write(neo4j, db)
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    service = ClassificationService(
        neo4j, db, ClassifierSettings(), shared_classifier(), "default:1"
    )
    pins = estate.column_urn("people", "pin")
    [written] = await service.classify_columns(
        [ColumnInput(pins, "pin", "varchar", "people", "", PINS)]
    )
    [near] = [k for k in written.candidates if k.label == "PCI.CVV"]
    return pins, near


async def test_a_confirmed_candidate_keeps_what_the_classifier_saw(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A steward confirms a near-miss from labelCandidates: the label shows the confidence,
    explanation and evidence the steward decided on, the near-miss is gone rather than left
    beside it, and the next fit learns from the decision (the detector scores go with it)."""
    db = settings.neo4j.database
    pins, near = await near_miss(estate, neo4j, db)
    decision = {"column": pins, "label": "PCI.CVV", "decision": "CONFIRMED"}
    assert (await execute(CONFIRM, input=decision))["decideLabel"]["errors"] == []

    [confirmed] = [
        a for a in (await execute(LABELS, urn=pins))["node"]["labels"]
        if a["label"]["name"] == "PCI.CVV"
    ]  # fmt: skip
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["confidence"] == near.confidence
    assert confirmed["explanation"] and "PCI.CVV" in confirmed["explanation"]
    assert {e["detector"] for e in confirmed["evidence"]} == {e["detector"] for e in near.evidence}
    assert "bias" in {c["signal"] for c in confirmed["contributions"]}
    left = (await execute(CANDIDATES, source=estate.name, first=10))["labelCandidates"]
    assert "PCI.CVV" not in {e["node"]["label"] for e in left["edges"]}
    kept = await read(neo4j, db, CANDIDATE_EDGES, urn=pins, label="PCI.CVV")
    assert kept == [{"n": 0}]
    [scores] = await read(neo4j, db, FEATURES, urn=pins, label="PCI.CVV")  # what fit reads
    assert json.loads(scores["features"]) == near.features


WITHDRAW = """
mutation ($input: WithdrawLabelDecisionInput!) {
  withdrawLabelDecision(input: $input) { errors { message } } }
"""


@pytest.mark.parametrize("decision", ["CONFIRMED", "REJECTED"])
async def test_a_withdrawn_decision_on_a_candidate_gives_the_near_miss_back(
    decision: str, api: str, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    """Deciding a near-miss takes it out of labelCandidates into the label; withdrawing the
    decision deleted that label and, the near-miss gone with the decision, left nothing of
    what the classifier saw until the column was classified again."""
    db = settings.neo4j.database
    pins, near = await near_miss(estate, neo4j, db)
    actor = f"{estate.name}-ada"  # may unmask (pii:read): a restricted label's decision goes
    admin = mint_token(settings.auth, actor, ["admin"])
    chosen = {"column": pins, "label": "PCI.CVV"}
    decided = await post_graphql(api, admin, CONFIRM, input={**chosen, "decision": decision})
    assert decided["data"]["decideLabel"]["errors"] == []
    withdrawn = await post_graphql(api, admin, WITHDRAW, input=chosen)
    assert withdrawn["data"]["withdrawLabelDecision"]["errors"] == []

    left = await post_graphql(api, admin, CANDIDATES, source=estate.name, first=10)
    assert [
        (e["node"]["label"], e["node"]["confidence"], e["node"]["explanation"])
        for e in left["data"]["labelCandidates"]["edges"]
    ] == [("PCI.CVV", near.confidence, near.explanation)]
    assert await read(neo4j, db, CANDIDATE_EDGES, urn=pins, label="PCI.CVV") == [{"n": 1}]
    await write(neo4j, db, "MATCH (e:AuditEvent {actor: $actor}) DELETE e", actor=actor)
