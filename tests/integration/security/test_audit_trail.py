"""The audit trail through the API: what auditors read back, what reaches Kafka, and what
happens when the trail cannot be written (a real unreachable Neo4j, no mocks): a mutation fails
before changing anything and sensitive values are withheld, while other reads go on."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver

from core.settings import Neo4jSettings, Settings
from core.topics import AUDIT
from graph.driver import open_driver, read, write
from live.changes import CATALOG_CHANNEL, compliance_channel
from security.audit import AuditSink
from security.masking import partial
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, serve, ws_client
from tests.integration.graphql.test_subscriptions import until
from tests.integration.security.conftest import Api, nudging

EVENTS = """
query ($filter: AuditEventFilter, $first: Int! = 50) {
  auditEvents(filter: $filter, first: $first) {
    edges { node { at actor action resource outcome requestId clientAddress detail } }
  }
}
"""
DESCRIBE = """
mutation ($urn: ID!, $text: String!) {
  describeAsset(input: {urn: $urn, description: $text}) { errors { message } }
}
"""
MIN = "query ($urn: ID!) { asset(urn: $urn) { ... on Column { min } } }"
WATCH_MIN = """
subscription ($urns: [ID!]) { catalogChanges(filter: {urns: $urns}) {
  asset { ... on Table { columns { min } } } } }
"""
SCORES = "subscription ($domain: String!) { complianceUpdates(domain: $domain) { score } }"
SENSITIVE = """
MATCH (e:AuditEvent {action: 'read:sensitive'}) WHERE e.actor STARTS WITH $name
RETURN e.resource AS resource
"""
EMAIL = "alice@example.com"


@pytest.fixture
async def orders(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> Estate:
    """A table whose ``email`` column is labeled confidential and profiled."""
    estate.table("orders", ("id", "email"))
    email = estate.column_urn("orders", "email")
    estate.label(email, "Email")
    await estate.write(neo4j, settings.neo4j.database)
    query = "MATCH (c:Column {urn: $urn}) SET c.min = $value"
    await write(neo4j, settings.neo4j.database, query, urn=email, value=EMAIL)
    return estate


async def trail(api: Api, token: str, **filter: Any) -> list[dict[str, Any]]:
    await api.settle()
    found = (await api.graphql(token, EVENTS, filter=filter))["data"]["auditEvents"]
    return [e["node"] for e in found["edges"]]


async def test_an_auditor_reads_the_trail_back(api: Api, orders: Estate) -> None:
    urn = orders.table_urn("orders")
    await api.graphql(api.token("steward"), DESCRIBE, urn=urn, text="audited")
    auditor, actor = api.token("auditor"), f"{api.name}-steward"
    done, attempt = await trail(api, auditor, actor=actor)  # newest first
    assert (attempt["action"], attempt["outcome"], attempt["resource"]) == (
        "describeAsset",
        "ALLOWED",
        urn,
    )
    assert (done["action"], done["outcome"]) == ("describeAsset", "SUCCEEDED")
    assert done["requestId"] == attempt["requestId"] != ""
    assert done["clientAddress"] == "127.0.0.1"
    assert await trail(api, auditor, actor=actor, outcome="ALLOWED") == [attempt]
    assert await trail(api, auditor, actor=actor, since=done["at"]) == [done]
    assert await trail(api, auditor, actor=actor, before=done["at"]) == [attempt]
    assert await trail(api, auditor, actor=actor, action="nothing-of-the-kind") == []
    reads = await api.events(actor=f"{api.name}-auditor")
    assert {(e["action"], e["outcome"]) for e in reads} == {("read:audit", "allowed")}
    body = await api.graphql(auditor, EVENTS, first=101)  # the one page-size rule (issue 12)
    assert body["errors"][0]["message"] == "first must be between 1 and 100, got 101"
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_events_are_published_on_kafka(api: Api, secured: Served, settings: Settings) -> None:
    partitions = await secured.app.state.datawave.producer.partitions_for(AUDIT)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(AUDIT, p) for p in partitions])
        await consumer.seek_to_end()
        response, _ = await api.post({"query": "{ nope }"}, api.token("viewer"))
        request = response.headers["x-request-id"]
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not any(e["requestId"] == request for e in seen):
                batch = await consumer.getmany(timeout_ms=500)
                seen += [json.loads(r.value) for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    [event] = [e for e in seen if e["requestId"] == request]
    assert (event["action"], event["outcome"]) == ("graphql", "denied")
    assert "Cannot query field 'nope'" in event["detail"]


@pytest.fixture
async def unrecorded(suite_settings: Settings) -> AsyncIterator[Served]:
    """The API with its audit trail on a Neo4j that is not there (a closed port)."""
    down = Neo4jSettings(uri="bolt://127.0.0.1:1")
    async with serve(suite_settings) as served, open_driver(down, connection_timeout=1) as driver:
        state = served.app.state.datawave
        sink = AuditSink(driver, suite_settings.neo4j.database, state.producer, timeout_s=1)
        served.app.state.datawave = dataclasses.replace(state, audit=sink)
        yield served
        await sink.drain()


async def test_without_an_audit_trail_nothing_changes_and_nothing_sensitive_leaves(
    api: Api, orders: Estate, unrecorded: Served, neo4j: AsyncDriver, settings: Settings
) -> None:
    urn, email = orders.table_urn("orders"), orders.column_urn("orders", "email")
    async with api.on(unrecorded):
        steward = api.token("steward", permissions=["pii:read"])
        changed = await api.graphql(steward, DESCRIBE, urn=urn, text="unrecorded")
        revealed = await api.graphql(steward, MIN, urn=email)
        masked = await api.graphql(api.token("viewer"), MIN, urn=email)
        refused, _ = await api.post({"query": "{ __typename }"}, "not-a-token")
    assert changed["data"] is None
    assert changed["errors"][0]["extensions"] == {"code": "AUDIT_UNAVAILABLE"}
    assert "nothing was changed" in changed["errors"][0]["message"]
    query = "MATCH (t:Asset {urn: $urn}) RETURN t.curatedDescription AS d"
    assert await read(neo4j, settings.neo4j.database, query, urn=urn) == [{"d": None}]
    assert revealed["data"] is None
    assert revealed["errors"][0]["extensions"] == {"code": "AUDIT_UNAVAILABLE"}
    assert EMAIL not in json.dumps(revealed)
    assert masked == {"data": {"asset": {"min": partial(EMAIL)}}}, "nothing to record: served"
    assert refused.status_code == 401, "a lost audit event does not turn a refusal into a 500"


async def watched(api: Api, token: str, table: str, settings: Settings) -> tuple[Any, list[str]]:
    """The first change of ``table`` a subscriber of it receives (its data, or its errors),
    and the sensitive reads on the trail at that moment, the subscription still open."""
    async with ws_client(api.url, token) as session:
        events = session.subscribe(GraphQLRequest(WATCH_MIN, variable_values={"urns": [table]}))
        try:
            async with nudging(settings, table), asyncio.timeout(10):
                event: Any = await anext(events)
        except TransportQueryError as refused:
            event = refused.errors
        trail = await read(api.neo4j, api.database, SENSITIVE, name=f"{api.name}-")
        return event, [r["resource"] for r in trail]


async def test_a_subscription_event_leaves_once_its_sensitive_reads_are_recorded(
    api: Api, orders: Estate, unrecorded: Served, settings: Settings
) -> None:
    """As a query's response: they were recorded only when the subscription ended, and sent
    with the trail down."""
    table, email = orders.table_urn("orders"), orders.column_urn("orders", "email")
    steward = api.token("steward", permissions=["pii:read"])
    event, trail = await watched(api, steward, table, settings)
    assert {"min": EMAIL} in event["catalogChanges"]["asset"]["columns"]
    assert trail == [email]
    async with api.on(unrecorded):
        withheld, _ = await watched(api, steward, table, settings)
    assert [e["extensions"] for e in withheld] == [{"code": "AUDIT_UNAVAILABLE"}]
    assert EMAIL not in json.dumps(withheld)


async def test_each_subscription_on_a_socket_is_audited_as_itself(
    api: Api, orders: Estate, settings: Settings
) -> None:
    """The sensitive reads of one subscription's events are its own operation's (``<socket
    request id>.1``): they were noted on whichever subscription the socket opened last."""
    table, email = orders.table_urn("orders"), orders.column_urn("orders", "email")
    hub, request = api.served.hub, api.request_id()
    before = hub.subscriber_count(CATALOG_CHANNEL)
    async with api.socket(api.token("steward", permissions=["pii:read"]), request) as ws:
        await ws.subscribe("watch", WATCH_MIN, urns=[table])
        await ws.subscribe("scores", SCORES, domain=api.name)
        await until(lambda: hub.subscriber_count(compliance_channel(api.name)) == 1)
        await until(lambda: hub.subscriber_count(CATALOG_CHANNEL) == before + 1)
        async with nudging(settings, table), asyncio.timeout(10):
            event = (await ws.results(1, "watch"))["watch"][0]
    assert {"min": EMAIL} in event["data"]["catalogChanges"]["asset"]["columns"]
    sensitive = [
        (e["requestId"], e["resource"])
        for e in await api.events(actor=f"{api.name}-steward")
        if e["action"] == "read:sensitive"
    ]
    assert sensitive and set(sensitive) == {(f"{request}.1", email)}
