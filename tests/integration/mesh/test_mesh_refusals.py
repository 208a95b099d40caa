"""Bad input and faults of the mesh workflows, through GraphQL: each is a typed error that
leaves nothing half-written; a stream port Kafka refuses (more replicas than the one broker)
leaves the product a draft with the reason and no topic."""

from __future__ import annotations

from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from neo4j import AsyncDriver

from core.settings import MeshSettings, Settings
from graph.driver import write
from security.auth import mint_token
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import serve
from tests.integration.mesh.flow import (
    DOMAIN,
    FORGET,
    FORGET_PRODUCTS,
    IMPORT,
    PRODUCT,
    Caller,
)
from tests.unit.mesh.odcs import contract

PRODUCTS = "query($domain: ID) { dataProducts(domain: $domain) { edges { node { id } } } }"
ERRORS = (
    "errors { __typename message ... on NotFoundError { urn } ... on InvalidInputError { field } }"
)
CREATE = PRODUCT.replace("errors { __typename message }", ERRORS)
IMPORT_CHECKED = IMPORT.replace(
    "errors { __typename message ... on InvalidContractError { path } }", ERRORS
)


async def test_refusals_are_typed_and_leave_nothing_behind(
    settings: Settings, neo4j: AsyncDriver, admin: AIOKafkaAdminClient, unique: str
) -> None:
    estate = Estate(unique)
    table = estate.table("orders")
    db = settings.neo4j.database
    await estate.write(neo4j, db)
    # One broker cannot hold three replicas: Kafka itself refuses the stream port's topic.
    own = settings.model_copy(
        update={
            "mesh": MeshSettings(stream_replication=3),
            "relay_changes": False,
            "watch_compliance": False,
            "watch_contracts": False,
        }
    )
    sales = f"{unique}-sales"
    try:
        async with serve(own) as served, httpx.AsyncClient(base_url=served.url, timeout=60) as http:
            ada = Caller(http, mint_token(settings.auth, f"{unique}-ada", ["admin"]))
            domain = (await ada(DOMAIN, input={"name": sales}))["createDomain"]["domain"]["id"]
            await refusals(ada, domain, table, unique)
            await served.app.state.datawave.audit.drain()
        topics = await admin.list_topics()
        assert not [t for t in topics if sales in t]
    finally:
        await write(neo4j, db, FORGET_PRODUCTS, name=unique)
        await write(neo4j, db, FORGET, name=unique, policy=f"urn:dw:policy:{unique}")
        await drop_sources(settings, neo4j, unique)


async def refusals(ada: Caller, domain: str, table: str, unique: str) -> None:
    async def create(**spec: Any) -> dict[str, Any]:
        base = {"domain": domain, "name": "orders"}
        return (await ada(CREATE, input={**base, **spec}))["createDataProduct"]

    # A NotFoundError names what was not found (it named the argument).
    nowhere_domain = f"urn:dw:domain:{unique}-nowhere"
    missing = await create(domain=nowhere_domain)
    assert missing["errors"][0]["__typename"] == "NotFoundError"
    assert missing["errors"][0]["urn"] == nowhere_domain
    no_team = await create(ownerTeam=f"urn:dw:team:{unique}-nobody")
    assert no_team["errors"][0]["__typename"] == "NotFoundError"
    assert no_team["errors"][0]["urn"] == f"urn:dw:team:{unique}-nobody"
    no_table = await create(outputPorts=[{"name": "orders", "asset": f"{table}-gone"}])
    assert no_table["errors"][0]["urn"] == f"{table}-gone"
    bad_name = await create(name="Orders!")
    assert bad_name["errors"][0] == {
        "__typename": "InvalidInputError",
        "message": "'Orders!': lower-case letters, digits and dashes, starting with a letter",
        "field": "name",
    }
    assert (await ada(PRODUCTS, domain=domain))["dataProducts"]["edges"] == []

    made = await create(outputPorts=[{"name": "orders", "asset": table}], streamPorts=["events"])
    product = made["product"]
    assert made["errors"] == [] and product["streamPorts"] == []
    assert "Kafka refused topic" in product["streamError"]
    again = await create()
    assert again["errors"][0]["__typename"] == "DuplicateError"

    loose = await ada(IMPORT_CHECKED, product=product["id"], version="1.0", odcs=contract({}))
    assert loose["importContract"]["errors"][0]["field"] == "version"
    nothing = f"urn:dw:product:{unique}-sales/nothing"
    nowhere = await ada(
        IMPORT_CHECKED, product=nothing, version="1.0.0",
        odcs=contract({"id": {"logicalType": "string"}}),
    )  # fmt: skip
    assert nowhere["importContract"]["errors"][0]["__typename"] == "NotFoundError"
    assert nowhere["importContract"]["errors"][0]["urn"] == nothing
    listed = await ada(PRODUCTS, domain=domain)
    assert listed["dataProducts"]["edges"] == [{"node": {"id": product["id"]}}]
