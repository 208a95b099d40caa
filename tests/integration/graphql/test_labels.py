"""Steward decisions over the API: the review queue, confirm and reject, kept by rescans."""

from __future__ import annotations

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute

QUEUE = """
query ($source: String) {
  reviewQueue(source: $source) { edges { node { label confidence column { id name } } } }
}
"""
DECIDE = """
mutation ($input: DecideLabelInput!) {
  decideLabel(input: $input) {
    column { id labels { label { name } status } }
    errors { __typename message }
  }
}
"""
EDGE = """
MATCH (:Column {urn: $column})-[r:LABELED]->(:Label {name: $label})
RETURN r.status AS status, r.decidedBy AS steward
"""


async def test_a_steward_works_through_the_review_queue(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    estate.table("people", ("id", "email", "notes"))
    email, notes = estate.column_urn("people", "email"), estate.column_urn("people", "notes")
    email_label = estate.label(email, "Email", status="review")
    notes_label = estate.label(notes, "Name", status="review", sensitivity="internal")
    await estate.write(neo4j, settings.neo4j.database)

    queue = [e["node"] for e in (await execute(QUEUE, source=estate.name))["reviewQueue"]["edges"]]
    assert {(q["column"]["id"], q["label"]) for q in queue} == {
        (email, email_label),
        (notes, notes_label),
    }
    for column, label, decision in (
        (email, email_label, "CONFIRMED"),
        (notes, notes_label, "REJECTED"),
    ):
        result = (
            await execute(DECIDE, input={"column": column, "label": label, "decision": decision})
        )["decideLabel"]
        assert result["errors"] == []
        statuses = {a["label"]["name"]: a["status"] for a in result["column"]["labels"]}
        assert statuses[label] == decision
    assert (await execute(QUEUE, source=estate.name))["reviewQueue"]["edges"] == []
    (edge,) = await read(neo4j, settings.neo4j.database, EDGE, column=email, label=email_label)
    assert edge["status"] == "confirmed"


PAGED = """
query ($source: String, $after: String) {
  reviewQueue(source: $source, first: 2, after: $after) {
    edges { node { label column { id } } } pageInfo { hasNextPage endCursor }
  }
  labelCandidates(source: $source, first: 2, after: $after) {
    edges { node { label column { id } } } pageInfo { hasNextPage endCursor }
  }
}
"""
# Near-misses as the classifier leaves them (graph/labels.py CANDIDATES).
CANDIDATE = """
UNWIND $columns AS urn
MATCH (c:Column {urn: urn}), (l:Label {name: $label})
CREATE (c)-[:CANDIDATE_LABEL {confidence: 0.3, model: 'test:1'}]->(l)
"""


@pytest.mark.parametrize("listing", ["reviewQueue", "labelCandidates"])
async def test_a_steward_deciding_page_by_page_skips_nothing(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings, listing: str
) -> None:
    """A steward (or two at once) decides the labels of a page, then asks for the next: each
    label is seen once, none skipped because the ones decided left the list."""
    names = [f"c{i}" for i in range(7)]
    estate.table("people", ("id", *names))
    columns = [estate.column_urn("people", name) for name in names]
    label = ""
    for column in columns:
        label = estate.label(column, "Email", status="review")
    await estate.write(neo4j, settings.neo4j.database)
    if listing == "labelCandidates":  # the same columns, with the label as a near-miss only
        await write(neo4j, settings.neo4j.database, "MATCH (c:Column)-[r:LABELED]->(:Label "
                    "{name: $label}) DELETE r", label=label)  # fmt: skip
        await write(neo4j, settings.neo4j.database, CANDIDATE, columns=columns, label=label)
    seen: list[str] = []
    after = None
    while True:
        page = (await execute(PAGED, source=estate.name, after=after))[listing]
        for edge in page["edges"]:
            seen.append(edge["node"]["column"]["id"])
            decision = {"column": seen[-1], "label": label, "decision": "CONFIRMED"}
            assert (await execute(DECIDE, input=decision))["decideLabel"]["errors"] == []
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(columns)


async def test_unknown_columns_and_labels_are_typed_errors(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    estate.table("people", ("id",))
    await estate.write(neo4j, settings.neo4j.database)
    column = estate.column_urn("people", "id")
    for target, label in ((estate.column_urn("people", "nope"), "PII.Email"), (column, "No.Such")):
        result = (
            await execute(DECIDE, input={"column": target, "label": label, "decision": "CONFIRMED"})
        )["decideLabel"]
        assert result["column"] is None
        assert [e["__typename"] for e in result["errors"]] == ["NotFoundError"]


CLASSIFY = """
mutation ($urn: ID!) {
  classify(urn: $urn) {
    columns { id name labels { label { name } status confidence } }
    errors { __typename message }
  }
}
"""
PROFILE = """
MATCH (c:Column {urn: $urn})
SET c.min = 'alice@example.com', c.max = 'zoe@example.org', c.dataType = 'varchar'
"""


async def test_classify_on_demand_labels_from_the_graph(
    execute: Execute, estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> None:
    table = estate.table("contacts", ("id", "email_address"))
    await estate.write(neo4j, settings.neo4j.database)
    email = estate.column_urn("contacts", "email_address")
    await write(neo4j, settings.neo4j.database, PROFILE, urn=email)  # a profile, as scans leave
    result = (await execute(CLASSIFY, urn=table))["classify"]
    assert result["errors"] == []
    labels = {c["id"]: {a["label"]["name"] for a in c["labels"]} for c in result["columns"]}
    assert "PII.Email" in labels[email]
    missing = (await execute(CLASSIFY, urn=estate.table_urn("nope")))["classify"]
    assert [e["__typename"] for e in missing["errors"]] == ["NotFoundError"]
