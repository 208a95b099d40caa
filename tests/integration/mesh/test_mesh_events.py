"""``productEvents`` follows the rules of every other subscription (the shared event loop,
resolvers/channels.py): a follower that falls a queue behind is closed with the
slow-consumer code, not told of an internal error; a message of another shape on a product's
channel is skipped, not the end of every follower's stream; a token that expired ends it; and
a follower sees only steps of what it may see: those of an access request only its parties
(as ``accessRequests`` shows it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError

from core.events import MESH_STEP, CorrelatedEvent, MeshStep
from live.broadcast import publish
from mesh.events import product_channel
from security.auth import mint_token
from tests.integration.graphql.conftest import serve, ws_client
from tests.integration.graphql.test_subscriptions import cut_off_slowly
from tests.integration.mesh.flow import DOMAIN, PRODUCT, REQUEST, following, published
from tests.unit.mesh.odcs import contract

EVENTS = "subscription($product: ID!) { productEvents(product: $product) { action detail } }"


def step(product: str, action: str, **detail: Any) -> dict[str, Any]:
    """A product's step as mesh/events.emit broadcasts it (not sent to Kafka)."""
    event = CorrelatedEvent(
        source="urn:dw:domain:test", type=MESH_STEP, subject=product, correlationid="test",
        data=MeshStep(action=action, actor="test", product=product, detail=detail),
    )  # fmt: skip
    return event.model_dump(mode="json")


@pytest.fixture
async def product(mesh: dict[str, Any]) -> str:
    ada = mesh["admin"]
    domain = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    made = await ada(PRODUCT, input={"domain": domain, "name": "orders"})
    return made["createDataProduct"]["product"]["id"]


async def results(m: dict[str, Any], token: str, product: str) -> AsyncIterator[dict[str, Any]]:
    async with ws_client(m["api"], token) as session:
        request = GraphQLRequest(EVENTS, variable_values={"product": product})
        async for result in session.subscribe(request):
            yield result["productEvents"]


async def test_a_slow_follower_is_cut_off_with_the_slow_consumer_code(
    mesh: dict[str, Any], product: str
) -> None:
    m = mesh
    slow = m["settings"].model_copy(update={"subscription_queue_size": 8})
    channel = product_channel(product)

    async def flood() -> int:
        big, sent = "x" * 16_384, 2000
        for n in range(0, sent, 100):
            steps = (step(product, "gate.warned", alert=big, n=i) for i in range(n, n + 100))
            await publish(m["served"].app.state.datawave.redis, channel, *steps)
        return sent

    async with serve(slow) as served:
        await cut_off_slowly(
            served, m["consumer"].token, EVENTS, {"product": product}, channel, flood
        )


async def test_a_message_of_another_shape_ends_no_followers_stream(
    mesh: dict[str, Any], product: str
) -> None:
    m = mesh
    redis = m["served"].app.state.datawave.redis
    streams = [results(m, m[who].token, product) for who in ("consumer", "owner")]
    firsts = [asyncio.create_task(anext(s)) for s in streams]  # gql subscribes at the first read
    try:
        await following(m, product, count=2)
        bad_data = step(product, "gate.warned") | {"data": {"actor": ["not", "a", "name"]}}
        await publish(redis, product_channel(product), {"not": "an event"}, bad_data)
        await publish(redis, product_channel(product), step(product, "gate.passed", run="r1"))
        for first in firsts:
            got = await asyncio.wait_for(first, 10)
            assert got == {"action": "gate.passed", "detail": {"run": "r1"}}
    finally:
        for s in streams:
            await s.aclose()


async def test_a_token_that_expired_ends_the_stream_at_the_next_step(
    mesh: dict[str, Any], product: str
) -> None:
    m = mesh
    auth = m["settings"].auth
    # Expired, but valid for 2 s more within the leeway for clock skew.
    ttl = 2 - auth.clock_skew_s
    token = mint_token(auth, f"{m['name']}-carl", ["steward"], domains=[m["mkt"]], ttl_s=ttl)
    stream = results(m, token, product)
    first = asyncio.create_task(anext(stream))
    try:
        await following(m, product)
        await asyncio.sleep(3)
        await publish(
            m["served"].app.state.datawave.redis, product_channel(product), step(product, "x")
        )
        with pytest.raises(TransportQueryError, match="token expired") as ended:
            await asyncio.wait_for(first, 10)
        assert ended.value.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await stream.aclose()


async def test_an_access_request_step_reaches_only_its_parties(mesh: dict[str, Any]) -> None:
    m = mesh
    urns = await published(m, contract({"id": {"logicalType": "string"}}))
    product = urns["product"]
    # Viewers of another domain and of every one discover the product, but are no party to
    # its requests (the second heard of them: no scope restriction was taken for all of it).
    auth, name = m["settings"].auth, m["name"]
    vic = mint_token(auth, f"{name}-vic", ["viewer"], domains=[m["mkt"]])
    una = mint_token(auth, f"{name}-una", ["viewer"])
    streams = [results(m, token, product) for token in (vic, una, m["consumer"].token)]
    firsts = [asyncio.create_task(anext(s)) for s in streams]
    try:
        await following(m, product, count=3)
        ask = {"version": urns["version"], "team": urns["analysts"],
               "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
        request = (await m["consumer"](REQUEST, input=ask))["requestAccess"]["request"]
        marker = step(product, "gate.passed", run="r1")
        await publish(m["served"].app.state.datawave.redis, product_channel(product), marker)
        seen = [await asyncio.wait_for(first, 10) for first in firsts]
        assert seen[:2] == [{"action": "gate.passed", "detail": {"run": "r1"}}] * 2
        assert seen[2]["action"] == "access.requested"  # to its requester
        assert seen[2]["detail"]["request"] == request["id"]
    finally:
        for s in streams:
            await s.aclose()


async def test_following_what_is_no_data_product_is_refused(mesh: dict[str, Any]) -> None:
    """A table's URN (any node the caller may see) was taken, and heard nothing, ever."""
    token = mint_token(mesh["settings"].auth, f"{mesh['name']}-ada", ["admin"])
    with pytest.raises(TransportQueryError) as refused:
        await anext(aiter(results(mesh, token, mesh["table"])))
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert mesh["table"] in refused.value.errors[0]["message"]
