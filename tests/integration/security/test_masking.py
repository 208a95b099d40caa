"""Masking as each role sees it: values of sensitive columns (min, max, label evidence and
explanation) are masked unless the caller holds ``pii:read`` in the column's scope, by the
strategy configured for the label's sensitivity; every unmasked read is audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.settings import MaskingSettings, Settings, Strategy
from graph.driver import write
from security.masking import REDACTED, partial
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, serve
from tests.integration.security.conftest import Api

EMAIL, CARD, NICK = "alice@example.com", "4111111111111111", "aardvark"
EXAMPLE = "a****@*******.**m"
EXPLANATION = f"PII.Email at 0.97 by model default:1: pattern: emails (e.g. {EXAMPLE})"
PROFILE = """
UNWIND $rows AS row
MATCH (c:Column {urn: row.urn}) SET c.min = row.min, c.max = row.max
"""
QUERY = """
query ($urn: ID!) {
  asset(urn: $urn) {
    ... on Table {
      columns { name min max labels { evidence { examples } explanation } }
      labels { column evidence { examples } }
    }
  }
}
"""


@dataclass(frozen=True)
class People:
    estate: Estate
    domain: str

    @property
    def table(self) -> str:
        return self.estate.table_urn("people")

    def column(self, name: str) -> str:
        return self.estate.column_urn("people", name)


@pytest.fixture
async def people(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> People:
    """``email`` (confidential), ``card`` (restricted), ``nick`` (its label was rejected),
    ``twin`` (confidential, same value as email): a table of a sales product."""
    table = estate.table("people", ("email", "card", "nick", "twin"))
    evidence = [{"detector": "pattern", "score": 0.97, "hits": 30, "total": 30,
                 "detail": "emails", "examples": [EXAMPLE]}]  # fmt: skip
    for column, label, sensitivity, status in (
        ("email", "Email", "confidential", "suggested"),
        ("card", "Card", "restricted", "confirmed"),
        ("nick", "Nick", "confidential", "rejected"),
        ("twin", "Email", "confidential", "review"),
    ):
        estate.label(
            estate.column_urn("people", column),
            label,
            status=status,
            sensitivity=sensitivity,
            evidence=evidence,
            explanation=EXPLANATION,
        )
    domain = estate.product("sales", table)
    await estate.write(neo4j, settings.neo4j.database)
    rows = [
        {"urn": estate.column_urn("people", c), "min": v, "max": v}
        for c, v in (("email", EMAIL), ("card", CARD), ("nick", NICK), ("twin", EMAIL))
    ]
    await write(neo4j, settings.neo4j.database, PROFILE, rows=rows)
    return People(estate, domain)


def seen(body: dict[str, Any]) -> dict[str, Any]:
    """Per column: min, max, evidence examples and explanation; and the table's labels."""
    table = body["data"]["asset"]
    columns = {
        c["name"]: (
            c["min"],
            c["max"],
            c["labels"][0]["evidence"][0]["examples"],
            c["labels"][0]["explanation"],
        )
        for c in table["columns"]
    }
    return columns | {"table-labels": [lab["evidence"][0]["examples"] for lab in table["labels"]]}


def raw() -> dict[str, Any]:
    return {
        "email": (EMAIL, EMAIL, [EXAMPLE], EXPLANATION),
        "card": (CARD, CARD, [EXAMPLE], EXPLANATION),
        "nick": (NICK, NICK, [EXAMPLE], EXPLANATION),
        "twin": (EMAIL, EMAIL, [EXAMPLE], EXPLANATION),
        "table-labels": [[EXAMPLE]] * 4,
    }


def masked() -> dict[str, Any]:
    """The defaults: partial for confidential, redact for restricted; a rejected label is no
    label at all."""
    # Issue 12 (8): an explanation keeps its words; only the example it quotes is masked.
    explained = EXPLANATION.replace(EXAMPLE, partial(EXAMPLE))
    shape = (partial(EMAIL), partial(EMAIL), [partial(EXAMPLE)], explained)
    return {
        "email": shape,
        "card": (REDACTED, REDACTED, [REDACTED], EXPLANATION.replace(EXAMPLE, REDACTED)),
        "nick": (NICK, NICK, [EXAMPLE], EXPLANATION),
        "twin": shape,
        "table-labels": [[partial(EXAMPLE)], [REDACTED], [EXAMPLE], [partial(EXAMPLE)]],
    }


@pytest.mark.parametrize(
    ("role", "scopes", "unmasked"),
    [
        ("viewer", {}, False),
        ("steward", {}, False),
        ("domain_owner", {}, False),
        ("auditor", {}, False),
        ("service", {}, False),
        ("steward", {"permissions": ["pii:read"]}, True),
        ("viewer", {"permissions": ["pii:read"]}, True),
        ("admin", {"domains": ["elsewhere"]}, True),
    ],
    ids=["viewer", "steward", "domain-owner", "auditor", "service", "steward+pii", "viewer+pii",
         "admin"],
)  # fmt: skip
async def test_what_each_role_sees(
    api: Api, people: People, role: str, scopes: dict[str, Any], unmasked: bool
) -> None:
    token = api.token(role, domains=scopes.pop("domains", [people.domain]), **scopes)
    body = await api.graphql(token, QUERY, urn=people.table)
    if role == "service":  # it may read assets but neither labels nor lineage
        table = body["data"]["asset"]
        assert {c["name"]: (c["min"], c["labels"]) for c in table["columns"]} == {
            "email": (partial(EMAIL), []),
            "card": (REDACTED, []),
            "nick": (NICK, []),
            "twin": (partial(EMAIL), []),
        }
        return
    assert seen(body) == (raw() if unmasked else masked())
    reads = {
        e["resource"]: e["detail"]
        for e in await api.events(actor=f"{api.name}-{role}")
        if e["action"] == "read:sensitive"
    }
    if unmasked:
        fields = "evidence, explanation, max, min"
        assert reads == {people.column(c): fields for c in ("email", "card", "twin")}
    else:
        assert reads == {}, "masked reads are not sensitive reads"


async def test_pii_read_is_held_in_a_scope(api: Api, people: People) -> None:
    """``pii:read`` unmasks only where the principal reaches: out of scope, nothing shows."""
    token = api.token("steward", domains=["elsewhere"], permissions=["pii:read"])
    body = await api.graphql(token, QUERY, urn=people.table)
    assert body["data"]["asset"] is None


@pytest.fixture(scope="module")
async def hashing(suite_settings: Settings) -> AsyncIterator[Served]:
    masking = MaskingSettings(confidential=Strategy.HASH, hash_key="k" * 40)
    async with serve(suite_settings.model_copy(update={"masking": masking})) as served:
        yield served


async def test_the_hash_strategy_keeps_equal_values_equal(
    api: Api, people: People, hashing: Served
) -> None:
    async with api.on(hashing):
        token = api.token("viewer", domains=[people.domain])
        body = await api.graphql(token, QUERY, urn=people.table)
    columns = seen(body)
    email, twin = columns["email"][0], columns["twin"][0]
    assert email.startswith("hmac:") and len(email) == len("hmac:") + 16
    assert email == twin, "equal values hash alike, so they can still be matched"
    assert EMAIL not in json.dumps(body)
    assert columns["card"][0] == REDACTED, "restricted stays redacted"


DECIDE = """
mutation ($input: DecideLabelInput!) {
  decideLabel(input: $input) { awaitingApproval errors { message } }
}
"""
MINS = "query ($urn: ID!) { asset(urn: $urn) { ... on Table { columns { name min } } } }"
REQUESTS = """
query ($source: String!) {
  reviewQueue(source: $source, reason: REJECTION_REQUESTED) {
    edges { node { label requestedBy column { id } } }
  }
}
"""


async def test_unmasking_by_rejection_needs_pii_read_or_a_second_person(
    api: Api, people: People
) -> None:
    """Rejecting (or downgrading by rejecting) a confidential or restricted label would lift
    masking for everyone: without ``pii:read`` it only asks, and masking holds until a second
    person who holds ``pii:read`` confirms."""
    card, estate = people.column("card"), people.estate
    viewer = api.token("viewer", domains=[people.domain])

    async def decide(token: str, column: str, label: str, decision: str) -> bool:
        body = await api.graphql(
            token, DECIDE, input={"column": column, "label": f"{estate.name}.{label}",
                                  "decision": decision},
        )  # fmt: skip
        assert body["data"]["decideLabel"]["errors"] == [], body
        return body["data"]["decideLabel"]["awaitingApproval"]

    async def mins() -> dict[str, str]:
        body = await api.graphql(viewer, MINS, urn=people.table)
        return {c["name"]: c["min"] for c in body["data"]["asset"]["columns"]}

    masked = {"email": partial(EMAIL), "card": REDACTED, "nick": NICK, "twin": partial(EMAIL)}
    for subject in ("ann", "bob"):  # two stewards without pii:read do not make four eyes
        steward = api.token("steward", subject=subject, domains=[people.domain])
        assert await decide(steward, card, "Email", "CONFIRMED") is False, "a downgrade..."
        assert await decide(steward, card, "Card", "REJECTED") is True, "...only asks"
        assert await decide(steward, people.column("email"), "Email", "REJECTED") is True
        assert await mins() == masked

    approver = api.token("steward", subject="cy", domains=[people.domain],
                         permissions=["pii:read"])  # fmt: skip
    found = (await api.graphql(approver, REQUESTS, source=estate.name))["data"]["reviewQueue"]
    queue = [e["node"] for e in found["edges"]]
    assert {(q["column"]["id"], q["label"], q["requestedBy"]) for q in queue} == {
        (card, f"{estate.name}.Card", f"{api.name}-bob"),
        (people.column("email"), f"{estate.name}.Email", f"{api.name}-bob"),
    }
    assert await decide(approver, card, "Card", "REJECTED") is False
    assert await mins() == masked | {"card": partial(CARD)}, (
        "the card shows as confidential now (the label confirmed on it); the email request "
        "still waits"
    )
