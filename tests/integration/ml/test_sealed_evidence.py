"""Evidence examples are stored encrypted in Neo4j: through GraphQL a steward with pii:read sees
the values the classifier saw, one without sees their masked shape; evidence stored before
examples were sealed stays masked for both."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph import labels
from ml.detectors import ColumnInput
from ml.service import ClassificationService
from tests.integration.estate import Estate
from tests.integration.ml.conftest import GraphQL

EVIDENCE = """
query ($urn: ID!) {
  node(id: $urn) {
    ... on Column {
      labels {
        label { name }
        explanation
        evidence { detector examples examplesSealed examplesInClear }
      }
    }
  }
}
"""


def emails(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{i}@example.com" for i in range(20))


async def pattern_evidence(graphql: GraphQL, token: str, urn: str) -> tuple[dict[str, Any], str]:
    body = await graphql(token, EVIDENCE, urn=urn)
    assert "errors" not in body, body
    [assignment] = body["data"]["node"]["labels"]
    assert assignment["label"]["name"] == "PII.Email"
    [pattern] = [e for e in assignment["evidence"] if e["detector"] == "pattern"]
    return pattern, assignment["explanation"]


async def test_examples_sealed_at_rest_and_clear_only_with_pii_read(
    classification: ClassificationService,
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
    graphql: GraphQL,
) -> None:
    db = settings.neo4j.database
    estate.table("people", ("kontakt", "legacy"))
    await estate.write(neo4j, db)
    sealed, legacy = estate.column_urn("people", "kontakt"), estate.column_urn("people", "legacy")
    values, old_values = emails("ana"), emails("old")
    await classification.classify_columns(
        [ColumnInput(sealed, "kontakt", "varchar", "people", "", values)]
    )
    # Written as before examples were sealed: shapes only.
    await replace(classification, cipher=None).classify_columns(
        [ColumnInput(legacy, "legacy", "varchar", "people", "", old_values)]
    )

    [row] = await labels.column_labels(neo4j, db, sealed)
    at_rest = json.dumps(row["edge"], default=str)
    assert not any(v in at_rest for v in values)  # nothing in clear in Neo4j
    [stored] = [e for e in json.loads(row["edge"]["evidence"]) if e["detector"] == "pattern"]
    assert stored["sealed"]["kid"] == settings.kafka.sample_kid
    assert stored["examples"] == ["a**.*@*******.**m", "a**.*@*******.**m"]
    # What Neo4j Browser shows of the edge: what drove the score, in words.
    assert row["edge"]["contribution"].startswith("pattern +")

    reader = graphql.token("steward", "pii:read")
    steward = graphql.token("steward")

    clear, explained = await pattern_evidence(graphql, reader, sealed)
    assert clear["examples"] == list(values[:2])
    assert (clear["examplesSealed"], clear["examplesInClear"]) == (True, True)
    assert f"(e.g. {values[0]}, {values[1]})" in explained

    masked, explained = await pattern_evidence(graphql, steward, sealed)
    assert (masked["examplesSealed"], masked["examplesInClear"]) == (True, False)
    assert len(masked["examples"]) == 2
    assert not any(v in json.dumps(masked) + explained for v in values)

    for token in (reader, steward):
        old, explained = await pattern_evidence(graphql, token, legacy)
        assert (old["examplesSealed"], old["examplesInClear"]) == (False, False)
        assert not any(v in json.dumps(old) + explained for v in old_values)
