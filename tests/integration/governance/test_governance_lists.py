"""Governance lists that grow page like every such list: a policy's versions (one more each
time it is edited after a release) and a report's findings of a control (one per failing
asset) were plain lists, however long."""

from __future__ import annotations

from typing import Any

from neo4j import AsyncDriver

from core.settings import Settings
from resolvers.pagination import keyset_cursor
from tests.integration.estate import Estate
from tests.integration.governance.flow import ADD_RULE, RULE, draft, release
from tests.integration.pages import walk

VERSIONS = """
query($urn: ID!, $after: String) { policy(urn: $urn) { versions(first: 1, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { version state } } } } }
"""
REPORT = """
query($domain: String, $after: String) { complianceReport(framework: "gdpr", domain: $domain) {
  controls { control { code } findings(first: 1, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id asset } } } } } }
"""


async def test_a_policys_versions_and_a_controls_findings_page(
    world: dict[str, Any], neo4j: AsyncDriver, settings: Settings
) -> None:
    w = world
    ada = w["ada"]
    estate = Estate(w["name"])  # a second unowned PII column in the world's domain
    clients = estate.table("clients", ("id", "email"))
    estate.label(estate.column_urn("clients", "email"), "Email")
    estate.product("sales", clients)
    await estate.write(neo4j, settings.neo4j.database)
    await draft(w)
    await release(w, 1)
    edited = await ada(ADD_RULE, policy=w["policy"], rule={**RULE, "id": "owner-2"})
    assert edited["addRule"]["version"]["version"] == 2  # the next draft

    async def versions(after: str | None) -> dict[str, Any]:
        return (await ada(VERSIONS, urn=w["policy"], after=after))["policy"]["versions"]

    seen, pages = await walk(versions)
    assert [(v["version"], v["state"]) for v in seen] == [(1, "ACTIVE"), (2, "DRAFT")]
    assert pages == 2

    async def findings(after: str | None) -> dict[str, Any]:
        report = await ada(REPORT, domain=w["domain"], after=after)
        controls = report["complianceReport"]["controls"]
        return next(c for c in controls if c["control"]["code"] == "art-30")["findings"]

    failing, pages = await walk(findings)
    emails = {w["email"], estate.column_urn("clients", "email")}
    assert {f["asset"] for f in failing} == emails and pages == 2
    assert [f["id"] for f in failing] == sorted(f["id"] for f in failing)

    crafted = [
        (VERSIONS, {"urn": w["policy"], "after": keyset_cursor(["v1"])}),  # no version number
        (REPORT, {"domain": w["domain"], "after": "not a cursor"}),
    ]
    for query, variables in crafted:
        refused = await ada.raw(query, **variables)
        assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
