"""Governance objects as Relay nodes, against the real graph, OPA and API: policies,
frameworks, controls, findings and waivers refetched by URN through ``node(id:)`` in the
caller's scope; waivers named by URN (migration 0019 names the old ones); and what
``complianceUpdates`` says of a waived finding: approved, gone, back under its waiver, expired."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, LiteralString, cast

import httpx
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from graph.migrations import load_migrations, run_statements
from security.auth import mint_token
from tests.factories import eventually
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    APPROVE_WAIVER,
    EVALUATE,
    REJECT,
    UPDATES,
    WAIVE,
    WITHDRAW,
    Admin,
    draft,
    owner_finding,
    release,
)
from tests.integration.graphql.conftest import ws_client

NODE = """
query($id: ID!) { node(id: $id) { __typename id
  ... on Policy { name } ... on Framework { code } ... on Control { code }
  ... on Finding { status } ... on Waiver { waiver: status finding } } }
"""
APPROVE = """
mutation($waiver: ID!) { approveWaiver(waiver: $waiver) {
  waiver { id status } errors { __typename message ... on NotFoundError { urn } } } }
"""
WAIVERS = """
query($finding: ID!) { waivers(filter: {finding: $finding}) { edges { node { id status } } } }
"""
AUDITED = "MATCH (e:AuditEvent {actor: $actor, resource: $urn}) RETURN e.outcome AS outcome"
GDPR, ART_30 = "urn:dw:framework:gdpr", "urn:dw:control:gdpr/art-30"


async def waived_finding(w: dict[str, Any]) -> tuple[str, str]:
    """The world's policy in force, its owner finding open and a waiver of it requested by ada:
    (finding, waiver)."""
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    requested = (await w["ada"](WAIVE, finding=finding))["requestWaiver"]
    assert requested["errors"] == [], requested
    return finding, requested["waiver"]["id"]


@contextlib.asynccontextmanager
async def callers(w: dict[str, Any], settings: Settings) -> AsyncIterator[dict[str, Admin]]:
    """A steward of the world's domain, one of another domain and a viewer (no compliance:read)."""
    name = w["name"]
    tokens = {
        "olga": mint_token(settings.auth, f"{name}-olga", ["steward"], domains=[w["domain"]]),
        "sam": mint_token(settings.auth, f"{name}-sam", ["steward"], domains=[f"{name}-hr"]),
        "vic": mint_token(settings.auth, f"{name}-vic", ["viewer"]),
    }
    async with httpx.AsyncClient(base_url=w["url"], timeout=60) as http:
        yield {who: Admin(http, token) for who, token in tokens.items()}


async def test_node_refetches_governance_objects_in_the_callers_scope(
    world: dict[str, Any], settings: Settings, neo4j: AsyncDriver
) -> None:
    """Each governance type is refetchable by its URN (it read null even for an admin), as the
    root queries show it: policies, frameworks and controls to anyone with compliance:read,
    findings and waivers within the caller's domain scope; otherwise null, like a missing one,
    and the refusal audited."""
    w = world
    finding, waiver = await waived_finding(w)
    expected = {
        w["policy"]: {"__typename": "Policy", "id": w["policy"], "name": w["name"]},
        GDPR: {"__typename": "Framework", "id": GDPR, "code": "gdpr"},
        ART_30: {"__typename": "Control", "id": ART_30, "code": "art-30"},
        finding: {"__typename": "Finding", "id": finding, "status": "OPEN"},
        waiver: {"__typename": "Waiver", "id": waiver, "waiver": "REQUESTED", "finding": finding},
    }
    for urn, node in expected.items():
        assert (await w["ada"](NODE, id=urn))["node"] == node
    assert (await w["ada"](NODE, id="urn:dw:waiver:no-such-waiver"))["node"] is None

    async with callers(w, settings) as c:
        for urn, node in expected.items():  # a steward of the finding's domain sees them all
            assert (await c["olga"](NODE, id=urn))["node"] == node
        for urn in (w["policy"], GDPR, ART_30):  # anyone with compliance:read, as `policies`
            assert (await c["sam"](NODE, id=urn))["node"] == expected[urn]
        for urn in (finding, waiver):  # another domain's steward: as if there were none
            assert (await c["sam"](NODE, id=urn))["node"] is None
        for urn in expected:  # a viewer holds no compliance:read
            assert (await c["vic"](NODE, id=urn))["node"] is None

    await w["served"].app.state.datawave.audit.drain()

    async def audited() -> bool:
        refusals = (("sam", finding), ("sam", waiver), ("vic", w["policy"]))
        for who, urn in refusals:
            rows = await read(neo4j, settings.neo4j.database, AUDITED,
                              actor=f"{w['name']}-{who}", urn=urn)  # fmt: skip
            if [r["outcome"] for r in rows] != ["denied"]:
                return False
        return True

    await eventually(audited, timeout_s=10)


async def test_waivers_are_approved_by_urn(world: dict[str, Any]) -> None:
    """approveWaiver takes the waiver's URN; its bare UUID (what `id` was) or an unknown URN is
    a NotFoundError naming what was sent, and changes nothing."""
    w = world
    finding, waiver = await waived_finding(w)
    bare = waiver.removeprefix("urn:dw:waiver:")
    for wrong in (bare, "urn:dw:waiver:no-such-waiver"):
        refused = (await w["bob"](APPROVE, waiver=wrong))["approveWaiver"]
        assert refused == {"waiver": None, "errors": [
            {"__typename": "NotFoundError", "message": f"no waiver {wrong}", "urn": wrong}
        ]}  # fmt: skip
    assert (await w["ada"](NODE, id=waiver))["node"]["waiver"] == "REQUESTED"
    approved = (await w["bob"](APPROVE, waiver=waiver))["approveWaiver"]
    assert approved == {"waiver": {"id": waiver, "status": "APPROVED"}, "errors": []}
    assert (await w["ada"](NODE, id=finding))["node"]["status"] == "WAIVED"


OLD_WAIVER = """
MATCH (f:Finding {urn: $finding})
CREATE (w:Waiver {id: $id, name: 'waiver of an old finding', finding: f.urn,
                  reason: 'asked before waivers had URNs', status: 'requested',
                  requestedBy: $by, requestedAt: datetime(),
                  expiresAt: datetime() + duration({days: 7})})-[:WAIVES]->(f)
"""


async def test_a_waiver_written_before_urns_gets_one_from_the_migration(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A waiver as it was written before (a UUID `id`, no `urn`) is named by migration 0019,
    then listed, refetched and approved by that URN."""
    w = world
    db = settings.neo4j.database
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    old = "0b7e1c8e-3f1c-4d5e-9a0b-1c2d3e4f5a6b"
    await write(neo4j, db, OLD_WAIVER, finding=finding, id=old, by=f"{w['name']}-ada")

    (migration,) = [m for m in load_migrations() if m.id == "0019_waiver_urns"]
    await run_statements(neo4j, db, migration)

    urn = f"urn:dw:waiver:{old}"
    listed = (await w["ada"](WAIVERS, finding=finding))["waivers"]["edges"]
    assert [e["node"] for e in listed] == [{"id": urn, "status": "REQUESTED"}]
    assert (await w["ada"](NODE, id=urn))["node"]["finding"] == finding
    approved = (await w["bob"](APPROVE, waiver=urn))["approveWaiver"]
    assert approved == {"waiver": {"id": urn, "status": "APPROVED"}, "errors": []}
    unique = "SHOW CONSTRAINTS YIELD name WHERE name = 'waiver_urn' RETURN count(*) AS n"
    assert (await read(neo4j, db, cast(LiteralString, unique)))[0]["n"] == 1


# Two approved waivers as an approval saved them before 0020: times in the zone named UTC.
ZONED_WAIVERS = """
MATCH (f:Finding {urn: $finding})
UNWIND [1, 2] AS n
WITH f, n, datetime({epochSeconds: datetime().epochSeconds - n, timezone: 'UTC'}) AS at
CREATE (w:Waiver {id: $id + n, urn: 'urn:dw:waiver:' + $id + n, name: 'zoned ' + n,
                  finding: f.urn, reason: 'approved before 0020', status: 'approved',
                  requestedBy: $by, requestedAt: at, approvedBy: $by, approvedAt: at,
                  expiresAt: at + duration({days: 7})})-[:WAIVES]->(f)
"""
PAGE = """query($finding: ID!, $after: String) {
  waivers(filter: {finding: $finding}, first: 1, after: $after) {
    edges { node { id } } pageInfo { endCursor } } }"""


async def test_waivers_approved_before_their_times_were_utc_page_after_the_migration(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """An approval used to write a waiver's times back as ``...Z[UTC]``: the page's cursor
    carried that text, and the next page was refused as a crafted cursor."""
    w = world
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    prefix = f"{w['name']}-zoned-"
    db = settings.neo4j.database
    await write(neo4j, db, ZONED_WAIVERS, finding=finding, id=prefix, by=f"{w['name']}-ada")

    (migration,) = [m for m in load_migrations() if m.id == "0020_waiver_times_utc"]
    await run_statements(neo4j, db, migration)

    first = (await w["ada"](PAGE, finding=finding))["waivers"]
    after = first["pageInfo"]["endCursor"]
    second = (await w["ada"](PAGE, finding=finding, after=after))["waivers"]
    ids = [e["node"]["id"] for page in (first, second) for e in page["edges"]]
    assert ids == [f"urn:dw:waiver:{prefix}2", f"urn:dw:waiver:{prefix}1"], "oldest first"


EXPIRE = "MATCH (w:Waiver {urn: $urn}) SET w.expiresAt = datetime() - duration({minutes: 1})"


async def test_compliance_updates_say_what_happened_to_a_waived_finding(
    world: dict[str, Any], api: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A subscriber of the domain hears of the finding: waived when the waiver is approved,
    resolved when a steward rejects its label, waived (not opened) when the rejection is
    withdrawn while the waiver runs, and open once the waiver has expired."""
    w = world
    ada, name = w["ada"], w["name"]
    estate = Estate(name)
    label = estate.label(w["email"], "Email", status="suggested")  # the machine's: withdrawable
    await estate.write(neo4j, settings.neo4j.database)
    finding, waiver = await waived_finding(w)
    heard: asyncio.Queue[str] = asyncio.Queue()

    async with ws_client(api, w["token"]) as session:
        stream = session.subscribe(GraphQLRequest(UPDATES, variable_values={"domain": w["domain"]}))

        async def listen() -> None:
            async for update in stream:
                if update["complianceUpdates"]["urn"] == finding:
                    heard.put_nowait(update["complianceUpdates"]["status"])

        async def next_status() -> str:
            return await asyncio.wait_for(heard.get(), 20)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)  # the subscription is registered
        try:
            assert (await w["bob"](APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
            assert await next_status() == "waived"
            rejected = await ada(REJECT, column=w["email"], label=label)
            assert rejected["decideLabel"]["errors"] == []
            assert await next_status() == "resolved"  # the watcher evaluates
            withdrawn = await ada(WITHDRAW, column=w["email"], label=label)
            assert withdrawn["withdrawLabelDecision"]["errors"] == []
            assert await next_status() == "waived"  # back under its running waiver
            assert (await owner_finding(w))["status"] == "WAIVED"
            await write(neo4j, settings.neo4j.database, EXPIRE, urn=waiver)
            evaluated = (await ada(EVALUATE, source=name))["evaluateCompliance"]
            assert evaluated["errors"] == []
            assert await next_status() == "open"
            await asyncio.sleep(0.5)
            assert heard.empty()  # nothing else was said of it
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


SUMMARY = """
mutation($source: String) { evaluateCompliance(source: $source) {
  evaluation { opened waived resolved } errors { message } } }
"""
# The email column's owner, written without announcing it (no watcher evaluates in between).
OWN = "MATCH (c:Asset {urn: $column}) MERGE (t:Team {name: $team}) MERGE (t)-[:OWNS]->(c)"
DISOWN = "MATCH (t:Team {name: $team}) DETACH DELETE t"


async def test_a_finding_back_under_its_waiver_is_not_counted_as_opened(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """The evaluation that finds a waived finding's cause back while the waiver runs reports
    it waived, not opened (it counted as opened)."""
    w = world
    db, team = settings.neo4j.database, f"{w['name']}-owners"
    finding, waiver = await waived_finding(w)
    assert (await w["bob"](APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []

    async def evaluate() -> dict[str, int]:
        done = (await w["ada"](SUMMARY, source=w["name"]))["evaluateCompliance"]
        assert done["errors"] == []
        return done["evaluation"]

    try:
        await write(neo4j, db, OWN, column=w["email"], team=team)
        assert await evaluate() == {"opened": 0, "waived": 0, "resolved": 2}  # GDPR and CCPA
        await write(neo4j, db, DISOWN, team=team)
        # the waived GDPR finding is back waived; the CCPA one, which no waiver covers, opens
        assert await evaluate() == {"opened": 1, "waived": 1, "resolved": 0}
    finally:
        await write(neo4j, db, DISOWN, team=team)
    assert (await w["ada"](NODE, id=finding))["node"]["status"] == "WAIVED"
