"""Whole responses of catalog reads are served again from Redis (resolvers/responses.py): a
repeated read costs no Cypher, a change is seen at once, and each caller gets its own view, with
every read in clear audited."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, NamedTuple

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from security.auth import mint_token
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, neo4j_reads, post_graphql, reads_of

DETAIL = """
query ($urn: ID!) {
  asset(urn: $urn) {
    id name description
    ... on Table { columns { name min labels { status label { name } } } }
  }
}
"""
DESCRIBE = """
mutation ($input: DescribeAssetInput!) { describeAsset(input: $input) { errors { message } } }
"""
PROFILE = "MATCH (c:Column {urn: $urn}) SET c.min = 'alice@example.com'"
SENSITIVE_READS = """
MATCH (e:AuditEvent {actor: $actor, action: 'read:sensitive', resource: $urn})
RETURN e.requestId AS request
"""

Post = Callable[..., Any]


class Caller(NamedTuple):
    subject: str
    token: str


@pytest.fixture
async def orders(estate: Estate, neo4j: AsyncDriver, settings: Settings) -> str:
    """A table of domain sales whose ``email`` column holds a labelled, profiled value."""
    urn = estate.table("orders", ("id", "email"), description="Orders")
    estate.label(estate.column_urn("orders", "email"), "Email")
    estate.product("sales", urn)
    await estate.write(neo4j, settings.neo4j.database)
    await write(neo4j, settings.neo4j.database, PROFILE, urn=estate.column_urn("orders", "email"))
    return urn


@pytest.fixture
async def callers(
    settings: Settings, served: Served, neo4j: AsyncDriver, estate: Estate
) -> AsyncIterator[dict[str, Caller]]:
    """An admin (pii:read), a steward (values of sensitive columns masked) and a viewer of
    another domain, each a subject of its own; their audit trail goes afterwards."""
    prefix = f"cache-{uuid.uuid4().hex[:8]}"
    roles = {
        "admin": ([], "admin"),
        "steward": ([], "steward"),
        "other": ([f"{estate.name}-x"], "viewer"),
    }
    callers = {}
    for name, (domains, role) in roles.items():
        subject = f"{prefix}-{name}"
        token = mint_token(settings.auth, subject, [role], domains=domains or None)
        callers[name] = Caller(subject, token)
    yield callers
    await served.app.state.datawave.audit.drain()
    query = "MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $prefix DELETE e"
    await write(neo4j, settings.neo4j.database, query, prefix=prefix)


@pytest.fixture
def post(api: str) -> Post:
    async def run(token: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await post_graphql(api, token, query, **variables)
        assert "errors" not in body, body
        return body["data"]

    return run


async def test_a_repeated_read_costs_no_query_and_a_change_shows_at_once(
    post: Post, orders: str, callers: dict[str, Caller]
) -> None:
    steward = callers["steward"].token
    before = neo4j_reads()
    first = await post(steward, DETAIL, urn=orders)
    assert neo4j_reads() > before, "the first read executes"
    assert [c["name"] for c in first["asset"]["columns"]] == ["id", "email"]

    cost, again = await reads_of(lambda: post(steward, DETAIL, urn=orders))
    assert (cost, again) == (0, first)

    described = await post(steward, DESCRIBE, input={"urn": orders, "description": "Sales"})
    assert described["describeAsset"]["errors"] == []
    assert (await post(steward, DETAIL, urn=orders))["asset"]["description"] == "Sales"


async def test_each_caller_gets_its_own_view(
    post: Post, orders: str, callers: dict[str, Caller]
) -> None:
    masked = await post(callers["steward"].token, DETAIL, urn=orders)
    assert masked["asset"]["columns"][1]["min"] not in (None, "alice@example.com")
    shown = await post(callers["admin"].token, DETAIL, urn=orders)
    assert shown["asset"]["columns"][1]["min"] == "alice@example.com"
    assert await post(callers["other"].token, DETAIL, urn=orders) == {"asset": None}


async def test_values_read_in_clear_are_executed_and_audited_on_every_read(
    post: Post,
    orders: str,
    callers: dict[str, Caller],
    served: Served,
    estate: Estate,
    neo4j: AsyncDriver,
    settings: Settings,
) -> None:
    admin = callers["admin"].token
    await post(admin, DETAIL, urn=orders)
    cost, answer = await reads_of(lambda: post(admin, DETAIL, urn=orders), tries=2)
    assert cost > 0 and answer["asset"]["columns"][1]["min"] == "alice@example.com"
    await served.app.state.datawave.audit.drain()
    actor = callers["admin"].subject
    email = estate.column_urn("orders", "email")
    rows = await read(neo4j, settings.neo4j.database, SENSITIVE_READS, actor=actor, urn=email)
    assert len({r["request"] for r in rows}) == 3, "one event per read"
