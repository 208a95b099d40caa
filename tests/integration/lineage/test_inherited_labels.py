"""Labels that follow the data, as a user of the API sees them: a column's ``labels`` show what
it inherits along lineage (status INHERITED, with the path), distinct from its own; masking
steps stop them, and a steward's rejection stops them at a column and below until withdrawn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState
from openlineage.client.facet_v2 import column_lineage_dataset
from openlineage.client.serde import Serde

from core.settings import Settings
from core.urns import column_urn, table_urn
from graph.batch import apply_batch
from graph.driver import write
from graph.labels import ColumnLabels, LabelRow, apply_labels
from graph.lineage import job_urn
from ingest.openlineage.envelope import wrap
from ingest.scan import run_scan
from security.auth import mint_token
from tests.integration.graphql.conftest import Execute, Served, bearer
from tests.integration.lineage.producers import PG, run_event, table
from tests.integration.lineage.test_openlineage import job_of

EMAIL = "PII.Email"
ENSURE_EMAIL = """
MERGE (l:Label {name: $name})
ON CREATE SET l.category = 'PII', l.sensitivity = 'confidential'
"""
LABELS = """
query ($id: ID!) {
  node(id: $id) {
    ... on Column {
      labels { label { name } status inheritance { from status path via } }
    }
  }
}"""
DECIDE = """
mutation ($input: DecideLabelInput!) {
  decideLabel(input: $input) { awaitingApproval errors { __typename message } }
}"""
WITHDRAW = """
mutation ($input: WithdrawLabelDecisionInput!) {
  withdrawLabelDecision(input: $input) {
    column { id labels { label { name } status } }
    errors { __typename message }
  }
}"""
FORGET = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
VIEW_LABELS = """
query ($urn: ID!) {
  asset(urn: $urn) {
    ... on Table { columns { id labels { label { name } status inheritance { from path } } } }
  }
}"""
VIEWS = """
CREATE VIEW contacts AS SELECT id, email AS contact FROM orders;
CREATE VIEW mailing AS SELECT upper(contact) AS address FROM contacts;
"""
LABELLED = """
query ($source: String!, $inherited: Boolean!) {
  assets(
    first: 10, filter: {source: $source, kind: COLUMN, label: "PII", inheritedLabels: $inherited}
  ) { edges { node { id } } }
}"""
BOUNDS = "query ($id: ID!) { node(id: $id) { ... on Column { min max } } }"
PROFILE = "MATCH (c:Column {urn: $urn}) SET c.min = $min, c.max = $max"
CLEAR = {"min": "ada@example.com", "max": "zoe@example.org"}


@asynccontextmanager
async def caller(served: Served, subject: str, **claims: Any) -> AsyncIterator[Execute]:
    """``execute`` as a steward of this test's own (``claims``: e.g. ``permissions``); their
    audit trail is removed afterwards."""
    settings = served.app.state.datawave.settings
    token = mint_token(settings.auth, subject, ["steward"], **claims)
    transport = HTTPXAsyncTransport(url=f"{served.url}/graphql", headers=bearer(token))
    try:
        async with Client(transport=transport) as session:

            async def run(query: str, **variables: Any) -> dict[str, Any]:
                return await session.execute(GraphQLRequest(query, variable_values=variables))

            yield run
    finally:
        await served.app.state.datawave.audit.drain()
        db = settings.neo4j.database
        await write(served.app.state.datawave.neo4j, db, FORGET, actor=subject)


async def email_labels(execute: Execute, column: str) -> list[dict[str, Any]]:
    """The PII.Email labels ``Column.labels`` shows on ``column``."""
    found = (await execute(LABELS, id=column))["node"]["labels"]
    return [a for a in found if a["label"]["name"] == EMAIL]


def inherited(source: str, status: str, path: list[str]) -> list[dict[str, Any]]:
    """What ``Column.labels`` shows for PII.Email inherited along ``path``, views all the way."""
    via = [job_urn(c.rsplit("/", 1)[0].replace(":column:", ":table:")) for c in path[1:]]
    provenance = {"from": source, "status": status, "path": path, "via": via}
    return [{"label": {"name": EMAIL}, "status": "INHERITED", "inheritance": provenance}]


async def suggest_email(neo4j: AsyncDriver, db: str, column: str, source: str) -> None:
    """The classifier's verdict on ``column``: PII.Email, suggested (its write path)."""
    await write(neo4j, db, ENSURE_EMAIL, name=EMAIL)
    row = LabelRow(EMAIL, 0.97, "suggested", "ensemble", [], "looks like e-mail", {}, "test")
    await apply_labels(neo4j, db, [ColumnLabels(column, "email", source, [row])], datetime.now(UTC))


async def test_a_view_over_an_email_column_inherits_the_label_until_a_steward_stops_it(
    world: Settings, postgres: str, neo4j: AsyncDriver, execute: Execute, served: Served
) -> None:
    db = world.neo4j.database
    password = world.source_password.get_secret_value()
    conn = await asyncpg.connect(
        host="127.0.0.1", user="datawave", password=password, database=postgres
    )
    try:
        await conn.execute(VIEWS)
    finally:
        await conn.close()
    result = await run_scan(world, neo4j, postgres, ingest_timeout_s=60)
    assert result.stage == "finished", result.error
    tables = {
        t: table_urn(postgres, postgres, "public", t) for t in ("orders", "contacts", "mailing")
    }
    email = column_urn(tables["orders"], "email")
    contact = column_urn(tables["contacts"], "contact")
    address = column_urn(tables["mailing"], "address")
    await suggest_email(neo4j, db, email, postgres)
    # Values the view's column shows (views are not profiled), before anything reads (caches) it.
    await write(neo4j, db, PROFILE, urn=contact, **CLEAR)

    # The table's own label is the classifier's; the views' are inherited, with their path.
    assert [a["status"] for a in await email_labels(execute, email)] == ["SUGGESTED"]
    assert await email_labels(execute, contact) == inherited(email, "SUGGESTED", [email, contact])
    assert await email_labels(execute, address) == inherited(
        email, "SUGGESTED", [email, contact, address]
    )

    # Read whole (asset with its columns in one query), the view shows the same.
    view = (await execute(VIEW_LABELS, urn=tables["mailing"]))["asset"]["columns"]
    provenance = {"from": email, "path": [email, contact, address]}
    assert view == [
        {"id": address,
         "labels": [{"label": {"name": EMAIL}, "status": "INHERITED", "inheritance": provenance}]},
    ]  # fmt: skip

    # A page of the source's PII columns: its own label, or inherited ones too when asked.
    async def labelled(inherited: bool) -> set[str]:
        page = await execute(LABELLED, source=postgres, inherited=inherited)
        return {edge["node"]["id"] for edge in page["assets"]["edges"]}

    assert await labelled(False) == {email}
    assert await labelled(True) == {email, contact, address}

    # The view's values are the e-mail column's: masked as they are there, for a steward
    # without pii:read; in clear for one who holds it.
    masked = (await execute(BOUNDS, id=contact))["node"]
    assert masked.keys() == CLEAR.keys() and not set(masked.values()) & set(CLEAR.values())
    reader = f"dpo-{uuid.uuid4().hex[:6]}"
    async with caller(served, reader, permissions=["pii:read"]) as as_reader:
        assert (await as_reader(BOUNDS, id=contact))["node"] == CLEAR

    # A steward without pii:read only asks to reject it: it still masks, so it still flows
    # (from the column where the rejection waits).
    asking = await execute(
        DECIDE, input={"column": contact, "label": EMAIL, "decision": "REJECTED"}
    )
    assert asking["decideLabel"] == {"awaitingApproval": True, "errors": []}
    assert await email_labels(execute, address) == inherited(
        contact, "PENDING_REJECTION", [contact, address]
    )

    # Someone with pii:read rejects it on contacts: stopped there and below.
    officer = f"dpo-{uuid.uuid4().hex[:6]}"
    async with caller(served, officer, permissions=["pii:read"]) as as_officer:
        rejected = await as_officer(
            DECIDE, input={"column": contact, "label": EMAIL, "decision": "REJECTED"}
        )
        assert rejected["decideLabel"] == {"awaitingApproval": False, "errors": []}
        assert [a["status"] for a in await email_labels(execute, contact)] == ["REJECTED"]
        assert await email_labels(execute, address) == []

        # Withdrawn: the label flows through contacts again, to it and below.
        withdrawn = await as_officer(WITHDRAW, input={"column": contact, "label": EMAIL})
        assert withdrawn["withdrawLabelDecision"]["errors"] == []
        assert await email_labels(execute, contact) == inherited(
            email, "SUGGESTED", [email, contact]
        )
        assert await email_labels(execute, address) == inherited(
            email, "SUGGESTED", [email, contact, address]
        )

        # Rejected at the origin, the classifier's label: nothing below has it; withdrawn, the
        # classifier's verdict is back and flows again.
        origin = {"column": email, "label": EMAIL}
        rejected = await as_officer(DECIDE, input={**origin, "decision": "REJECTED"})
        assert rejected["decideLabel"]["errors"] == []
        assert await email_labels(execute, contact) == await email_labels(execute, address) == []
        withdrawn = (await as_officer(WITHDRAW, input=origin))["withdrawLabelDecision"]
        assert withdrawn["column"]["labels"] == [{"label": {"name": EMAIL}, "status": "SUGGESTED"}]
        assert await email_labels(execute, address) == inherited(
            email, "SUGGESTED", [email, contact, address]
        )

    # Confirmed on contacts: its own label now, the source of what mailing inherits.
    confirmed = await execute(
        DECIDE, input={"column": contact, "label": EMAIL, "decision": "CONFIRMED"}
    )
    assert confirmed["decideLabel"]["errors"] == []
    assert [a["status"] for a in await email_labels(execute, contact)] == ["CONFIRMED"]
    assert await email_labels(execute, address) == inherited(
        contact, "CONFIRMED", [contact, address]
    )
    # Withdrawing that would unmask contacts: the steward lacks pii:read.
    refused = await execute(WITHDRAW, input={"column": contact, "label": EMAIL})
    errors = refused["withdrawLabelDecision"]["errors"]
    assert [e["__typename"] for e in errors] == ["UnmaskingRefusedError"]


def lineage(orders: str, fields: dict[str, list[tuple[str, ...]]], **legacy: str) -> dict[str, Any]:
    """``columnLineage`` from ``orders``.email: output field -> its transformations (type,
    subtype, masking as "masking"); ``legacy``: output field -> the deprecated field-level
    ``transformationType`` instead."""
    facet = column_lineage_dataset

    def email(how: list[tuple[str, ...]]) -> list[Any]:
        kinds = [facet.Transformation(type=t[0], subtype=t[1], masking="masking" in t) for t in how]
        return [facet.InputField(namespace=PG, name=orders, field="email", transformations=kinds)]

    out = {name: facet.Fields(inputFields=email(how)) for name, how in fields.items()}
    for name, kind in legacy.items():
        out[name] = facet.Fields(inputFields=email([]), transformationType=kind)
    return {"columnLineage": facet.ColumnLineageDatasetFacet(fields=out)}


async def test_masking_steps_stop_the_label_and_direct_steps_carry_it(
    world: Settings, postgres: str, neo4j: AsyncDriver, execute: Execute
) -> None:
    """As openlineage-python sends a job's column lineage: a hash and a count of the e-mails
    (masking: true) and a deprecated MASKED transformation stop PII.Email; a copy that also
    filters on it (DIRECT beside INDIRECT) carries it."""
    db = world.neo4j.database
    orders, daily_name, revenue_name = (
        f"{postgres}.public.{t}" for t in ("orders", "orders_daily", "revenue")
    )
    urns = {
        t: table_urn(postgres, postgres, "public", t) for t in ("orders", "orders_daily", "revenue")
    }
    email = column_urn(urns["orders"], "email")
    await suggest_email(neo4j, db, email, postgres)
    daily = lineage(
        orders,
        {
            "email_hash": [("DIRECT", "TRANSFORMATION", "masking")],
            "total": [("DIRECT", "AGGREGATION", "masking")],
            "day": [("DIRECT", "IDENTITY"), ("INDIRECT", "FILTER")],
        },
    )
    jobs = ((job_of(postgres)[0], "daily"), (job_of(postgres)[0], "revenue"))  # world drops them
    events = [
        run_event(RunState.COMPLETE, str(uuid.uuid4()), jobs[0], 0, inputs=[(PG, orders, {})],
                  outputs=[(PG, daily_name, {**table("orders_daily", "day", "email_hash", "total"),
                                             **daily})]),
        run_event(RunState.COMPLETE, str(uuid.uuid4()), jobs[1], 0, inputs=[(PG, orders, {})],
                  outputs=[(PG, revenue_name, lineage(orders, {}, total="MASKED"))]),
    ]  # fmt: skip
    await apply_batch(neo4j, db, [wrap(Serde.to_dict(e)) for e in events])

    day = column_urn(urns["orders_daily"], "day")
    assert await email_labels(execute, day) == [
        {"label": {"name": EMAIL}, "status": "INHERITED",
         "inheritance": {"from": email, "status": "SUGGESTED", "path": [email, day],
                         "via": [f"urn:dw:job:{jobs[0][0]}/{jobs[0][1]}"]}},
    ]  # fmt: skip
    for masked in (
        column_urn(urns["orders_daily"], "email_hash"),
        column_urn(urns["orders_daily"], "total"),
        column_urn(urns["revenue"], "total"),
    ):
        assert await email_labels(execute, masked) == [], masked


# Two columns of a source a caller is scoped to, each inheriting PII.Email: one from a column of
# the same source, one from a column of a source out of the caller's scope.
INHERITING = """
MERGE (l:Label {name: $label})
ON CREATE SET l.category = 'PII', l.sensitivity = 'confidential'
WITH l
UNWIND $columns AS col
CREATE (c:Asset:Column {urn: col.urn, name: col.name, nameLower: col.name, source: col.source})
WITH l, c, col WHERE col.path IS NOT NULL
CREATE (c)-[:INHERITS {status: 'inherited', source: col.path[0], sourceStatus: 'suggested',
                       path: col.path, via: [], hops: size(col.path) - 1}]->(l)
"""
REMOVE_SOURCES = "MATCH (c:Column) WHERE c.source IN $sources DETACH DELETE c"


async def test_a_scoped_caller_finds_no_column_by_a_label_inherited_from_out_of_scope(
    world: Settings, neo4j: AsyncDriver, execute: Execute, served: Served
) -> None:
    run = uuid.uuid4().hex[:8]
    mine, theirs = f"scope-mine-{run}", f"scope-theirs-{run}"

    def col(source: str, name: str, path: list[str] | None = None) -> dict[str, Any]:
        urn = f"urn:dw:column:{source}/db/public/t/{name}"
        return {"urn": urn, "name": name, "source": source, "path": path and [*path, urn]}

    inside, outside = col(mine, "email"), col(theirs, "email")
    copied = col(mine, "copied", [inside["urn"]])
    leaked = col(mine, "leaked", [outside["urn"]])
    db = world.neo4j.database
    await write(neo4j, db, INHERITING, label=EMAIL, columns=[inside, outside, copied, leaked])
    try:
        everyone = await execute(LABELLED, source=mine, inherited=True)
        assert {e["node"]["id"] for e in everyone["assets"]["edges"]} == {
            copied["urn"],
            leaked["urn"],
        }
        async with caller(served, f"scoped-{run}", sources=[mine]) as scoped:
            page = await scoped(LABELLED, source=mine, inherited=True)
            assert [e["node"]["id"] for e in page["assets"]["edges"]] == [copied["urn"]]
            shown = await email_labels(scoped, leaked["urn"])
            assert shown == [], "Column.labels hides it from them too"
    finally:
        await write(neo4j, db, REMOVE_SOURCES, sources=[mine, theirs])
