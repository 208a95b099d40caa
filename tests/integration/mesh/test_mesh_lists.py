"""The mesh's lists that can grow page like every such list: ``Domain.products`` was a plain
list cut silently at 500, so a domain's 501st product was nowhere on its page; a product's
versions (each with its contract), a version's consumers and usage, a domain's teams and
assignments and a remediation's notes were plain lists too, in every answer that named them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.urns import database_urn, source_urn
from graph import driver
from graph import products as product_graph
from mesh import usage
from resolvers.pagination import keyset_cursor
from security.auth import mint_token
from tests.integration.graphql.conftest import reads_of
from tests.integration.mesh.flow import (
    ADVANCE,
    DECIDE,
    DOMAIN,
    IMPORT,
    PRODUCT,
    REQUEST,
    TEAM,
    VERSIONS,
    Caller,
    published,
)
from tests.integration.pages import walk
from tests.unit.mesh.odcs import contract

PRODUCTS = """
query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Domain {
  products(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } } } }
"""


async def refused(caller: Caller, query: str, **variables: Any) -> str:
    """The code of the error a crafted cursor gets."""
    return (await caller.raw(query, **variables))["errors"][0]["extensions"]["code"]


async def test_a_domains_products_page_two_by_two(mesh: dict[str, Any]) -> None:
    ada, m = mesh["admin"], mesh
    domain = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    other = (await ada(DOMAIN, input={"name": m["mkt"]}))["createDomain"]["domain"]["id"]
    made = []
    for name, where in (("orders", domain), ("refunds", domain), ("carts", domain), ("ads", other)):
        spec = {"domain": where, "name": name}
        made.append((await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"])

    async def page(after: str | None) -> dict[str, Any]:
        return (await ada(PRODUCTS, id=domain, first=2, after=after))["node"]["products"]

    seen, pages = await walk(page)
    assert [p["id"] for p in seen] == sorted(made[:3]) and pages == 2, "not the other domain's"
    assert await refused(ada, PRODUCTS, id=domain, first=2, after="x") == "BAD_USER_INPUT"


async def test_a_products_versions_page_in_version_order(mesh: dict[str, Any]) -> None:
    """1.10.0 comes after 1.9.0 (as text it sorts before 1.2.0)."""
    ada = mesh["admin"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    spec = {"domain": domain, "name": "orders"}
    product = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
    semvers = ["1.0.0", "1.2.0", "1.9.0", "1.10.0", "2.0.0"]
    for semver in semvers:
        odcs = contract({"id": {"logicalType": "string"}}, version=semver)
        made = await ada(IMPORT, product=product, version=semver, odcs=odcs)
        assert made["importContract"]["errors"] == []

    async def page(after: str | None) -> dict[str, Any]:
        return (await ada(VERSIONS, id=product, first=2, after=after))["node"]["versions"]

    seen, pages = await walk(page)
    assert [v["version"] for v in seen] == semvers and pages == 3
    crafted = keyset_cursor(["1.x"])
    assert await refused(ada, VERSIONS, id=product, after=crafted) == "BAD_USER_INPUT"


TEAMS = """
query($id: ID!, $after: String) { node(id: $id) { ... on Domain {
  teams(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } }
  assigned(first: 3) { totalCount pageInfo { hasNextPage } edges { node } } } } }
"""
ASSIGN = """
mutation($domain: ID!, $assets: [ID!]!) { assignToDomain(domain: $domain, assets: $assets) {
  errors { message } } }
"""


async def test_a_domains_teams_and_assignments_page(mesh: dict[str, Any]) -> None:
    """``assigned`` was cut silently at 500."""
    ada, name = mesh["admin"], mesh["name"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    teams = [f"{name}-{t}" for t in ("bi", "crm", "ops")]
    for team in reversed(teams):
        await ada(TEAM, input={"domain": domain, "name": team})
    assets = [source_urn(name), database_urn(name, "db"), mesh["schema"], mesh["table"]]
    assert (await ada(ASSIGN, domain=domain, assets=assets))["assignToDomain"]["errors"] == []

    async def page(after: str | None) -> dict[str, Any]:
        return (await ada(TEAMS, id=domain, after=after))["node"]["teams"]

    seen, pages = await walk(page)
    assert [t["name"] for t in seen] == teams and pages == 2
    assigned = (await ada(TEAMS, id=domain))["node"]["assigned"]
    assert [e["node"] for e in assigned["edges"]] == sorted(assets)[:3]
    assert (assigned["totalCount"], assigned["pageInfo"]["hasNextPage"]) == (4, True)
    assert await refused(ada, TEAMS, id=domain, after="not a cursor") == "BAD_USER_INPUT"


ASSIGNED = """query($id: ID!) { node(id: $id) { ... on Domain {
  assigned(first: 10) { totalCount edges { node } } } } }"""


async def test_a_domains_assignments_are_seen_within_the_callers_scope(
    mesh: dict[str, Any],
) -> None:
    """A steward of another domain, or of other sources, read here the names of tables the
    catalogue hides from them."""
    ada, name = mesh["admin"], mesh["name"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    assets = [source_urn(name), mesh["table"]]
    assert (await ada(ASSIGN, domain=domain, assets=assets))["assignToDomain"]["errors"] == []

    async def seen(caller: Caller) -> tuple[int, list[str]]:
        page = (await caller(ASSIGNED, id=domain))["node"]["assigned"]
        return page["totalCount"], [e["node"] for e in page["edges"]]

    assert await seen(mesh["owner"]) == (2, sorted(assets)), "the domain's own owner sees all"
    assert await seen(mesh["consumer"]) == (0, []), "a steward of another domain sees none"
    auth = mesh["settings"].auth
    elsewhere = Caller(ada.http, mint_token(auth, f"{name}-eve", ["steward"], sources=["other"]))
    assert await seen(elsewhere) == (0, []), "nor one of other sources"


USE = """
query($id: ID!, $after: String, $read: String) { node(id: $id) { ... on ProductVersion {
  consumers(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } }
  usage(first: 2, after: $read) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { team reads } } } } } }
"""


async def test_a_versions_consumers_and_usage_page(mesh: dict[str, Any]) -> None:
    m = mesh
    ada, pat, carl, name = m["admin"], m["second"], m["consumer"], m["name"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    version, teams = urns["version"], [urns["analysts"]]
    for team in ("bi", "crm"):
        made = await ada(TEAM, input={"domain": urns["mkt"], "name": f"{name}-{team}",
                                      "members": [f"{name}-carl"]})  # fmt: skip
        teams.append(made["saveTeam"]["team"]["id"])
    for team in teams:
        ask = {"version": version, "team": team, "purpose": "churn model for retention",
               "days": 30}  # fmt: skip
        request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
        assert (await pat(DECIDE, request=request["id"], approve=True))["decideAccess"]["request"]

    async def consumers(after: str | None) -> dict[str, Any]:
        return (await pat(USE, id=version, after=after))["node"]["consumers"]

    seen, pages = await walk(consumers)
    assert [c["name"] for c in seen] == [f"{name}-{t}" for t in ("analysts", "bi", "crm")]
    assert pages == 2
    assert await refused(pat, USE, id=version, after=keyset_cursor(["x"])) == "BAD_USER_INPUT"

    # Reads counted for three teams: most first, then by team.
    redis = m["served"].app.state.datawave.redis
    try:
        for reads, team in ((1, teams[0]), (3, teams[1]), (3, teams[2])):
            for _ in range(reads):
                await usage.count(redis, {(version, team)})

        async def used(after: str | None) -> dict[str, Any]:
            return (await pat(USE, id=version, read=after))["node"]["usage"]

        ranked, pages = await walk(used)
        expected = [(3, teams[1]), (3, teams[2]), (1, teams[0])]
        assert [(u["reads"], u["team"]) for u in ranked] == expected and pages == 2
        crafted = keyset_cursor(["many", teams[0]])
        assert await refused(pat, USE, id=version, read=crafted) == "BAD_USER_INPUT"
    finally:
        await redis.delete(f"mesh:usage:{version}")


GATE = """
mutation($version: ID!) { evaluateQualityGate(version: $version) { version { quarantined } } }
"""
NOTE = """
mutation($remediation: ID!, $note: String!) { noteRemediation(remediation: $remediation,
  note: $note) { errors { message } } }
"""
NOTES = """
query($id: ID!, $after: String) { node(id: $id) { ... on ProductVersion {
  remediations { edges { node { id notes(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { note } } } } } } } } }
"""


async def test_a_remediations_notes_page_oldest_first(mesh: dict[str, Any]) -> None:
    ada = mesh["admin"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    spec = {"domain": domain, "name": "orders",
            "outputPorts": [{"name": "orders", "asset": mesh["table"]}]}  # fmt: skip
    product = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
    rows = [{"metric": "rowCount", "mustBeGreaterThan": 100}]  # the table has 10
    odcs = contract({"id": {"logicalType": "string"}}, quality=rows)
    version = (await ada(IMPORT, product=product, version="1.0.0", odcs=odcs))["importContract"]
    version = version["version"]["id"]
    assert (await ada(GATE, version=version))["evaluateQualityGate"]["version"]["quarantined"]

    async def notes(after: str | None) -> dict[str, Any]:
        found = (await ada(NOTES, id=version, after=after))["node"]["remediations"]["edges"]
        return found[0]["node"]["notes"]

    remediation = (await ada(NOTES, id=version))["node"]["remediations"]["edges"][0]["node"]["id"]
    written = [f"finding {n}" for n in range(3)]
    for note in written:
        assert (await ada(NOTE, remediation=remediation, note=note))["noteRemediation"] == {
            "errors": []
        }
    seen, pages = await walk(notes)
    assert [n["note"] for n in seen] == written and pages == 2
    assert await refused(ada, NOTES, id=version, after=keyset_cursor(["²"])) == "BAD_USER_INPUT"


PRODUCTS_PAGE = """
query($domain: ID!, $after: String) { dataProducts(domain: $domain, first: 2, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id name owner { name } outputPorts { name asset }
                        versions { edges { node { version status } } } } } } }
"""


CONTRACTS_PAGE = """
query($domain: ID!) { dataProducts(domain: $domain, first: 3) {
  edges { node { versions { edges { node { version contract } } } } } } }
"""
ABOUT = "a column every consumer reads about at length, "


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What Neo4j answers to the reads of this process (the session's API runs in it), each
    answer as text: the real answers, passed on unchanged."""
    seen: list[str] = []
    collect, values = driver._collect, driver._values

    async def collected(*args: Any) -> list[dict[str, Any]]:
        rows = await collect(*args)
        seen.append(repr(rows))
        return rows

    async def valued(*args: Any) -> list[dict[str, Any]]:
        rows = await values(*args)
        seen.append(repr(rows))
        return rows

    monkeypatch.setattr(driver, "_collect", collected)
    monkeypatch.setattr(driver, "_values", valued)
    yield seen


def large_contract(semver: str) -> str:
    """A contract of 50 kB (a request's variables hold 64 kB): 150 columns, each with a long
    description."""
    about = ABOUT * 6
    columns = {f"c{n}": {"logicalType": "string", "description": about} for n in range(150)}
    return contract(columns, version=semver)


async def test_a_products_page_reads_no_contract_text(
    mesh: dict[str, Any], answers: list[str]
) -> None:
    """Pages of products (dataProducts, searchProducts, a product's node) show no contract,
    yet read every version's ODCS YAML (up to 512 kB) and findable text with it, for nothing:
    with the product's details, and again with its ``versions`` (each version with every
    property, one query per product). The API reads versions without them, and a version's
    YAML only when its ``contract`` is asked (batched for the page); the pages answer as
    before."""
    m, ada = mesh, mesh["admin"]
    db = m["settings"].neo4j.database
    domain = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    team = await ada(TEAM, input={"domain": domain, "name": f"{m['name']}-orders"})
    made, imported = [], []  # the products, and their versions' contracts as imported
    for name in ("carts", "orders", "refunds"):
        ports = [{"name": name, "asset": m["table"]}] if name == "orders" else []
        spec = {"domain": domain, "name": name, "ownerTeam": team["saveTeam"]["team"]["id"],
                "description": f"Every {name} row", "outputPorts": ports}  # fmt: skip
        product = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
        for semver in ("1.0.0", "1.1.0"):
            taken = await ada(IMPORT, product=product, version=semver, odcs=large_contract(semver))
            assert taken["importContract"]["errors"] == []
            imported.append(
                {"version": semver, "contract": taken["importContract"]["version"]["contract"]}
            )
        made.append(product)
    first_version = f"{made[1].replace('product', 'contract')}/1.0.0"
    assert (await ada(ADVANCE, version=first_version, step="PUBLISH"))["advanceVersion"][
        "errors"
    ] == []

    async def page(after: str | None) -> dict[str, Any]:
        return (await ada(PRODUCTS_PAGE, domain=domain, after=after))["dataProducts"]

    answers.clear()
    seen, pages = await walk(page)
    assert answers and not any(ABOUT in a for a in answers)  # no YAML read for the pages
    owner = {"name": f"{m['name']}-orders"}
    drafts = [{"version": "1.0.0", "status": "DRAFT"}, {"version": "1.1.0", "status": "DRAFT"}]
    assert pages == 2
    assert seen == [
        {"id": made[0], "name": "carts", "owner": owner, "outputPorts": [],
         "versions": {"edges": [{"node": v} for v in drafts]}},
        {"id": made[1], "name": "orders", "owner": owner,
         "outputPorts": [{"name": "orders", "asset": m["table"]}],
         "versions": {"edges": [{"node": {"version": "1.0.0", "status": "PUBLISHED"}},
                                {"node": drafts[1]}]}},
        {"id": made[2], "name": "refunds", "owner": owner, "outputPorts": [],
         "versions": {"edges": [{"node": v} for v in drafts]}},
    ]  # fmt: skip

    # What the API's pages read of each product's versions, against the mesh's full read.
    light = await product_graph.details(m["neo4j"], db, made, contracts=False)
    full = await product_graph.details(m["neo4j"], db, made)
    for urn in made:
        assert all(set(v) == {"urn", "version", "status"} for v in light[urn]["versions"])
        assert all(len(v["odcs"]) > 50_000 for v in full[urn]["versions"])
        assert {**light[urn], "versions": None} == {**full[urn], "versions": None}

    # Asked for, each version's contract is the YAML imported, as before.
    found = (await ada(CONTRACTS_PAGE, domain=domain))["dataProducts"]["edges"]
    assert [e["node"] for p in found for e in p["node"]["versions"]["edges"]] == imported


PAGED_VERSIONS = """
query($domain: ID!, $first: Int!, $after: String) { dataProducts(domain: $domain, first: $first) {
  edges { node { id
    versions { totalCount pageInfo { hasNextPage endCursor }
               edges { cursor node { version status contract } } }
    rest: versions(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor }
                                              edges { node { version } } } } } } }
"""


async def test_a_page_of_products_reads_their_versions_at_once(mesh: dict[str, Any]) -> None:
    """``versions`` read each product's page of versions with a query of its own (and its
    totalCount with another): a page of 50 products selecting them made 100 reads, and their
    contracts came in as many batches as those reads finished apart. A page of products reads
    the versions of all of them at once, whatever its size, and pages inside ``versions`` as
    before (semantic-version order, its cursors)."""
    ada = mesh["admin"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    semvers = ["1.0.0", "1.9.0", "1.10.0"]  # 1.10.0 after 1.9.0 (as text, before)
    made, stored = [], {}  # the products, and each version's contract as imported
    for n in range(5):
        spec = {"domain": domain, "name": f"p{n}"}
        product = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
        for semver in semvers[: 1 + n % 3]:
            odcs = contract({"id": {"logicalType": "string"}}, version=semver)
            taken = await ada(IMPORT, product=product, version=semver, odcs=odcs)
            taken = taken["importContract"]
            assert taken["errors"] == []
            stored[semver] = taken["version"]["contract"]
        made.append(product)
    after = keyset_cursor(["1.0.0"])

    async def page(first: int) -> list[dict[str, Any]]:
        found = await ada(PAGED_VERSIONS, domain=domain, first=first, after=after)
        return [e["node"] for e in found["dataProducts"]["edges"]]

    two, _ = await reads_of(lambda: page(2))
    five, found = await reads_of(lambda: page(5))
    assert five == two, f"{two} reads for 2 products, {five} for 5"

    def expected(held: list[str]) -> dict[str, Any]:
        ordered, rest = held, held[1:2]
        return {
            "totalCount": len(held),
            "pageInfo": {"hasNextPage": False, "endCursor": keyset_cursor([ordered[-1]])},
            "edges": [{"cursor": keyset_cursor([s]),
                       "node": {"version": s, "status": "DRAFT", "contract": stored[s]}}
                      for s in ordered],
            "rest": {"totalCount": len(held),
                     "pageInfo": {"hasNextPage": len(held) > 2,
                                  "endCursor": keyset_cursor(rest) if rest else None},
                     "edges": [{"node": {"version": s}} for s in rest]},
        }  # fmt: skip

    want = [expected(semvers[: 1 + n % 3]) for n in range(5)]
    got = [{**p["versions"], "rest": p["rest"]} for p in found]
    assert [p["id"] for p in found] == made and got == want
