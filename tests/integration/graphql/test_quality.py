"""What the graph knows, in the API (issue 12, 3-4): anomalies as a query and a subscription,
scoped by RBAC; profile history of tables and columns; the classifier's model registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from gql import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from neo4j import AsyncDriver

from core.events import Event
from core.settings import Settings
from core.urns import column_urn
from graph import anomalies
from graph.driver import write
from ingest.producer import EventProducer
from live.changes import ANOMALY_CHANNEL
from live.relay import ChangeRelay
from ml.anomalies import Anomaly
from ml.consumer import anomaly_event, anomaly_row
from security.auth import mint_token
from tests.factories import Source, columns, eventually
from tests.integration.cleanup import drop_models
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute, Served, ws_client
from tests.integration.graphql.test_sources import client
from tests.integration.graphql.test_subscriptions import until

ANOMALIES = """
query ($filter: AnomalyFilter, $first: Int, $after: String) {
  anomalies(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { node { kind severity subject table source detail asset { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
HISTORY = """
query ($urn: ID!, $first: Int, $after: String) {
  profileHistory(urn: $urn, first: $first, after: $after) {
    totalCount edges { node { at rowCount nullRatio } } pageInfo { hasNextPage endCursor }
  }
}
"""
LIVE = """
subscription ($filter: AnomalyFilter) {
  anomalies(filter: $filter) { kind severity subject table source asset { id } }
}
"""


def scan_event(source: str, minutes: int) -> Event:
    """The discovery event of ``orders`` a profile was measured on."""
    return Source(source).at(minutes).table("orders", columns("id:int", "email:text?"))


def snapshot(table: str, event: Event, rows: int, email: float) -> dict[str, Any]:
    email_urn = column_urn(table, "email")
    return {
        "urn": table,
        "rowCount": rows,
        "nullColumns": [email_urn],
        "nullRatios": [email],
        "columns": [email_urn],
        "sensitive": [],
        "at": event.time,
        "eventId": event.id,
    }


@pytest.fixture
async def measured(neo4j: AsyncDriver, settings: Settings, estate: Estate) -> dict[str, str]:
    """Two scans of ``orders``: 1000 rows then 100, the email column's nulls 0.1 then 0.6;
    the second found a row-count drop (critical) and a null-ratio jump (warning)."""
    orders = estate.table("orders", ("id", "email"))
    await estate.write(neo4j, settings.neo4j.database)
    first, second = scan_event(estate.name, 0), scan_event(estate.name, 10)
    assert first.subject == orders
    email = column_urn(orders, "email")
    found = [
        Anomaly("row_count_drop", orders, orders, "row count fell from 1000 to 100", "critical"),
        Anomaly("null_ratio_jump", email, orders, "null ratio rose from 0.10 to 0.60", "warning"),
    ]
    db = settings.neo4j.database
    await write(neo4j, db, anomalies.RECORD, rows=[{"snapshot": snapshot(orders, first, 1000, 0.1),
                                                    "anomalies": []}])  # fmt: skip
    await write(
        neo4j, db, anomalies.RECORD, rows=[{"snapshot": snapshot(orders, second, 100, 0.6),
                                            "anomalies": [anomaly_row(a, second) for a in found]}],
    )  # fmt: skip
    yield {"orders": orders, "email": email}
    await write(
        neo4j, db,
        "MATCH (s:ProfileSnapshot {urn: $t}) OPTIONAL MATCH (s)-[:HAD]->(p) DETACH DELETE s, p",
        t=orders,
    )  # fmt: skip
    await write(neo4j, db, "MATCH (n:Anomaly {table: $t}) DETACH DELETE n", t=orders)


async def test_anomalies_are_a_query_scoped_like_their_table(
    execute: Execute, served: Served, settings: Settings, measured: dict[str, str], unique: str
) -> None:
    """Issue 12 (3): a critical anomaly stayed in Neo4j, with no way to read it."""
    mine = {"source": unique}
    result = (await execute(ANOMALIES, filter=mine))["anomalies"]
    assert result["totalCount"] == 2
    assert sorted((e["node"] for e in result["edges"]), key=lambda n: n["kind"]) == [
        {
            "kind": kind, "severity": severity, "subject": subject, "table": measured["orders"],
            "source": unique, "detail": detail, "asset": {"id": subject},
        }
        for kind, severity, subject, detail in (
            ("NULL_RATIO_JUMP", "WARNING", measured["email"], "null ratio rose from 0.10 to 0.60"),
            ("ROW_COUNT_DROP", "CRITICAL", measured["orders"], "row count fell from 1000 to 100"),
        )
    ]  # fmt: skip
    critical = await execute(ANOMALIES, filter=mine | {"severity": "CRITICAL"})
    assert [e["node"]["kind"] for e in critical["anomalies"]["edges"]] == ["ROW_COUNT_DROP"]
    first = (await execute(ANOMALIES, filter=mine, first=1))["anomalies"]
    assert first["pageInfo"]["hasNextPage"]
    rest = await execute(ANOMALIES, filter=mine, first=1, after=first["pageInfo"]["endCursor"])
    assert {e["node"]["kind"] for e in [*first["edges"], *rest["anomalies"]["edges"]]} == {
        "ROW_COUNT_DROP",
        "NULL_RATIO_JUMP",
    }
    elsewhere = mint_token(settings.auth, "other", ["viewer"], sources=[f"{unique}-other"])
    async with client(served, elsewhere) as run:
        assert (await run(ANOMALIES, filter=mine))["anomalies"]["totalCount"] == 0


async def test_profile_history_of_a_table_and_a_column(
    execute: Execute, measured: dict[str, str]
) -> None:
    table = (await execute(HISTORY, urn=measured["orders"]))["profileHistory"]
    assert table["totalCount"] == 2
    assert [(e["node"]["rowCount"], e["node"]["nullRatio"]) for e in table["edges"]] == [
        (100, None),
        (1000, None),
    ]
    column = (await execute(HISTORY, urn=measured["email"], first=1))["profileHistory"]
    assert [e["node"]["nullRatio"] for e in column["edges"]] == [0.6]
    older = await execute(HISTORY, urn=measured["email"], after=column["pageInfo"]["endCursor"])
    assert [e["node"]["nullRatio"] for e in older["profileHistory"]["edges"]] == [0.1]
    with pytest.raises(TransportQueryError) as missing:
        await execute(HISTORY, urn=measured["orders"] + "-missing")
    assert missing.value.errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.fixture
async def topic(admin: AIOKafkaAdminClient, unique: str) -> AsyncIterator[str]:
    name = f"{unique}.changes"
    await admin.create_topics([NewTopic(name, 2, 1)])
    yield name
    await admin.delete_topics([name])


async def test_anomalies_reach_subscribers_who_may_see_their_table(
    served: Served, token: str, settings: Settings, measured: dict[str, str], topic: str,
    unique: str,
) -> None:  # fmt: skip
    """The classifier's anomaly events go through the relay to ``anomalies`` subscribers; a
    subscriber scoped to another source gets none."""
    relay = ChangeRelay(served.app.state.datawave, topic=topic, group_id=unique)
    running = asyncio.create_task(relay.run())
    elsewhere = mint_token(settings.auth, "other", ["viewer"], sources=[f"{unique}-other"])
    got: dict[str, asyncio.Queue[dict]] = {"mine": asyncio.Queue(), "theirs": asyncio.Queue()}

    async def follow(who: str, bearer_token: str) -> None:
        async with ws_client(served.url, bearer_token) as session:
            request = GraphQLRequest(LIVE, variable_values={"filter": {"source": unique}})
            async for result in session.subscribe(request):
                await got[who].put(result["anomalies"])

    hub = served.hub
    before = hub.subscriber_count(ANOMALY_CHANNEL)
    tasks = [asyncio.create_task(follow("mine", token)),
             asyncio.create_task(follow("theirs", elsewhere))]  # fmt: skip
    try:
        await eventually(lambda: _true(relay.ready()), timeout_s=30)
        await until(lambda: hub.subscriber_count(ANOMALY_CHANNEL) == before + 2)
        column = column_urn(measured["orders"], "ssn")
        found = Anomaly("new_sensitive_column", column, measured["orders"], "new", "critical")
        async with EventProducer(settings.kafka, topic) as producer:
            await producer.publish(anomaly_event(found, scan_event(unique, 20)))
        async with asyncio.timeout(15):
            event = await got["mine"].get()
        assert event == {
            "kind": "NEW_SENSITIVE_COLUMN", "severity": "CRITICAL", "subject": column,
            "table": measured["orders"], "source": unique, "asset": None,
        }  # fmt: skip
        await asyncio.sleep(0.5)
        assert got["theirs"].empty()
    finally:
        for task in (*tasks, running):
            task.cancel()
        await asyncio.gather(*tasks, running, return_exceptions=True)


async def _true(value: bool) -> bool:
    return value


async def test_the_model_registry_lists_versions_with_the_active_one(
    execute: Execute, neo4j: AsyncDriver, settings: Settings, unique: str
) -> None:
    db = settings.neo4j.database
    await write(
        neo4j, db,
        """
        UNWIND [1, 2] AS v
        CREATE (m:ClassifierModel {id: $r + ':' + toString(v), registry: $r, version: v,
                                   active: v = 2, trainingColumns: 400 + v, seed: 1,
                                   fittedAt: '2026-11-2' + toString(v) + 'T10:00:00+00:00',
                                   params: '{}'})
        """,
        r=unique,
    )  # fmt: skip
    query = """
    query ($r: String, $after: String) {
      classifierModels(registry: $r, first: 1, after: $after) {
        totalCount edges { node { id version active fittedAt metrics { name value } } }
        pageInfo { hasNextPage endCursor }
      }
    }
    """
    try:
        newest = (await execute(query, r=unique))["classifierModels"]
        older = await execute(query, r=unique, after=newest["pageInfo"]["endCursor"])
    finally:
        await drop_models(settings, neo4j, unique)
    assert newest["totalCount"] == 2 and newest["pageInfo"]["hasNextPage"]
    assert newest["edges"][0]["node"] == {
        "id": f"{unique}:2",
        "version": 2,
        "active": True,
        "fittedAt": "2026-11-22T10:00:00+00:00",
        "metrics": [{"name": "seed", "value": 1.0}, {"name": "trainingColumns", "value": 402.0}],
    }
    assert [e["node"]["active"] for e in older["classifierModels"]["edges"]] == [False]
