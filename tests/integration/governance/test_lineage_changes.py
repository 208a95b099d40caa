"""Continuous evaluation follows lineage: a new edge re-evaluates the columns downstream of it,
since the labels a column inherits (graph/inheritance.py) and where its own labels go are part
of its facts; a steward's rejection of an inherited label resolves what it caused."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import write
from tests.factories import eventually
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.governance.flow import ADD_RULE, CREATE, FINDINGS, FORGET, release

TAG = """
mutation($urn: ID!, $tags: [String!]!) {
  describeAsset(input: {urn: $urn, tags: $tags}) { errors { message } } }
"""
DECIDE = """
mutation($column: ID!, $label: String!, $decision: LabelDecision!) {
  decideLabel(input: {column: $column, label: $label, decision: $decision,
                      note: "checked against the view's definition"}) { errors { message } } }
"""
REGIONS = {"id": "regions", "template": "pii_no_cross_region_flow", "severity": "HIGH"}


def regions(name: str) -> dict[str, Any]:
    """Art. 44 for the test's own label category, EU only."""
    return REGIONS | {"params": {"categories": [name], "allowed_regions": ["eu"]}}


async def open_findings(ada: Any, asset: str) -> list[dict[str, Any]]:
    found = await ada(FINDINGS, filter={"asset": asset, "status": "OPEN"})
    return [e["node"] for e in found["findings"]["edges"]]


async def test_a_confirmed_label_evaluates_what_lies_downstream(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """The EU email column feeds a US copy through a view, which feeds a US report through a
    job. When the steward confirms the email, it is inherited two hops down, and without any
    evaluation asked for both the copy and the report get a GDPR Art. 44 finding naming the
    label they receive and where it comes from."""
    w = world
    ada, name = w["ada"], w["name"]
    estate = Estate(name)
    copy, report = estate.table("us_copy", ("contact",)), estate.table("us_report", ("contact",))
    contact, reported = (
        estate.column_urn("us_copy", "contact"),
        estate.column_urn("us_report", "contact"),
    )
    estate.feeds(w["email"], contact)
    estate.feeds(contact, reported)
    await estate.write(neo4j, settings.neo4j.database)
    await ada(TAG, urn=estate.table_urn("people"), tags=["region:eu"])
    for table in (copy, report):
        await ada(TAG, urn=table, tags=["region:us"])
    await ada(CREATE, input={"name": name})
    await ada(ADD_RULE, policy=w["policy"], rule=regions(name))
    assert (await release(w, 1))["errors"] == []
    assert await open_findings(ada, contact) == [] and await open_findings(ada, reported) == []

    label = f"{name}.Email"
    confirmed = await ada(DECIDE, column=w["email"], label=label, decision="CONFIRMED")
    assert confirmed["decideLabel"]["errors"] == []

    async def downstream_found() -> bool:
        return bool(await open_findings(ada, reported))

    await eventually(downstream_found, timeout_s=20)
    for column, path in (
        (contact, [w["email"], contact]),
        (reported, [w["email"], contact, reported]),
    ):
        [finding] = await open_findings(ada, column)
        assert finding["control"] == "urn:dw:control:gdpr/art-44"
        assert finding["evidence"] == {
            "labels": [label], "regions": ["us"],
            "receivedFrom": [{"label": label, "from": w["email"], "path": path}],
        }  # fmt: skip


async def test_an_inherited_email_outside_the_regions_until_a_steward_rejects_it(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A view column in a US source inherits the email of the sales domain's EU table: GDPR
    Art. 44 opens a finding on the view column (received from the email) and one on the email
    column in the sales domain (it flows into the view). The steward rejects the label on the
    view column; the next evaluation, which the rejection itself starts, resolves both."""
    w = world
    ada, name = w["ada"], w["name"]
    elsewhere = Estate(f"{name}-us")
    view = elsewhere.table("contacts", ("contact",), kind="view")
    contact = elsewhere.column_urn("contacts", "contact")
    elsewhere.feeds(w["email"], contact)
    await elsewhere.write(neo4j, settings.neo4j.database)
    label = f"{name}.Email"
    try:
        await ada(TAG, urn=Estate(name).table_urn("people"), tags=["region:eu"])
        await ada(TAG, urn=view, tags=["region:us"])
        confirmed = await ada(DECIDE, column=w["email"], label=label, decision="CONFIRMED")
        assert confirmed["decideLabel"]["errors"] == []  # the view column inherits it
        await ada(CREATE, input={"name": name})
        await ada(ADD_RULE, policy=w["policy"], rule=regions(name))
        assert (await release(w, 1))["errors"] == []

        [received] = await open_findings(ada, contact)
        assert received["control"] == "urn:dw:control:gdpr/art-44"
        assert received["evidence"]["receivedFrom"][0]["from"] == w["email"]
        [sent] = await open_findings(ada, w["email"])
        assert sent["domains"] == [w["domain"]]
        assert sent["evidence"]["flowsInto"] == [
            {"urn": contact, "labels": [label], "regions": ["us"]}
        ]

        rejected = await ada(DECIDE, column=contact, label=label, decision="REJECTED")
        assert rejected["decideLabel"]["errors"] == []

        async def resolved() -> bool:
            return not await open_findings(ada, contact) and not await open_findings(
                ada, w["email"]
            )

        await eventually(resolved, timeout_s=20)
    finally:
        await write(neo4j, settings.neo4j.database, FORGET, name=elsewhere.name, policy=w["policy"])
        await drop_sources(settings, neo4j, elsewhere.name)
