"""Hostile or broken requests get clear GraphQL errors, never a 500; production masks internals."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from neo4j import AsyncDriver
from starlette.testclient import TestClient

from app.main import create_app
from core.settings import AuthSettings, Mode, Settings
from graph import sources
from graph.driver import write
from resolvers.limits import MAX_ALIASES, MAX_DEPTH
from resolvers.schema import MAX_TOKENS
from security.auth import mint_token
from tests.integration.graphql.conftest import bearer


@pytest.fixture
async def http(api: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api, headers=bearer(token), timeout=30) as client:
        yield client


async def error_of(http: httpx.AsyncClient, body: object) -> str:
    r = await http.post("/graphql", json=body)
    assert r.status_code < 500, r.text
    errors = r.json()["errors"]
    assert "data" not in r.json() or r.json()["data"] is None
    return errors[0]["message"]


def nested(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"... on Table {{ columns {{ table {{ {inner} }} }} }}"
    return f'{{ asset(urn: "x") {{ {inner} }} }}'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"query": "{ assets(first: 5 { edges } }"}, "Syntax Error"),
        ({"query": "{ nope }"}, "Cannot query field 'nope' on type 'Query'."),
        (
            {
                "query": 'query ($d: Int!) { lineage(urn: "u", depth: $d) { truncated } }',
                "variables": {"d": "deep"},
            },
            "Variable '$d' has invalid value: Int cannot represent non-integer value",
        ),
        ({"query": nested(MAX_DEPTH)}, f"exceeds maximum operation depth of {MAX_DEPTH}"),
        (
            {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1)) + " }"},
            f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}",
        ),
        (
            {"query": "{ " + "__typename " * MAX_TOKENS + "}"},
            f"Document contains more than {MAX_TOKENS} tokens",
        ),
        ({"query": "{ assets(first: 1000) { totalCount } }"}, "first must be between 1 and 100"),
        ({"query": "mutation { describeAsset(input: {}) { errors { message } } }"}, "urn"),
        ({"query": '{ asset(urn: "x") { ...F } }'}, "Unknown fragment 'F'."),
    ],
    ids=[
        *("syntax", "unknown-field", "variable-type", "depth", "aliases", "tokens", "page"),
        *("input", "unknown-fragment"),
    ],
)
async def test_bad_requests_get_clear_errors(
    http: httpx.AsyncClient, body: object, expected: str
) -> None:
    assert expected in await error_of(http, body)


async def test_a_malformed_body_is_a_client_error(http: httpx.AsyncClient) -> None:
    for content in (b"{not json", b"[]", b'{"query": 42}'):
        r = await http.post(
            "/graphql", content=content, headers={"content-type": "application/json"}
        )
        assert 400 <= r.status_code < 500, (content, r.status_code, r.text)


@pytest.fixture(scope="module")
async def production(neo4j: AsyncDriver, settings: Settings) -> AsyncIterator[TestClient]:
    auth = AuthSettings(hs_secret="p" * 48)
    cfg = Settings(_env_file=None, mode=Mode.PRODUCTION, introspection=False, auth=auth)
    subject = f"production-{uuid.uuid4().hex[:8]}"
    with TestClient(create_app(cfg), headers=bearer(mint_token(auth, subject, ["viewer"]))) as c:
        yield c
    await write(
        neo4j, settings.neo4j.database, "MATCH (e:AuditEvent {actor: $a}) DELETE e", a=subject
    )


def test_production_masks_internal_errors_but_not_client_errors(
    production: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("bolt://admin:s3cret@neo4j is on fire")

    monkeypatch.setattr(sources, "list_sources", broken)
    body = production.post("/graphql", json={"query": "{ dataSources { totalCount } }"}).json()
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    for query, visible in (
        ("{ assets(first: 0) { totalCount } }", "first must be between 1 and 100"),
        ("{ nope }", "Cannot query field 'nope'"),
    ):
        message = production.post("/graphql", json={"query": query}).json()["errors"][0]["message"]
        assert visible in message


def test_production_turns_introspection_and_graphiql_off(production: TestClient) -> None:
    body = production.post("/graphql", json={"query": "{ __schema { types { name } } }"}).json()
    assert "introspection" in body["errors"][0]["message"].lower()
    page = production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
