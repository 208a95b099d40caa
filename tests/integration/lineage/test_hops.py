"""One hop of lineage (``upstream``, ``downstream``) lists each neighbour once, however many
jobs join the two: a pipeline's jobs often share an input and an output (a daily load and its
backfill), each its own ``FEEDS`` edge (``via``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from neo4j import AsyncDriver
from openlineage.client.event_v2 import RunState

from core.settings import Settings
from core.urns import column_urn, table_urn
from graph.datasets import dataset_urn
from graph.driver import read
from security.auth import mint_token
from tests.factories import eventually
from tests.integration.graphql.conftest import Execute
from tests.integration.lineage.producers import PG, derived, run_event, table
from tests.integration.lineage.test_openlineage import http_client, job_of

PAGE = """{ edges { node { id } } pageInfo { hasNextPage endCursor } totalCount }"""
ASSET_HOP = (
    """query ($urn: ID!, $first: Int!, $after: String) { asset(urn: $urn) {
  ... on Table { downstream(first: $first, after: $after) PAGE upstream PAGE }
  ... on Dataset { downstream(first: $first, after: $after) PAGE upstream PAGE } } }"""
).replace("PAGE", PAGE)
COLUMN_HOP = (
    """query ($urn: ID!) { node(id: $urn) { ... on Column { downstream PAGE upstream PAGE } } }"""
).replace("PAGE", PAGE)
CURRENT = "MATCH ()-[f:FEEDS]->() WHERE f.via IN $jobs AND f.until IS NULL RETURN count(f) AS n"


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


async def _paged(execute: Execute, urn: str) -> list[list[str]]:
    """``downstream`` of ``urn`` a neighbour a page, following ``endCursor``."""
    pages, after = [], None
    while True:
        hop = (await execute(ASSET_HOP, urn=urn, first=1, after=after))["asset"]["downstream"]
        pages.append(_ids(hop))
        if not hop["pageInfo"]["hasNextPage"]:
            return pages
        after = hop["pageInfo"]["endCursor"]


async def test_a_neighbour_two_jobs_join_is_listed_once(
    world: Settings, api: str, execute: Execute, neo4j: AsyncDriver, postgres: str
) -> None:
    """A load and its backfill both read ``orders`` into ``orders_daily`` (column to column
    too), the backfill also into ``revenue``; two export jobs copy one lake path to another.
    Each neighbour is listed once, counted once, and paged through once."""
    namespace = job_of(postgres)[0]
    orders, daily = f"{postgres}.public.orders", f"{postgres}.public.orders_daily"
    lake = "s3://lake"
    raw, clean = f"{postgres}/raw", f"{postgres}/clean"
    email = derived(("email_hash", PG, orders, "email", "DIRECT/TRANSFORMATION", True))
    daily_out = (PG, daily, {**table("orders_daily", "day", "email_hash", "total"), **email})
    events = [
        run_event(RunState.COMPLETE, str(uuid.uuid4()), (namespace, job), 0,
                  inputs=[(PG, orders, {})], outputs=outputs)
        for job, outputs in (
            ("daily.load", [daily_out]),
            ("daily.backfill", [daily_out, (PG, f"{postgres}.public.revenue", {})]),
        )
    ] + [
        run_event(RunState.COMPLETE, str(uuid.uuid4()), (namespace, job), 0,
                  inputs=[(lake, raw, {})], outputs=[(lake, clean, {})])
        for job in ("export", "export.retry")
    ]  # fmt: skip
    client = http_client(api, mint_token(world.auth, f"pipeline-{postgres}", ["service"]))
    for event in events:  # the transport is synchronous; the API serves in this event loop
        await asyncio.to_thread(client.emit, event)
    jobs = [f"urn:dw:job:{namespace}/{j}" for j in ("daily.load", "daily.backfill")]
    exports = [f"urn:dw:job:{namespace}/{j}" for j in ("export", "export.retry")]

    async def written() -> bool:  # 1 + 2 table edges, 1 + 1 column edges, 2 dataset edges
        rows = await read(neo4j, world.neo4j.database, CURRENT, jobs=jobs + exports)
        return rows[0]["n"] == 7

    await eventually(written)

    t = table_urn(postgres, postgres, "public", "orders")
    d = table_urn(postgres, postgres, "public", "orders_daily")
    r = table_urn(postgres, postgres, "public", "revenue")
    hop = (await execute(ASSET_HOP, urn=t, first=50, after=None))["asset"]["downstream"]
    assert (_ids(hop), hop["totalCount"]) == ([d, r], 2)
    assert await _paged(execute, t) == [[d], [r]]
    hop = (await execute(ASSET_HOP, urn=d, first=50, after=None))["asset"]["upstream"]
    assert (_ids(hop), hop["totalCount"]) == ([t], 1)

    found = (await execute(COLUMN_HOP, urn=column_urn(t, "email")))["node"]["downstream"]
    assert (_ids(found), found["totalCount"]) == ([column_urn(d, "email_hash")], 1)
    found = (await execute(COLUMN_HOP, urn=column_urn(d, "email_hash")))["node"]["upstream"]
    assert (_ids(found), found["totalCount"]) == ([column_urn(t, "email")], 1)

    source, target = dataset_urn(lake, raw), dataset_urn(lake, clean)
    hop = (await execute(ASSET_HOP, urn=source, first=50, after=None))["asset"]["downstream"]
    assert (_ids(hop), hop["totalCount"]) == ([target], 1)
    hop = (await execute(ASSET_HOP, urn=target, first=50, after=None))["asset"]["upstream"]
    assert (_ids(hop), hop["totalCount"]) == ([source], 1)
