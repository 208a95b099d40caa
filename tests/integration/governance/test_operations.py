"""Governed mutations ask the policy engine first: with operation rules in force for a source,
a label decision without a note and a tag outside the vocabulary are refused, naming the rule,
and the refusal is audited; with the engine unreachable they fail closed."""

from __future__ import annotations

from typing import Any

import httpx
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read
from tests.integration.estate import Estate
from tests.integration.governance.flow import ADD_RULE, CREATE, release
from tests.integration.graphql.conftest import bearer, serve

DECIDE = """
mutation($column: ID!, $label: String!, $note: String) {
  decideLabel(input: {column: $column, label: $label, decision: CONFIRMED, note: $note}) {
    errors { message } } }
"""
DESCRIBE = """
mutation($urn: ID!, $tags: [String!]) {
  describeAsset(input: {urn: $urn, tags: $tags}) { errors { message } } }
"""
DENIED = """
MATCH (e:AuditEvent {actor: $actor, outcome: 'denied'}) WHERE e.detail STARTS WITH 'policy'
RETURN e.action AS action, e.resource AS resource, e.detail AS detail
"""


async def post(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> dict:
    r = await http.post("/graphql", json={"query": query, "variables": variables},
                        headers=bearer(token))  # fmt: skip
    return r.json()


async def test_operation_rules_refuse_by_name_and_fail_closed(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    w = world
    name = w["name"]
    scope = {"scope": "SOURCE", "scopeValue": name, "severity": "MEDIUM"}  # only our source
    await w["ada"](CREATE, input={"name": name})
    note = {"id": "note", "template": "label_decision_note",
            "params": {"categories": [name], "min_note": 10}, **scope}  # fmt: skip
    tags = {"id": "tags", "template": "asset_tags_allowed",
            "params": {"prefixes": ["retention:"]}, **scope}  # fmt: skip
    for rule in (note, tags):
        assert (await w["ada"](ADD_RULE, policy=w["policy"], rule=rule))["addRule"]["errors"] == []
    assert (await release(w, 1))["errors"] == []
    estate = Estate(name)
    label = f"{name}.Email"
    table = estate.table_urn("people")

    async with httpx.AsyncClient(base_url=w["url"], timeout=30) as http:
        token = w["token"]
        refused = await post(http, token, DECIDE, column=w["email"], label=label)
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "POLICY_VIOLATION"
        assert error["extensions"]["rules"] == [f"{name}/note"]
        fine = await post(http, token, DECIDE, column=w["email"], label=label,
                          note="checked against the CRM export")  # fmt: skip
        assert "errors" not in fine and fine["data"]["decideLabel"]["errors"] == []
        bad = await post(http, token, DESCRIBE, urn=table, tags=["retention:P2Y", "misc"])
        assert bad["errors"][0]["extensions"]["rules"] == [f"{name}/tags"]
        good = await post(http, token, DESCRIBE, urn=table, tags=["retention:P2Y"])
        assert "errors" not in good
    await w["served"].app.state.datawave.audit.drain()
    denied = await read(neo4j, settings.neo4j.database, DENIED, actor=f"{name}-eve")
    assert {(d["action"], d["resource"]) for d in denied} == {
        ("decideLabel", w["email"]),
        ("describeAsset", table),
    }

    broken = settings.model_copy(update={"opa_url": "http://127.0.0.1:9"})
    async with serve(broken) as down, httpx.AsyncClient(base_url=down.url, timeout=30) as http:
        closed = await post(http, w["token"], DESCRIBE, urn=table, tags=["retention:P1Y"])
        assert closed["errors"][0]["extensions"]["code"] == "POLICY_ENGINE_UNAVAILABLE"


REGISTER = """
mutation($input: DataSourceInput!) { registerDataSource(input: $input) {
  dataSource { id } errors { __typename message } } }
"""
SOURCE = """
MATCH (s:DataSource {name: $name}) RETURN s.host AS host, s.port AS port, s.tls AS tls
"""


async def test_source_registration_needs_tls_by_policy_and_fails_closed(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    """source_tls_required with its defaults: a source outside loopback without TLS is refused
    by name and audited; with TLS, or on loopback, the policy lets it through."""
    w = world
    name = w["name"]
    await w["ada"](CREATE, input={"name": name})
    rule = {"id": "tls", "template": "source_tls_required", "scope": "SOURCE",
            "scopeValue": name, "severity": "HIGH"}  # fmt: skip
    assert (await w["ada"](ADD_RULE, policy=w["policy"], rule=rule))["addRule"]["errors"] == []
    assert (await release(w, 1))["errors"] == []
    source = {"name": name, "kind": "postgresql", "host": "db.example.com", "port": 5432}
    db = settings.neo4j.database
    before = await read(neo4j, db, SOURCE, name=name)  # as the test estate wrote it

    async with httpx.AsyncClient(base_url=w["url"], timeout=30) as http:
        refused = await post(http, w["token"], REGISTER, input=source)
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "POLICY_VIOLATION"
        assert error["extensions"]["rules"] == [f"{name}/tls"]
        assert "tls disable" in error["message"]
        assert await read(neo4j, db, SOURCE, name=name) == before
        # With TLS the policy lets it through (to the operator's host allow-list, which
        # answers in the payload: not a policy violation).
        encrypted = await post(http, w["token"], REGISTER, input={**source, "tls": "VERIFY"})
        assert "errors" not in encrypted
        loopback = {**source, "host": "127.0.0.1"}
        local = await post(http, w["token"], REGISTER, input=loopback)
        assert "errors" not in local and local["data"]["registerDataSource"]["errors"] == []
    assert await read(neo4j, db, SOURCE, name=name) == [
        {"host": "127.0.0.1", "port": 5432, "tls": "disable"}
    ]
    await w["served"].app.state.datawave.audit.drain()
    denied = await read(neo4j, db, DENIED, actor=f"{name}-eve")
    assert [(d["action"], d["resource"], d["detail"]) for d in denied] == [
        ("registerDataSource", f"urn:dw:source:{name}", f"policy: {name}/tls")
    ]

    broken = settings.model_copy(update={"opa_url": "http://127.0.0.1:9"})
    async with serve(broken) as down, httpx.AsyncClient(base_url=down.url, timeout=30) as http:
        closed = await post(http, w["token"], REGISTER, input={**loopback, "port": 5433})
        assert closed["errors"][0]["extensions"]["code"] == "POLICY_ENGINE_UNAVAILABLE"
    assert await read(neo4j, db, SOURCE, name=name) == [
        {"host": "127.0.0.1", "port": 5432, "tls": "disable"}
    ]
