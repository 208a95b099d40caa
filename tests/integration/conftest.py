"""Fixtures of the integration tests: the served API and its GraphQL clients, and catalogs or
sources of their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from neo4j import AsyncDriver

from core.settings import Settings
from graph.driver import read, write
from security.auth import mint_token
from tests.conftest import HANDED_OUT
from tests.factories import Source
from tests.integration.cleanup import drop_sources
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute, Served, bearer, serve

# Sources named after (or by) a name ``unique`` handed out, and tables written under one.
LEFT_BEHIND = """
CALL () {
  MATCH (s:DataSource) WHERE any(name IN $names WHERE s.name STARTS WITH name)
  RETURN s.name AS source
  UNION
  MATCH (t:Table) WHERE t.source IN $names
  RETURN DISTINCT t.source AS source
}
RETURN collect(source) AS sources
"""


@pytest.fixture(scope="session", autouse=True)
async def leaves_no_sources(neo4j: AsyncDriver, settings: Settings) -> AsyncIterator[None]:
    """``make test`` leaves a developer's catalogue as it found it: their ``make up`` estate
    shares the graph, so a test that registers or writes a source deletes it afterwards
    (tests/integration/cleanup.py). Fails the session, naming them, if any is left."""
    yield
    (row,) = await read(neo4j, settings.neo4j.database, LEFT_BEHIND, names=sorted(HANDED_OUT))
    assert row["sources"] == [], f"tests left these sources in the graph: {row['sources']}"


@pytest.fixture(scope="session")
async def served(settings: Settings) -> AsyncIterator[Served]:
    """The API of the whole test session, under a real uvicorn in this process. One for every
    package: each app in the process is one more member of the change relay's consumer group,
    and every member joining or leaving makes all of them rebalance."""
    async with serve(settings) as s:
        yield s


@pytest.fixture(scope="session")
def api(served: Served) -> str:
    """Base URL of the app served by uvicorn on a free port."""
    return served.url


@pytest.fixture(scope="session")
async def token(settings: Settings, neo4j: AsyncDriver, served: Served) -> AsyncIterator[str]:
    """A steward's token for the whole session: reads everything, writes assets, lineage,
    sources and scans (no ``pii:read``). Its audit trail is removed afterwards."""
    subject = f"tester-{uuid.uuid4().hex[:8]}"
    yield mint_token(settings.auth, subject, ["steward"], ttl_s=4 * 3600)
    await served.app.state.datawave.audit.drain()  # what is recorded after a response
    query = "MATCH (e:AuditEvent {actor: $actor}) DELETE e"
    await write(neo4j, settings.neo4j.database, query, actor=subject)


@pytest.fixture
async def gql_session(api: str, token: str) -> AsyncIterator[Any]:
    transport = HTTPXAsyncTransport(url=f"{api}/graphql", headers=bearer(token), timeout=30)
    # 60 s: the first classify of the session loads the classifier's models (ml.LazyService).
    async with Client(transport=transport, execute_timeout=60) as session:
        yield session


@pytest.fixture
def execute(gql_session: Any) -> Execute:
    """Run a query or mutation; GraphQL errors raise ``TransportQueryError``."""

    async def run(query: str, **variables: Any) -> dict[str, Any]:
        return await gql_session.execute(GraphQLRequest(query, variable_values=variables))

    return run


@pytest.fixture
async def estate(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[Estate]:
    """An empty estate builder for source ``unique``; what it wrote is deleted afterwards
    (under the name it has then: a test may rename it)."""
    built = Estate(unique)
    yield built
    await drop_sources(settings, neo4j, built.name)


@pytest.fixture
async def source(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[Source]:
    """A source named ``unique`` for discovery events (tests/factories.py); every node of it
    is deleted after the test."""
    yield Source(unique)
    await drop_sources(settings, neo4j, unique)
