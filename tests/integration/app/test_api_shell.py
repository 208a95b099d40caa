"""The API shell against the real stack: health, readiness, metrics, serverInfo, migrations."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from neo4j import AsyncDriver
from starlette.testclient import TestClient

from app.main import create_app
from core import __version__
from core.settings import Settings
from devstack import stack
from graph.driver import read
from graph.migrations import apply_migrations
from live.health import CHECKS
from security.auth import mint_token

SERVER_INFO = "{ serverInfo { version ready dependencies { name up detail } } }"


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    token = mint_token(settings.auth, "shell-tester", ["admin"])  # serverInfo is for admins
    # Every /readyz probes again: a stopped service shows at once.
    fresh = settings.model_copy(update={"dependency_cache_s": 0})
    with TestClient(create_app(fresh), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_healthz_answers_without_dependencies(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert set(body["dependencies"]) == set(CHECKS)
    assert "5.26" not in r.text, "versions are serverInfo's, for admins"


def test_readyz_reports_a_stopped_service_down_then_up_again(
    client: TestClient, settings: Settings
) -> None:
    ctx = stack.Context(settings, echo=lambda _: None)
    stack.down(ctx, ["redis"])
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        deps = r.json()["dependencies"]
        assert deps["redis"]["up"] is False
        assert deps["neo4j"]["up"] is True
    finally:
        stack.up(ctx, ["redis"])
    # Ready again within seconds: a pooled connection the restart broke fails one check, and
    # a check's answer is kept for dependency_cache_s.
    deadline = time.monotonic() + 15
    while (r := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert r.status_code == 200, r.text
    assert r.json()["dependencies"]["redis"]["up"] is True


def test_server_info_query(client: TestClient) -> None:
    r = client.post("/graphql", json={"query": SERVER_INFO})
    info = r.json()["data"]["serverInfo"]
    assert info["version"] == __version__
    assert info["ready"] is True
    assert {d["name"] for d in info["dependencies"] if d["up"]} == set(CHECKS)


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'datawave_http_requests_total{method="GET",path="/healthz",status="200"}' in text


def test_graphiql_is_served_in_development(client: TestClient) -> None:
    r = client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "graphiql" in r.text.lower()


SCHEMA = (
    "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
    "RETURN 'constraint' AS kind, name, type, labelsOrTypes, properties",
    "SHOW INDEXES YIELD name, type, labelsOrTypes, properties, owningConstraint "
    "WHERE owningConstraint IS NULL "
    "RETURN 'index' AS kind, name, type, labelsOrTypes, properties",
)


async def schema_snapshot(driver: AsyncDriver, database: str) -> list[tuple[str, ...]]:
    """Constraints and indexes as sorted tuples, to compare schemas (SHOW cannot be UNIONed)."""
    rows = [r for statement in SCHEMA for r in await read(driver, database, statement)]
    return sorted(
        (r["kind"], r["name"], r["type"], ",".join(r["labelsOrTypes"] or []),
         ",".join(r["properties"] or []))
        for r in rows
    )  # fmt: skip


async def test_migrations_twice_give_the_same_schema(neo4j: AsyncDriver, settings: Settings):
    db = settings.neo4j.database
    await apply_migrations(neo4j, db)
    first = await schema_snapshot(neo4j, db)
    assert await apply_migrations(neo4j, db) == []
    assert await schema_snapshot(neo4j, db) == first
    names = {row[1] for row in first}
    assert {"asset_urn", "datasource_urn", "label_name", "domain_name"} <= names
