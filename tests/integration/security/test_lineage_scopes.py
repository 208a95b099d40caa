"""``POST /api/v1/lineage`` under domain scopes: an event that names a table of a registered
source needs ``lineage:write`` on that table, as ``addLineage`` does, and every event taken is
in the audit trail with its actor.

The estate: ``orders`` exposed by a sales product and ``invoices`` by a finance one, on a source
registered as PostgreSQL on 127.0.0.1:5432 (database ``db``), so an OpenLineage dataset
``postgres://127.0.0.1:5432`` + ``db.public.<table>`` is that table.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState

from core.settings import Settings
from core.topics import LINEAGE
from graph.driver import read
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.kafka import end_offsets
from tests.integration.lineage.producers import PG, raw, run_event
from tests.integration.security.conftest import Api

AUDIT = """
query ($filter: AuditEventFilter) {
  auditEvents(filter: $filter, first: 10) { edges { node { actor action resource outcome } } }
}
"""


@dataclass(frozen=True)
class Pipeline:
    """The test's estate, its domains and the namespaces of its jobs and output datasets."""

    estate: Estate
    sales: str
    finance: str
    jobs: str
    lake: str

    def event(self, table: str, *, reads: bool = True) -> tuple[bytes, str]:
        """A COMPLETE run of a job of its own that reads (or writes) ``table`` and writes (or
        reads) the lake; the event and its job's URN."""
        name = f"job-{uuid.uuid4().hex[:8]}"
        pg, lake = (PG, f"db.public.{table}", {}), (self.lake, "out", {})
        inputs, outputs = ([pg], [lake]) if reads else ([lake], [pg])
        event = run_event(
            RunState.COMPLETE, str(uuid.uuid4()), (self.jobs, name), 0, inputs, outputs
        )
        return raw(event), f"urn:dw:job:{self.jobs}/{name}"


@pytest.fixture
async def pipeline(
    estate: Estate, neo4j: AsyncDriver, settings: Settings
) -> AsyncIterator[Pipeline]:
    orders = estate.table(f"orders_{estate.name}")
    invoices = estate.table(f"invoices_{estate.name}")
    sales = estate.product("sales", orders)
    finance = estate.product("finance", invoices)
    await estate.write(neo4j, settings.neo4j.database)
    found = Pipeline(estate, sales, finance, f"airflow-{estate.name}", f"s3://{estate.name}")
    yield found
    # What a worker consuming datawave.lineage.v1 (``make up``'s) wrote of the accepted events.
    await drop_sources(settings, neo4j, found.jobs, found.lake)


async def sent_since(settings: Settings, start: dict[TopicPartition, int]) -> set[str]:
    """The subjects (Kafka keys) of what reached the lineage topic after ``start``."""
    ends = await end_offsets(settings, LINEAGE)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for part, offset in start.items():
            consumer.seek(part, offset)
        keys: set[str] = set()
        async with asyncio.timeout(20):
            while [p for p in start if await consumer.position(p) < ends[p]]:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    keys |= {r.key.decode() for r in batch if r.key}
        return keys
    finally:
        await consumer.stop()


async def post(api: Api, token: str, body: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    headers["x-request-id"] = api.request_id()
    return await api.http.post("/api/v1/lineage", content=body, headers=headers)


async def audited(api: Api, actor: str) -> list[dict[str, Any]]:
    await api.settle()
    auditor = api.token("auditor")
    body = await api.graphql(auditor, AUDIT, filter={"actor": actor, "action": "lineage.post"})
    return [e["node"] for e in body["data"]["auditEvents"]["edges"]]


async def test_a_sales_steward_cannot_draw_lineage_out_of_a_finance_table(
    api: Api, pipeline: Pipeline, settings: Settings, neo4j: AsyncDriver
) -> None:
    steward = api.token("steward", domains=[pipeline.sales])
    invoices = pipeline.estate.table_urn(f"invoices_{pipeline.estate.name}")
    start = await end_offsets(settings, LINEAGE)
    refused = []
    for reads in (True, False):  # the finance table as an input, then as an output
        event, job = pipeline.event(f"invoices_{pipeline.estate.name}", reads=reads)
        response = await post(api, steward, event)
        assert response.status_code == 403, response.text
        (error,) = response.json()["errors"]
        assert error["extensions"] == {"code": "FORBIDDEN"}
        assert f"db.public.invoices_{pipeline.estate.name}" in error["message"]
        assert invoices not in error["message"]  # names what the caller sent, not the source
        refused.append(job)

    # Its own domain's table is the steward's to draw from.
    event, allowed = pipeline.event(f"orders_{pipeline.estate.name}")
    assert (await post(api, steward, event)).status_code == 201

    sent = await sent_since(settings, start)
    assert allowed in sent and not sent & set(refused)
    jobs = await read(
        neo4j, settings.neo4j.database, "MATCH (j:Job) WHERE j.urn IN $urns RETURN j", urns=refused
    )
    assert jobs == []
    events = await audited(api, f"{api.name}-steward")
    assert {(e["resource"], e["outcome"]) for e in events} == {
        (invoices, "DENIED"),
        (allowed, "ALLOWED"),
        (allowed, "SUCCEEDED"),
    }


async def test_an_admins_event_is_taken_and_audited_with_its_actor(
    api: Api, pipeline: Pipeline, settings: Settings
) -> None:
    admin = api.token("admin")
    event, job = pipeline.event(f"invoices_{pipeline.estate.name}")
    start = await end_offsets(settings, LINEAGE)
    response = await post(api, admin, event)
    assert response.status_code == 201, response.text
    assert response.json()["subject"] == job
    assert job in await sent_since(settings, start)
    events = await audited(api, f"{api.name}-admin")
    assert sorted((e["actor"], e["resource"], e["outcome"]) for e in events) == [
        (f"{api.name}-admin", job, "ALLOWED"),
        (f"{api.name}-admin", job, "SUCCEEDED"),
    ]
