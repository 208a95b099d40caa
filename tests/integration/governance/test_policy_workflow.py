"""The governance admin's path through GraphQL alone, against the real OPA and Neo4j: a policy
from templates, tested, submitted, refused to its author, approved and activated by a second
admin; findings for a PII column without owner, live on complianceUpdates; a waiver approved by
someone else; a report. Plus the refusals (invalid Rego, a failing test case, an unknown
parameter, an unreachable OPA), custom Rego and rollback, continuous re-evaluation, escalation,
lineage across regions and domain-local policies."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from gql import GraphQLRequest
from neo4j import AsyncDriver

from core.settings import Settings
from core.topics import COMPLIANCE
from governance.announce import TRANSITIONED
from graph.driver import write
from graph.inheritance import propagate
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.governance.flow import (
    ACTIVATE,
    ADD_RULE,
    APPROVE,
    APPROVE_WAIVER,
    CREATE,
    EVALUATE,
    FINDINGS,
    FORGET,
    REPORT,
    RULE,
    SUBMIT,
    TEST,
    UPDATE,
    UPDATES,
    WAIVE,
    Admin,
    case,
    draft,
    findings_of,
    release,
)
from tests.integration.graphql.conftest import Served, bearer, serve, ws_client


async def test_admin_governs_through_graphql_alone(world: dict[str, Any], api: str) -> None:
    w = world
    ada, bob = w["ada"], w["bob"]
    await draft(w)

    tested = (await ada(TEST, policy=w["policy"]))["testPolicyVersion"]
    assert tested["run"]["passed"], tested
    submitted = (await ada(SUBMIT, policy=w["policy"]))["submitPolicyVersion"]
    assert submitted["version"]["state"] == "IN_REVIEW", submitted

    own = (await ada(APPROVE, policy=w["policy"], version=1))["approvePolicyVersion"]
    assert own["errors"][0]["__typename"] == "SelfApprovalError"
    approved = (await bob(APPROVE, policy=w["policy"], version=1))["approvePolicyVersion"]
    assert approved["version"] == {"state": "APPROVED", "approvedBy": f"{w['name']}-bob"}

    activated = (await bob(ACTIVATE, policy=w["policy"], version=1))["activatePolicyVersion"]
    assert activated["errors"] == [] and activated["version"]["state"] == "ACTIVE"
    rule_set = activated["ruleSetVersion"]
    assert activated["evaluation"]["ruleSetVersion"] == rule_set

    # A subscriber of the domain sees the evaluation: the finding, then the domain's scores.
    async with ws_client(api, w["token"]) as session:
        stream = session.subscribe(GraphQLRequest(UPDATES, variable_values={"domain": w["domain"]}))
        received: list[dict[str, Any]] = []

        async def listen() -> None:
            async for update in stream:
                received.append(update["complianceUpdates"])
                if update["complianceUpdates"]["urn"] is None:
                    return

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.5)  # the subscription is registered
        # Resolved first (the owner added), then open again: the subscriber sees both moves.
        evaluated = (await ada(EVALUATE, source=w["name"]))["evaluateCompliance"]
        await asyncio.wait_for(listener, 10)
    assert evaluated["errors"] == [] and evaluated["evaluation"]["assets"] == 2
    nowhere = (await ada(EVALUATE, source=f"{w['name']}-nowhere"))["evaluateCompliance"]
    assert nowhere["errors"] == [  # it evaluated nothing and said nothing
        {"__typename": "NotFoundError", "message": f"no data source {w['name']}-nowhere"}
    ]
    gdpr = [s for s in evaluated["evaluation"]["scores"]
            if s["framework"] == "gdpr" and s["domain"] == w["domain"]]  # fmt: skip
    assert gdpr[0]["status"] == "NON_COMPLIANT" and gdpr[0]["failed"] == 1
    assert received[-1]["domain"] == w["domain"] and received[-1]["ruleSetVersion"] == rule_set

    found = (await ada(FINDINGS, filter={"asset": w["email"]}))["findings"]
    assert found["totalCount"] == 2  # GDPR Art. 30 and CCPA 1798.100
    finding = next(e["node"] for e in found["edges"] if e["node"]["framework"] == "gdpr")
    assert finding["status"] == "OPEN" and finding["ruleSetVersion"] == rule_set
    assert finding["rule"] == f"{w['name']}/owner" and finding["domains"] == [w["domain"]]
    assert finding["evidence"] == {"labels": [f"{w['name']}.Email"]}

    requested = (await ada(WAIVE, finding=finding["id"]))["requestWaiver"]
    waiver = requested["waiver"]["id"]
    twice = (await bob(WAIVE, finding=finding["id"]))["requestWaiver"]  # one awaits approval
    awaits = "a waiver of the finding awaits approval already"
    assert twice["errors"] == [{"__typename": "WrongStateError", "message": awaits}]
    # The approver's inbox (there was no way to list waivers: only their requester knew one).
    inbox = await bob(WAIVERS, filter={"status": "REQUESTED", "finding": finding["id"]})
    assert [e["node"] for e in inbox["waivers"]["edges"]] == [
        {"id": waiver, "requestedBy": f"{w['name']}-ada", "finding": finding["id"]}
    ]
    assert inbox["waivers"]["totalCount"] == 1
    ccpa = next(e["node"]["id"] for e in found["edges"] if e["node"]["framework"] == "ccpa")
    later = (await ada(WAIVE, finding=ccpa))["requestWaiver"]["waiver"]["id"]
    mine = {"status": "REQUESTED", "domain": w["domain"]}
    page = (await bob(WAIVERS, filter=mine, first=1))["waivers"]
    assert [e["node"]["id"] for e in page["edges"]] == [waiver]  # oldest request first
    rest = await bob(WAIVERS, filter=mine, after=page["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in rest["waivers"]["edges"]] == [later]
    own = (await ada(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]
    assert own["errors"][0]["__typename"] == "SelfApprovalError"
    approved = (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]
    assert approved["waiver"]["status"] == "APPROVED"
    waived = (await ada(FINDINGS, filter={"asset": w["email"], "framework": "gdpr"}))["findings"]
    assert waived["edges"][0]["node"]["status"] == "WAIVED"

    report = (await ada(REPORT, domain=w["domain"]))["complianceReport"]
    art30 = next(c for c in report["controls"] if c["control"]["citation"] == "Art. 30")
    assert art30["passed"] and findings_of(art30) == [{"asset": w["email"], "status": "WAIVED"}]
    assert rule_set in report["ruleSetVersions"]
    exported = json.loads(report["json"])
    assert exported["framework"] == "gdpr" and exported["domain"] == w["domain"]
    rows = list(csv.DictReader(io.StringIO(report["csv"])))
    assert any(r["asset"] == w["email"] and r["status"] == "waived" for r in rows)


async def test_bad_policies_cannot_be_submitted(world: dict[str, Any]) -> None:
    w = world
    ada = w["ada"]
    await draft(w)

    unknown = await ada(ADD_RULE, policy=w["policy"], rule={**RULE, "params": {"owners": 1}})
    error = unknown["addRule"]["errors"][0]
    assert error["__typename"] == "ParameterError"
    assert (error["template"], error["parameter"]) == ("pii_has_owner", "owners")

    rego = "package mine\n\ndeny contains f if {\n  f := input.assets[_]\n  f.urn ==\n}\n"
    await ada(UPDATE, policy=w["policy"], rego=rego)
    refused = (await ada(SUBMIT, policy=w["policy"]))["submitPolicyVersion"]
    assert refused["errors"][0]["__typename"] == "RegoError"
    assert refused["errors"][0]["line"] == 6  # the line of the error in the author's text

    wrong = [case("expects a finding that does not happen", w["name"], ["crm"],
                  [{"rule": "owner", "asset": "urn:c"}])]  # fmt: skip
    await ada(UPDATE, policy=w["policy"], rego="", tests=wrong)
    failed = (await ada(SUBMIT, policy=w["policy"]))["submitPolicyVersion"]
    assert failed["errors"][0]["__typename"] == "PolicyTestFailedError"
    assert failed["errors"][0]["run"]["cases"] == [
        {"name": "expects a finding that does not happen", "passed": False}
    ]
    state = await ada(TEST, policy=w["policy"])
    assert state["testPolicyVersion"]["run"]["passed"] is False


async def test_unreachable_opa_never_reads_compliant(
    world: dict[str, Any], settings: Settings
) -> None:
    """With OPA down an evaluation refuses with a typed error and writes no score."""
    broken = settings.model_copy(update={"opa_url": "http://127.0.0.1:9"})
    async with serve(broken) as served, httpx.AsyncClient(base_url=served.url, timeout=30) as http:
        ada = Admin(http, world["token"])
        result = (await ada(EVALUATE, source=world["name"]))["evaluateCompliance"]
        assert result["evaluation"] is None
        assert result["errors"][0]["__typename"] == "PolicyEngineUnavailableError"
        report = (await ada(REPORT, domain=world["domain"]))["complianceReport"]
        assert report["status"] == "UNKNOWN" and report["score"] is None
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and not ready.json()["dependencies"]["opa"]["up"]


ROLLBACK = """
mutation($policy: ID!) { rollbackPolicy(policy: $policy) {
  version { version state } ruleSetVersion errors { __typename message } } }
"""
POLICY = """
query($urn: ID!) { policy(urn: $urn) { name activeVersion { version }
  versions { edges { node { version state authors rules { id template } } } } } }
"""
CUSTOM_REGO = """package mine

import data.datawave.lib

deny contains {"rule": "no-email", "asset": asset.urn, "message": "an email column",
               "evidence": {}} if {
	some asset in input.assets
	some label in lib.labels(asset)
	endswith(label.name, ".Email")
}
"""


async def test_custom_rego_then_rollback(world: dict[str, Any]) -> None:
    """v1 (a template rule) in force, then v2 adds a custom Rego rule; its findings appear under
    the new rule set; rolling back reactivates v1 and resolves them."""
    w = world
    ada = w["ada"]
    await draft(w)
    v1 = await release(w, 1)
    assert v1["version"] == {"state": "ACTIVE", "activatedBy": f"{w['name']}-bob"}

    custom = {"id": "no-email", "template": "custom", "severity": "LOW",
              "controls": ["urn:dw:control:gdpr/art-32"]}  # fmt: skip
    added = (await ada(ADD_RULE, policy=w["policy"], rule=custom))["addRule"]
    assert added["version"]["version"] == 2 and len(added["version"]["rules"]) == 2
    tests = [
        case("no owner", w["name"], [], [{"rule": "owner", "asset": "urn:c"},
                                        {"rule": "no-email", "asset": "urn:c"}]),
    ]  # fmt: skip
    await ada(UPDATE, policy=w["policy"], rego=CUSTOM_REGO, tests=tests)
    v2 = await release(w, 2)
    assert v2["errors"] == [] and v2["ruleSetVersion"] > v1["ruleSetVersion"]

    await ada(EVALUATE, source=w["name"])
    art32 = {"asset": w["email"], "framework": "gdpr", "status": "OPEN"}
    found = (await ada(FINDINGS, filter=art32))["findings"]["edges"]
    assert {e["node"]["rule"] for e in found} == {f"{w['name']}/owner", f"{w['name']}/no-email"}

    rolled = (await w["bob"](ROLLBACK, policy=w["policy"]))["rollbackPolicy"]
    assert rolled["version"] == {"version": 1, "state": "ACTIVE"}
    state = (await ada(POLICY, urn=w["policy"]))["policy"]
    assert state["activeVersion"] == {"version": 1}
    assert [(v["node"]["version"], v["node"]["state"]) for v in state["versions"]["edges"]] == [
        (1, "ACTIVE"),
        (2, "RETIRED"),
    ]
    await ada(EVALUATE, source=w["name"])
    found = (await ada(FINDINGS, filter=art32))["findings"]["edges"]
    assert {e["node"]["rule"] for e in found} == {f"{w['name']}/owner"}

    # Past its first version, nothing of the policy stays in force (it was refused: a policy
    # once active could never leave).
    out = (await w["bob"](ROLLBACK, policy=w["policy"]))["rollbackPolicy"]
    assert (out["errors"], out["version"]) == ([], None)
    assert (await ada(POLICY, urn=w["policy"]))["policy"]["activeVersion"] is None
    await ada(EVALUATE, source=w["name"])
    assert (await ada(FINDINGS, filter=art32))["findings"]["edges"] == []


WAIVERS = """
query($filter: WaiverFilter, $first: Int! = 5, $after: String) {
  waivers(filter: $filter, first: $first, after: $after) {
    totalCount edges { node { id requestedBy finding } } pageInfo { hasNextPage endCursor } } }
"""
RETURNED = """
query($urn: ID!) { policy(urn: $urn) { versions { edges { node { state returnNote } } } } }
"""
RETURN = """
mutation($policy: ID!, $version: Int!, $note: String!) {
  returnPolicyVersion(policy: $policy, version: $version, note: $note) {
    version { version state returnedBy returnNote submittedBy }
    errors { __typename message ... on InvalidInputError { field } } } }
"""


async def test_a_version_in_review_goes_back_to_draft_with_why(world: dict[str, Any]) -> None:
    """Its reviewer declines it, or its authors withdraw it: before, in review it could only
    be approved, and nothing could change it."""
    w = world
    ada, bob, name = w["ada"], w["bob"], w["name"]
    await draft(w)
    assert (await ada(SUBMIT, policy=w["policy"]))["submitPolicyVersion"]["errors"] == []

    async def send_back(who: Any, note: str) -> dict[str, Any]:
        done = await who(RETURN, policy=w["policy"], version=1, note=note)
        return done["returnPolicyVersion"]

    blank = await send_back(bob, "  ")
    why = "say why, in 1 to 2000 characters"
    assert blank["errors"][0] == {
        "__typename": "InvalidInputError",
        "message": why,
        "field": "note",
    }
    declined = await send_back(bob, "scope it to the sales domain first")
    assert declined["version"] == {"version": 1, "state": "DRAFT", "returnedBy": f"{name}-bob",
                                   "returnNote": "scope it to the sales domain first",
                                   "submittedBy": None}  # fmt: skip
    again = await send_back(bob, "twice")
    assert again["errors"][0]["__typename"] == "WrongStateError"
    stored = (await ada(RETURNED, urn=w["policy"]))["policy"]["versions"]["edges"]  # read back
    assert stored == [
        {"node": {"state": "DRAFT", "returnNote": "scope it to the sales domain first"}}
    ]
    edited = (await ada(ADD_RULE, policy=w["policy"], rule={**RULE, "id": "owner-2"}))["addRule"]
    assert edited["errors"] == [] and edited["version"]["version"] == 1  # the same draft


DECIDE = """
mutation($column: ID!, $label: String!) {
  decideLabel(input: {column: $column, label: $label, decision: CONFIRMED}) { errors { message } } }
"""
DESCRIBE = """
mutation($urn: ID!, $owner: String!) {
  describeAsset(input: {urn: $urn, owner: $owner}) { errors { message } } }
"""


async def next_finding(stream: Any, status: str) -> dict[str, Any]:
    async for update in stream:
        if update["complianceUpdates"]["urn"] and update["complianceUpdates"]["status"] == status:
            return update["complianceUpdates"]
    raise AssertionError("the subscription ended")


async def test_changes_are_evaluated_as_they_happen(
    world: dict[str, Any], api: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    """With the policy in force, a steward confirming a PII label opens a finding that a
    subscriber sees within 2 s; naming the table's owner resolves it."""
    w = world
    await draft(w)
    await release(w, 1)
    estate = Estate(w["name"])
    phone = estate.column_urn("people", "id")
    label = estate.label(phone, "Phone", status="review")  # a review label does not count yet
    await estate.write(neo4j, settings.neo4j.database)

    async with ws_client(api, w["token"]) as session:
        stream = session.subscribe(GraphQLRequest(UPDATES, variable_values={"domain": w["domain"]}))
        waiting = asyncio.create_task(next_finding(stream, "open"))
        await asyncio.sleep(0.5)
        started = asyncio.get_running_loop().time()
        assert (await w["ada"](DECIDE, column=phone, label=label))["decideLabel"]["errors"] == []
        opened = await asyncio.wait_for(waiting, 5)
        latency = asyncio.get_running_loop().time() - started
        assert phone in opened["message"]
        assert latency < 2.0, f"{latency:.2f}s from the confirmation to the subscriber"

        waiting = asyncio.create_task(next_finding(stream, "resolved"))
        table = estate.table_urn("people")
        assert await w["ada"](DESCRIBE, urn=table, owner=f"{w['name']}-crm")
        resolved = await asyncio.wait_for(waiting, 5)
        assert resolved["message"].startswith(phone.rsplit("/", 1)[0])  # a column of the table


BACKDATE = """
MATCH (f:Finding {source: $name}) SET f.firstSeenAt = datetime() - duration({hours: 25})
"""


async def test_critical_findings_open_too_long_are_escalated_once(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    w = world
    ada = w["ada"]
    await draft(w)
    critical = {**RULE, "severity": "CRITICAL", "params": {"categories": [w["name"]]}}
    await ada(ADD_RULE, policy=w["policy"], rule=critical)
    await release(w, 1)
    await ada(EVALUATE, source=w["name"])
    mine = {"asset": w["email"]}
    found = (await ada(FINDINGS, filter=mine))["findings"]["edges"]
    assert len(found) == 2 and not any(e["node"]["escalatedAt"] for e in found)  # not 24 h yet
    await write(neo4j, settings.neo4j.database, BACKDATE, name=w["name"])
    await ada(EVALUATE, source=w["name"])  # (or the watcher's minutely check, whichever first)
    found = (await ada(FINDINGS, filter=mine))["findings"]["edges"]
    assert all(e["node"]["escalatedAt"] for e in found)
    when = {e["node"]["escalatedAt"] for e in found}
    await ada(EVALUATE, source=w["name"])  # escalated once only
    found = (await ada(FINDINGS, filter=mine))["findings"]["edges"]
    assert {e["node"]["escalatedAt"] for e in found} == when


TAG = """
mutation($urn: ID!, $tags: [String!]!) {
  describeAsset(input: {urn: $urn, tags: $tags}) { errors { message } } }
"""


async def test_lineage_carries_personal_data_out_of_the_region(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """GDPR Art. 44 over the graph: the email column (EU) feeds a US table's column, which
    holds no label of its own but inherits the email; its finding names the label it receives
    and where from, and the email column's names where it flows."""
    w = world
    ada = w["ada"]
    estate = Estate(w["name"])
    copy = estate.table("us_copy", ("contact",))
    contact = estate.column_urn("us_copy", "contact")
    estate.feeds(w["email"], contact)
    await estate.write(neo4j, settings.neo4j.database)
    async with neo4j.session(database=settings.neo4j.database) as session:
        await session.execute_write(propagate, [contact])  # as lineage writers do
    await ada(TAG, urn=estate.table_urn("people"), tags=["region:eu"])
    await ada(TAG, urn=copy, tags=["region:us"])
    await ada(CREATE, input={"name": w["name"]})
    flow = {"id": "regions", "template": "pii_no_cross_region_flow", "severity": "HIGH",
            "params": {"categories": [w["name"]], "allowed_regions": ["eu"]}}  # fmt: skip
    await ada(ADD_RULE, policy=w["policy"], rule=flow)
    await release(w, 1)
    found = await ada(FINDINGS, filter={"framework": "gdpr", "status": "OPEN", "asset": contact})
    edges = found["findings"]["edges"]
    assert [e["node"]["control"] for e in edges] == ["urn:dw:control:gdpr/art-44"]
    label = f"{w['name']}.Email"
    assert edges[0]["node"]["evidence"] == {
        "labels": [label], "regions": ["us"],
        "receivedFrom": [{"label": label, "from": w["email"], "path": [w["email"], contact]}],
    }  # fmt: skip
    eu = await ada(FINDINGS, filter={"asset": w["email"], "status": "OPEN"})
    [flows] = [e["node"] for e in eu["findings"]["edges"]]
    assert flows["evidence"] == {
        "labels": [], "regions": ["eu"],
        "flowsInto": [{"urn": contact, "labels": [label], "regions": ["us"]}],
    }  # fmt: skip


EFFECTIVE = """
query($asset: ID!) {
  effectiveRules(asset: $asset) { ruleSetVersion rules { id scope scopeValue } } }
"""


async def test_domain_policies_add_rules_for_their_domain_only(
    world: dict[str, Any], served: Served, settings: Settings, neo4j: AsyncDriver
) -> None:
    """A domain owner writes a policy of their domain (not a global one, and no rule outside
    it); once in force, the domain's columns have the global rules and the domain's, the others
    the global rules only."""
    w = world
    estate = Estate(w["name"])
    elsewhere = estate.table("elsewhere", ("email",))  # in no data product: no domain
    await estate.write(neo4j, settings.neo4j.database)
    owner_token = mint_token(
        settings.auth, f"{w['name']}-olga", ["domain_owner"], domains=[w["domain"]]
    )
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
        olga = Admin(http, owner_token)
        local = f"{w['name']}-local"
        refused = await http.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": {"name": f"{w['name']}-global"}}},
            headers=bearer(owner_token),
        )
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        made = await olga(CREATE, input={"name": local, "domain": w["domain"]})
        assert made["createPolicy"]["errors"] == []
        local_urn = f"urn:dw:policy:{local}"
        rule = {**RULE, "params": {"categories": [w["name"]]}}
        wide = (await olga(ADD_RULE, policy=local_urn, rule=rule))["addRule"]["errors"]
        assert wide[0]["__typename"] == "InvalidInputError" and "scoped" in wide[0]["message"]
        narrow = {**rule, "id": "local-owner", "scope": "DOMAIN", "scopeValue": w["domain"]}
        assert (await olga(ADD_RULE, policy=local_urn, rule=narrow))["addRule"]["errors"] == []
        assert (await olga(SUBMIT, policy=local_urn))["submitPolicyVersion"]["errors"] == []
    try:
        await draft(w)
        await release(w, 1)
        assert await w["ada"](APPROVE, policy=local_urn, version=1)  # a global admin approves
        await w["ada"](ACTIVATE, policy=local_urn, version=1)
        inside = (await w["ada"](EFFECTIVE, asset=w["email"]))["effectiveRules"]
        ids = {r["id"] for r in inside["rules"]}
        assert {f"{w['name']}/owner", f"{local}/local-owner"} <= ids
        outside = (await w["ada"](EFFECTIVE, asset=elsewhere))["effectiveRules"]
        assert f"{w['name']}/owner" in {r["id"] for r in outside["rules"]}
        assert f"{local}/local-owner" not in {r["id"] for r in outside["rules"]}
        assert outside["ruleSetVersion"] == inside["ruleSetVersion"] > 0
    finally:
        await write(neo4j, settings.neo4j.database, FORGET, name=w["name"], policy=local_urn)


EXPIRE = "MATCH (w:Waiver {urn: $urn}) SET w.expiresAt = datetime() - duration({minutes: 1})"
REPORT_AS_OF = """
query($domain: String, $asOf: DateTime) {
  complianceReport(framework: "gdpr", domain: $domain, asOf: $asOf) {
    status score controls { control { citation } passed findings { edges { node { asset } } } }
    html: export(format: HTML) } }
"""


async def test_waivers_expire_and_past_reports_stay_as_they_were(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """A waiver past its end opens its finding again; a report as of a past moment shows the
    findings and score of then, after an owner resolved them since."""
    w = world
    ada, bob = w["ada"], w["bob"]
    await draft(w)
    await release(w, 1)
    found = (await ada(FINDINGS, filter={"asset": w["email"], "framework": "gdpr"}))["findings"]
    finding = found["edges"][0]["node"]["id"]
    waiver = (await ada(WAIVE, finding=finding))["requestWaiver"]["waiver"]["id"]
    assert (await bob(APPROVE_WAIVER, waiver=waiver))["approveWaiver"]["errors"] == []
    await write(neo4j, settings.neo4j.database, EXPIRE, urn=waiver)
    await ada(EVALUATE, source=w["name"])
    reopened = await ada(FINDINGS, filter={"asset": w["email"], "framework": "gdpr"})
    assert reopened["findings"]["edges"][0]["node"]["status"] == "OPEN"

    then = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    table = w["email"].replace("urn:dw:column:", "urn:dw:table:").rsplit("/", 1)[0]
    await ada(DESCRIBE, urn=table, owner=f"{w['name']}-crm")
    await ada(EVALUATE, source=w["name"])
    past = (await ada(REPORT_AS_OF, domain=w["domain"], asOf=then))["complianceReport"]
    now = (await ada(REPORT_AS_OF, domain=w["domain"]))["complianceReport"]
    art30 = {c["control"]["citation"]: c for c in past["controls"]}["Art. 30"]
    assert not art30["passed"] and findings_of(art30) == [{"asset": w["email"]}]
    assert past["status"] == "NON_COMPLIANT" and now["status"] == "COMPLIANT"
    assert {c["control"]["citation"]: c for c in now["controls"]}["Art. 30"]["passed"]
    assert "<table>" in past["html"] and "Art. 30" in past["html"] and w["email"] in past["html"]


async def transitions(settings: Settings, policy: str) -> list[tuple[int, str, str]]:
    """The policy's transitions announced on datawave.compliance.v1 so far."""
    consumer = AIOKafkaConsumer(
        COMPLIANCE, bootstrap_servers=settings.kafka.bootstrap_servers,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        partitions = list(consumer.assignment()) or [
            TopicPartition(COMPLIANCE, p) for p in consumer.partitions_for_topic(COMPLIANCE)
        ]
        ends = await consumer.end_offsets(partitions)
        seen = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for r in records:
                    event = json.loads(r.value)
                    if event["type"] == TRANSITIONED and event["subject"] == policy:
                        data = event["data"]
                        seen.append((data["version"], data["state"], data["actor"]))
        return seen
    finally:
        await consumer.stop()


async def test_every_transition_is_announced(world: dict[str, Any], settings: Settings) -> None:
    w = world
    await draft(w)
    await release(w, 1)
    name = w["name"]
    assert await transitions(settings, w["policy"]) == [
        (1, "draft", f"{name}-ada"),
        (1, "in_review", f"{name}-ada"),
        (1, "approved", f"{name}-bob"),
        (1, "active", f"{name}-bob"),
    ]
