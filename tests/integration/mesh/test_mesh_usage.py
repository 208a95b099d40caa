"""Contract terms and usage, through GraphQL against the real Neo4j, Redis, OpenSearch and
Kafka: a member of the consumer team agrees to the version's contract terms (recorded with the
digest of the contract agreed to, once, and announced); each request of the consumer that reads
the product's table through the grant counts one read for their team, which the provider sees
per day and the consumer does not."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from tests.integration.mesh.flow import (
    DECIDE,
    REQUEST,
    SEARCH_ASSETS,
    mesh_steps,
    nodes,
    published,
)
from tests.unit.mesh.odcs import contract

ACCEPT = """
mutation($request: ID!) { acceptContractTerms(request: $request) {
  request { termsAcceptedBy termsAcceptedAt termsDigest }
  errors { __typename message } } }
"""
USAGE = """
query($id: ID!) { node(id: $id) { ... on ProductVersion { contract
  usage { edges { node { team reads days { day reads } } } } } } }
"""
TABLE = "query($id: ID!) { node(id: $id) { id ... on Table { columns { name } } } }"
PAGE = "query($s: String) { assets(filter: {source: $s, kind: TABLE}) { totalCount } }"


async def test_terms_are_agreed_and_reads_counted_per_consumer(mesh: dict[str, Any]) -> None:
    m = mesh
    carl, olga, pat = m["consumer"], m["owner"], m["second"]
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    ask = {"version": urns["version"], "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]

    outsider = (await olga(ACCEPT, request=request["id"]))["acceptContractTerms"]
    assert outsider["errors"][0]["message"] == f"you are not a member of team {m['name']}-analysts"
    agreed = (await carl(ACCEPT, request=request["id"]))["acceptContractTerms"]["request"]
    text = (await pat(USAGE, id=urns["version"]))["node"]["contract"]
    assert agreed["termsAcceptedBy"] == f"{m['name']}-carl"
    assert agreed["termsDigest"] == hashlib.sha256(text.encode()).hexdigest()
    again = (await carl(ACCEPT, request=request["id"]))["acceptContractTerms"]["errors"]
    assert again[0]["__typename"] == "WrongStateError"
    assert (await pat(DECIDE, request=request["id"], approve=True))["decideAccess"]["request"]

    # Two requests reading the table (and its columns) and one search hit: three reads; a
    # filtered page lists it but reads nothing of it.
    for _ in range(2):
        seen = (await carl(TABLE, id=m["table"]))["node"]
        assert len(seen["columns"]) == 3
    hits = (await carl(SEARCH_ASSETS, text="orders", source=m["name"]))["search"]["edges"]
    assert len(hits) == 1
    assert (await carl(PAGE, s=m["name"]))["assets"]["totalCount"] == 1
    today = datetime.now(UTC).date().isoformat()
    usage = nodes((await pat(USAGE, id=urns["version"]))["node"]["usage"])
    assert usage == [{"team": urns["analysts"], "reads": 3, "days": [{"day": today, "reads": 3}]}]
    assert nodes((await carl(USAGE, id=urns["version"]))["node"]["usage"]) == []  # provider's view

    steps = await mesh_steps(m["settings"], request["correlationId"], 3)
    assert [s["data"]["action"] for s in steps] == [
        "access.requested", "access.terms_accepted", "access.approved",
    ]  # fmt: skip
    await m["served"].app.state.datawave.redis.delete(f"mesh:usage:{urns['version']}")
