"""A waiver's end before its time, as a compliance officer drives it through GraphQL against
the real graph, OPA and API: a request declined by an approver or withdrawn by its requester,
an approved waiver revoked (its finding open again at once, announced and scored, while a past
report still reads it waived), each held to the caller's scope and audited. And the policy
tests a domain owner may run: only of the policies they may edit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read
from security.auth import mint_token
from tests.factories import eventually
from tests.integration.governance.flow import (
    APPROVE_WAIVER,
    CREATE,
    EVALUATE,
    TEST,
    UPDATES,
    WAIVE,
    Admin,
    draft,
    owner_finding,
    release,
)
from tests.integration.graphql.conftest import ws_client

FIELDS = """waiver { id status closedBy closedAt closeReason }
  errors { __typename message ... on NotFoundError { urn } ... on InvalidInputError { field } }"""
DECLINE = (
    "mutation($waiver: ID!, $reason: String!) { declineWaiver(waiver: $waiver, reason: $reason)"
    " { " + FIELDS + " } }"
)
WITHDRAW = (
    "mutation($waiver: ID!, $reason: String!) { withdrawWaiver(waiver: $waiver, reason: $reason)"
    " { " + FIELDS + " } }"
)
REVOKE = (
    "mutation($waiver: ID!, $reason: String!) { revokeWaiver(waiver: $waiver, reason: $reason)"
    " { " + FIELDS + " } }"
)
WAIVERS = """
query($status: WaiverStatus, $finding: ID) {
  waivers(filter: {status: $status, finding: $finding}) {
    totalCount edges { node { id status closedBy closeReason } } } }
"""
REPORT = """
query($domain: String, $asOf: DateTime) {
  complianceReport(framework: "gdpr", domain: $domain, asOf: $asOf) {
    status score controls { control { code } status openFindings }
    csv: export(format: CSV) } }
"""
AUDITED = """
MATCH (e:AuditEvent {actor: $actor, action: $action, resource: $urn})
RETURN e.outcome AS outcome ORDER BY e.at
"""


def art30(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["controls"] if c["control"]["code"] == "art-30")


def refusal(kind: str, message: str, **fields: str) -> dict[str, Any]:
    return {"waiver": None, "errors": [{"__typename": kind, "message": message, **fields}]}


async def requested(w: dict[str, Any]) -> tuple[str, str]:
    """The world's policy in force, its GDPR owner finding open and a waiver of it requested by
    ada: (finding, waiver)."""
    await draft(w)
    await release(w, 1)
    finding = (await owner_finding(w))["id"]
    asked = (await w["ada"](WAIVE, finding=finding))["requestWaiver"]
    assert asked["errors"] == [], asked
    return finding, asked["waiver"]["id"]


@contextlib.asynccontextmanager
async def callers(w: dict[str, Any], settings: Settings) -> AsyncIterator[dict[str, Admin]]:
    """The owner of the world's domain and the owner of another (compliance:write and
    policy:write in their domain; no policy:approve, which admins hold everywhere)."""
    name = w["name"]
    tokens = {
        "olga": mint_token(settings.auth, f"{name}-olga", ["domain_owner"], domains=[w["domain"]]),
        "sam": mint_token(settings.auth, f"{name}-sam", ["domain_owner"], domains=[f"{name}-hr"]),
    }
    async with httpx.AsyncClient(base_url=w["url"], timeout=60) as http:
        yield {who: Admin(http, token) for who, token in tokens.items()}


async def test_an_approver_declines_a_waiver_request(world: dict[str, Any]) -> None:
    """bob declines ada's request, saying why: it is DECLINED (listed so), its finding stays
    open, it can no longer be approved, and another may be requested. The requester cannot
    decline her own (she withdraws it); a reason is required and capped; an unknown URN is a
    NotFoundError."""
    w = world
    ada, bob, name = w["ada"], w["bob"], w["name"]
    finding, waiver = await requested(w)
    own = (await ada(DECLINE, waiver=waiver, reason="changed my mind"))["declineWaiver"]
    assert own == refusal("SelfApprovalError", f"{name}-ada requested this waiver: withdraw it "
                          "instead")  # fmt: skip
    for reason in ("  ", "x" * 2001):
        bad = (await bob(DECLINE, waiver=waiver, reason=reason))["declineWaiver"]
        assert bad == refusal("InvalidInputError", "say why, in 1 to 2000 characters",
                              field="reason")  # fmt: skip
    unknown = f"{waiver}0"
    missing = (await bob(DECLINE, waiver=unknown, reason="no"))["declineWaiver"]
    assert missing == refusal("NotFoundError", f"no waiver {unknown}", urn=unknown)

    why = "the owners are known: assign them instead"
    declined = (await bob(DECLINE, waiver=waiver, reason=f" {why} "))["declineWaiver"]
    assert declined["errors"] == []
    got = declined["waiver"]
    assert (got["id"], got["status"], got["closedBy"], got["closeReason"]) == (
        waiver, "DECLINED", f"{name}-bob", why
    )  # fmt: skip
    assert datetime.fromisoformat(got["closedAt"]) <= datetime.now(UTC)
    listed = (await ada(WAIVERS, status="DECLINED", finding=finding))["waivers"]
    assert listed["edges"] == [
        {"node": {"id": waiver, "status": "DECLINED", "closedBy": f"{name}-bob",
                  "closeReason": why}}
    ]  # fmt: skip
    assert (await owner_finding(w))["status"] == "OPEN"
    late = (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]
    assert late["errors"] == [
        {"__typename": "WrongStateError", "message": "the waiver is declined"}
    ]
    again = (await bob(DECLINE, waiver=waiver, reason=why))["declineWaiver"]
    assert again == refusal("WrongStateError", "the waiver is declined, not awaiting approval")
    anew = (await ada(WAIVE, finding=finding))["requestWaiver"]
    assert anew["errors"] == [] and anew["waiver"]["status"] == "REQUESTED"


ASK = (
    "mutation($finding: ID!, $reason: String!) { requestWaiver(finding: $finding,"
    " reason: $reason, days: 7) { " + FIELDS + " } }"
)


async def test_a_waiver_request_says_why_within_the_cap(world: dict[str, Any]) -> None:
    """A request's reason had no cap: a megabyte of justification was stored and shown."""
    await draft(world)
    await release(world, 1)
    finding = (await owner_finding(world))["id"]
    for reason in ("  ", "x" * 2001):
        bad = (await world["ada"](ASK, finding=finding, reason=reason))["requestWaiver"]
        assert bad == refusal("InvalidInputError", "say why, in 1 to 2000 characters",
                              field="reason")  # fmt: skip
    asked = (await world["ada"](ASK, finding=finding, reason="x" * 2000))["requestWaiver"]
    assert asked["errors"] == [] and asked["waiver"]["status"] == "REQUESTED"


async def test_a_requester_withdraws_her_own_request(world: dict[str, Any]) -> None:
    """Only the requester withdraws a request (an approver declines it), saying why; a waiver
    withdrawn is WITHDRAWN, and neither approved nor withdrawn again."""
    w = world
    ada, bob, name = w["ada"], w["bob"], w["name"]
    finding, waiver = await requested(w)
    theirs = (await bob(WITHDRAW, waiver=waiver, reason="not needed"))["withdrawWaiver"]
    assert theirs == refusal(
        "WrongStateError", f"only its requester may withdraw it; {name}-ada requested it"
    )
    why = "the owner is being assigned this week"
    withdrawn = (await ada(WITHDRAW, waiver=waiver, reason=why))["withdrawWaiver"]
    assert withdrawn["errors"] == []
    got = withdrawn["waiver"]
    assert (got["status"], got["closedBy"], got["closeReason"]) == (
        "WITHDRAWN", f"{name}-ada", why
    )  # fmt: skip
    listed = (await bob(WAIVERS, status="WITHDRAWN", finding=finding))["waivers"]
    assert [e["node"]["id"] for e in listed["edges"]] == [waiver]
    assert (await bob(WAIVERS, status="REQUESTED", finding=finding))["waivers"]["totalCount"] == 0
    late = (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]
    assert late["errors"][0]["__typename"] == "WrongStateError"
    twice = (await ada(WITHDRAW, waiver=waiver, reason=why))["withdrawWaiver"]
    assert twice == refusal("WrongStateError", "the waiver is withdrawn, not awaiting approval")
    assert (await owner_finding(w))["status"] == "OPEN"


async def test_revoking_a_waiver_reopens_its_finding_at_once_and_keeps_history(
    world: dict[str, Any], api: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    """bob approved ada's waiver; the risk changed and he revokes it: the finding is OPEN now
    (not at the waiver's end), a subscriber hears it open and the domain's score fall, the
    report counts it open again, a report as of a moment the waiver ran still reads it waived,
    and the revocation is audited. Only a running approved waiver can be revoked."""
    w = world
    ada, bob, name = w["ada"], w["bob"], w["name"]
    finding, waiver = await requested(w)
    pending = (await bob(REVOKE, waiver=waiver, reason="risk changed"))["revokeWaiver"]
    assert pending == refusal("WrongStateError", "the waiver is requested, not approved")
    assert (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    assert (await owner_finding(w))["status"] == "WAIVED"
    running = (await ada(WAIVERS, status="APPROVED", finding=finding))["waivers"]  # re-saved
    assert [e["node"]["id"] for e in running["edges"]] == [waiver]
    await asyncio.sleep(0.05)
    then = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    past = (await ada(REPORT, domain=w["domain"], asOf=then))["complianceReport"]
    assert (art30(past)["status"], art30(past)["openFindings"]) == ("PASSED", 0)
    assert ",waived," in past["csv"]

    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with ws_client(api, w["token"]) as session:
        stream = session.subscribe(GraphQLRequest(UPDATES, variable_values={"domain": w["domain"]}))

        async def listen() -> None:
            async for update in stream:
                heard.put_nowait(update["complianceUpdates"])

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)  # the subscription is registered
        try:
            why = "the dataset is now shared with a processor abroad"
            revoked = (await bob(REVOKE, waiver=waiver, reason=why))["revokeWaiver"]
            assert revoked["errors"] == []
            got = revoked["waiver"]
            assert (got["status"], got["closedBy"], got["closeReason"]) == (
                "REVOKED", f"{name}-bob", why
            )  # fmt: skip
            # The finding open, then the domain's GDPR score (a watcher's evaluation of the
            # domain may say more around it).
            said: list[dict[str, Any]] = []
            while not any(u["urn"] == finding for u in said):
                said.append(await asyncio.wait_for(heard.get(), 20))
            scored = len(said)
            while not any(u["urn"] is None and u["framework"] == "gdpr" for u in said[scored:]):
                said.append(await asyncio.wait_for(heard.get(), 20))
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
    assert [u["status"] for u in said if u["urn"] == finding] == ["open"]
    score = next(u for u in said[scored:] if u["urn"] is None and u["framework"] == "gdpr")
    assert score["status"] == "non_compliant"

    assert (await owner_finding(w))["status"] == "OPEN"
    now = (await ada(REPORT, domain=w["domain"]))["complianceReport"]
    assert (now["status"], art30(now)["status"], art30(now)["openFindings"]) == (
        "NON_COMPLIANT", "FAILED", 1
    )  # fmt: skip
    assert (await ada(REPORT, domain=w["domain"], asOf=then))["complianceReport"] == past
    listed = (await ada(WAIVERS, status="REVOKED", finding=finding))["waivers"]
    assert [e["node"]["id"] for e in listed["edges"]] == [waiver]
    twice = (await bob(REVOKE, waiver=waiver, reason=why))["revokeWaiver"]
    assert twice == refusal("WrongStateError", "the waiver is revoked, not approved")
    # An evaluation leaves it open (no running waiver waives it again).
    assert (await ada(EVALUATE, source=name))["evaluateCompliance"]["errors"] == []
    assert (await owner_finding(w))["status"] == "OPEN"

    await w["served"].app.state.datawave.audit.drain()

    async def audited() -> bool:
        rows = await read(neo4j, settings.neo4j.database, AUDITED, actor=f"{name}-bob",
                          action="revokeWaiver", urn=waiver)  # fmt: skip
        return [r["outcome"] for r in rows].count("succeeded") == 1

    await eventually(audited, timeout_s=10)


async def test_waivers_are_declined_revoked_and_withdrawn_within_scope(
    world: dict[str, Any], settings: Settings
) -> None:
    """A domain owner (who may request a waiver, not approve one) may not decline or revoke
    one; the owner of the finding's domain withdraws her own request, another domain's owner
    finds no such waiver to withdraw."""
    w = world
    _, waiver = await requested(w)
    async with callers(w, settings) as c:
        for query in (DECLINE, REVOKE):
            body = await c["olga"].raw(query, waiver=waiver, reason="no")
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert (await w["ada"](WITHDRAW, waiver=waiver, reason="retry"))["withdrawWaiver"][
            "errors"
        ] == []
        finding = (await owner_finding(w))["id"]
        mine = (await c["olga"](WAIVE, finding=finding))["requestWaiver"]
        assert mine["errors"] == [], mine
        hers = mine["waiver"]["id"]
        other = (await c["sam"](WITHDRAW, waiver=hers, reason="no"))["withdrawWaiver"]
        assert other == refusal("NotFoundError", f"no waiver {hers}", urn=hers)
        done = (await c["olga"](WITHDRAW, waiver=hers, reason="fixed"))["withdrawWaiver"]
        assert done["errors"] == [] and done["waiver"]["status"] == "WITHDRAWN"


async def test_policy_tests_run_only_for_policies_the_caller_may_edit(
    world: dict[str, Any], settings: Settings, neo4j: AsyncDriver
) -> None:
    """A domain owner ran any policy's tests (loading its modules into OPA): a global policy's
    or another domain's. Now it is FORBIDDEN as editing them is, and audited; their own
    domain's policy they test."""
    w = world
    await draft(w)  # a global policy
    async with callers(w, settings) as c:
        local = f"urn:dw:policy:{w['name']}-local"
        made = await c["olga"](CREATE, input={"name": f"{w['name']}-local", "domain": w["domain"]})
        assert made["createPolicy"]["errors"] == []
        for who, policy in (("olga", w["policy"]), ("sam", local), ("sam", w["policy"])):
            body = await c[who].raw(TEST, policy=policy)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (who, policy)
            assert body["data"] is None
        ran = (await c["olga"](TEST, policy=local))["testPolicyVersion"]
        assert ran["errors"] == [] and ran["run"]["passed"]
        ran = (await w["ada"](TEST, policy=local))["testPolicyVersion"]  # an unrestricted admin
        assert ran["errors"] == [] and ran["run"]["passed"]

    await w["served"].app.state.datawave.audit.drain()

    async def audited() -> bool:
        rows = await read(neo4j, settings.neo4j.database, AUDITED, actor=f"{w['name']}-sam",
                          action="policy:write", urn=local)  # fmt: skip
        return [r["outcome"] for r in rows] == ["denied"]

    await eventually(audited, timeout_s=10)
