"""Assigning a source to a domain, as a live catalogue sees it: what the source holds is in the
domain for every reader at once (its databases and schemas too, not only its tables), and a
subscriber hears of each asset whose domains changed once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.urns import database_urn, source_urn
from live.changes import CATALOG_CHANNEL
from resolvers.mesh import mutations
from tests.integration.graphql.test_subscriptions import Subscriber
from tests.integration.mesh.flow import DOMAIN

ASSET = "query($urn: ID!) { asset(urn: $urn) { id } }"
ASSIGN = """
mutation($domain: ID!, $assets: [ID!]!, $remove: Boolean!) {
  assignToDomain(domain: $domain, assets: $assets, remove: $remove) { tables errors { message } } }
"""
CHANGES = "subscription($filter: CatalogChangeFilter) { catalogChanges(filter: $filter) { urn } }"


async def sales(m: dict[str, Any]) -> str:
    return (await m["admin"](DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]


async def assign(m: dict[str, Any], domain: str, remove: bool = False) -> None:
    source = source_urn(m["name"])
    done = await m["admin"](ASSIGN, domain=domain, assets=[source], remove=remove)
    assert done["assignToDomain"] == {"tables": [m["table"]], "errors": []}


async def test_a_source_put_in_a_domain_shows_its_schemas_there_at_once(
    mesh: dict[str, Any],
) -> None:
    """The owner of sales, having looked at the schema before, still did not see it in sales
    (its cached copy kept the domains it had) until the cache's TTL, and after the source left
    sales still saw it."""
    m = mesh
    owner, schema = m["owner"], m["schema"]
    domain = await sales(m)
    assert await owner(ASSET, urn=schema) == {"asset": None}
    await assign(m, domain)
    assert await owner(ASSET, urn=schema) == {"asset": {"id": schema}}
    await assign(m, domain, remove=True)
    assert await owner(ASSET, urn=schema) == {"asset": None}


async def test_an_assignment_is_announced_once_for_each_asset(mesh: dict[str, Any]) -> None:
    """Each table came three times (its assignment's announcement named it twice, and the
    change relay once more); its database and schema never came."""
    m = mesh
    domain = await sales(m)
    name = m["name"]
    expected = {source_urn(name), database_urn(name, "db"), m["schema"], m["table"]}
    filter = {"source": name}
    admin = m["admin"].token
    async with Subscriber(m["served"], admin, CHANGES, CATALOG_CHANNEL, filter=filter) as sub:
        await assign(m, domain)
        heard = []
        while not expected <= set(heard):  # the table's comes through Kafka and the relay
            heard.append((await sub.next())["catalogChanges"]["urn"])
        await asyncio.sleep(1)  # what would come twice comes together
        while not sub.results.empty():
            heard.append(sub.results.get_nowait()["catalogChanges"]["urn"])
    assert sorted(heard) == sorted(expected)


async def test_an_assignments_answer_lists_the_first_tables_and_counts_all(
    mesh: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source of 50,000 tables answered its assignment with 50,000 URNs (megabytes in one
    answer): the answer lists the first ``MAX_ANSWERED`` (here none) and counts them all."""
    monkeypatch.setattr(mutations, "MAX_ANSWERED", 0)
    query = """mutation($domain: ID!, $assets: [ID!]!) {
      assignToDomain(domain: $domain, assets: $assets) { tableCount tables errors { message } } }"""
    done = await mesh["admin"](query, domain=await sales(mesh), assets=[source_urn(mesh["name"])])
    assert done["assignToDomain"] == {"tableCount": 1, "tables": [], "errors": []}
