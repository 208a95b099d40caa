"""Property-based fuzzing of what a client sends, against the running API (hypothesis): for any
variables, documents, bodies or credentials, the answer is never a 500 and never shows a stack
trace.

Hypothesis drives a blocking client from a worker thread, so the API keeps serving in this
event loop meanwhile. Writes go through a steward scoped to the test's own source name, so no
fuzzed mutation can touch anyone else's data; its audit events are deleted with the test's.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from itertools import count
from typing import Any

import aiokafka.client
import aiokafka.conn
import aiokafka.consumer.fetcher
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neo4j import AsyncDriver

from tests.integration.estate import Estate
from tests.integration.graphql.conftest import bearer
from tests.integration.security.conftest import Api
from tests.integration.security.test_tokens import QUERY, hs256

TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["urn:dw:table:x/db/public/t", "TABLE", "DOWNSTREAM", "NAME", "2026-11-22"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["urn", "kind", "text", "label", "name", "port", "field", "since", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
VARIABLES = st.dictionaries(st.sampled_from(list("fnasudlvmi")), JSON, max_size=6)
# Pieces of GraphQL, so that documents are often almost right (the interesting kind).
PIECES = st.sampled_from(
    ["{", "}", "(", ")", ":", "$", "!", "...", "on", "query", "mutation", "subscription",
     "fragment", "asset", "assets", "urn", "name", "__schema", "__typename", "first", "1",
     '"x"', "Table", "@include(if: true)", "#", ",", "\\u0000", " "]
)  # fmt: skip


@pytest.fixture(autouse=True)
def kafka_keeps_its_own_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's Kafka consumers, in this process, shuffle with the global ``random`` about
    twice a second (aiokafka's fetcher); Hypothesis takes a change of the global state while it
    draws an example for a strategy using ``random`` (a HypothesisDeprecationWarning, now and
    then). aiokafka gets a generator of its own for these tests."""
    for module in (aiokafka.client, aiokafka.conn, aiokafka.consumer.fetcher):
        monkeypatch.setattr(module, "random", random.Random())


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:2000]
    assert not TRACE.search(response.text), response.text[:2000]


async def _run(api: Api, prop: Any) -> None:
    await asyncio.to_thread(prop)


def _client(api: Api) -> httpx.Client:
    return httpx.Client(base_url=api.url, timeout=30)


def _ids(api: Api) -> Any:
    numbers = count()
    return lambda: {"x-request-id": f"{api.name}-fuzz-{next(numbers)}"}


def operations(
    name: str, urns: st.SearchStrategy[str]
) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Operations with variables that are mostly of the right type (so resolvers run) and
    sometimes anything at all. Teams a mutation may create are named ``<name>-...``, so the
    test's estate takes them away with it."""
    num = st.integers(min_value=-3, max_value=120) | JSON
    text = st.text(max_size=30) | JSON
    filter_ = st.fixed_dictionaries(
        {}, optional={"source": text, "kind": st.sampled_from(["TABLE", "COLUMN", "x"]),
                      "label": text, "text": text, "removed": st.none() | st.booleans()}
    ) | JSON  # fmt: skip
    urn = urns | JSON

    def op(query: str, **variables: st.SearchStrategy[Any]) -> Any:
        return st.tuples(st.just(query), st.fixed_dictionaries(variables))

    return st.one_of(
        op(
            "query ($f: AssetFilterInput, $n: Int!, $a: String) "
            "{ assets(filter: $f, first: $n, after: $a) { totalCount edges { cursor } } }",
            f=filter_, n=num, a=st.none() | text,
        ),
        op(
            "query ($u: ID!) { asset(urn: $u) { name ... on Column { min max "
            "labels { evidence { examples } explanation } } ... on Table { columns { name } "
            "upstream { edges { node { name } } } labels { column } } } }",
            u=urn,
        ),
        op("query ($u: ID!) { node(id: $u) { id } }", u=urn),
        op(
            "query ($u: ID!, $d: LineageDirection!, $n: Int!, $l: LineageLevel!) "
            "{ lineage(urn: $u, direction: $d, depth: $n, level: $l) { nodes { id } } }",
            u=urn, d=st.sampled_from(["UPSTREAM", "DOWNSTREAM", "BOTH", "x"]), n=num,
            l=st.sampled_from(["TABLE", "COLUMN", "x"]),
        ),
        op(
            "query ($u: ID!, $v: ID!) "
            "{ lineagePath(from: $u, to: $v) { truncated } impact(urn: $v) { urn } }",
            u=urn, v=urn,
        ),
        op(
            "query ($u: ID!, $n: Int!, $m: Int!) "
            "{ schemaDiff(urn: $u, fromVersion: $n, toVersion: $m) { urn } }",
            u=urn, n=num, m=num,
        ),
        op(
            "mutation ($i: DescribeAssetInput!) "
            "{ describeAsset(input: $i) { errors { message } } }",
            i=st.fixed_dictionaries({"urn": urn}, optional={
                "description": text, "tags": st.lists(text, max_size=3) | JSON,
                "owner": st.text(max_size=20).map(lambda t: f"{name}-{t}")}),
        ),
        op(
            "mutation ($i: AddLineageInput!) { addLineage(input: $i) { errors { message } } }",
            i=st.fixed_dictionaries({"upstream": urn, "downstream": urn}) | JSON,
        ),
        op(
            "mutation ($i: DataSourceInput!) "
            "{ registerDataSource(input: $i) { errors { message } } }",
            i=st.fixed_dictionaries({"name": text, "kind": text, "port": num}) | JSON,
        ),
        op("subscription ($s: ID!) { scanProgress(scanId: $s) { stage } }", s=text),
    )  # fmt: skip


async def test_fuzzed_operations(api: Api, estate: Estate, neo4j: AsyncDriver) -> None:
    """Against a small estate of the test's own (labels, lineage, a profiled column)."""
    orders = estate.table("orders", ("id", "email"))
    estate.feeds(estate.table("customers", ("id", "email")), orders)
    estate.label(estate.column_urn("orders", "email"), "Email")
    await estate.write(neo4j, api.database)
    known = [orders, estate.column_urn("orders", "email"), estate.table_urn("customers")]
    urns = st.sampled_from(known) | st.builds(
        lambda kind, path: f"urn:dw:{kind}:{api.name}/" + "/".join(path),
        st.sampled_from(["table", "column", "schema", "source", "job", "version", "scan", "x"]),
        st.lists(st.text(max_size=6), max_size=4),
    )
    token = api.token("steward", sources=[api.name])
    ids, answered = _ids(api), []
    with _client(api) as http:

        @FUZZ
        @given(operation=operations(api.name, urns))
        def prop(operation: tuple[str, dict[str, Any]]) -> None:
            query, variables = operation
            body = {"query": query, "variables": variables}
            response = http.post("/graphql", json=body, headers=bearer(token) | ids())
            _check(response)
            answered.append(response.status_code == 200 and bool(response.json().get("data")))

        await _run(api, prop)
    print(f"fuzzed operations: {len(answered)}, answered with data: {sum(answered)}")
    assert sum(answered) >= 10, "the fuzzing must reach the resolvers, not only validation"


async def test_fuzzed_documents(api: Api) -> None:
    token = api.token("viewer")
    ids = _ids(api)
    with _client(api) as http:

        @FUZZ
        @given(
            document=st.text(max_size=200) | st.lists(PIECES, max_size=40).map(" ".join),
            operation=st.none() | st.text(max_size=10),
        )
        def prop(document: str, operation: str | None) -> None:
            body = {"query": document, "operationName": operation}
            _check(http.post("/graphql", json=body, headers=bearer(token) | ids()))

        await _run(api, prop)


async def test_fuzzed_bodies_and_methods(api: Api) -> None:
    token = api.token("viewer")
    ids = _ids(api)
    with _client(api) as http:

        @FUZZ
        @given(
            body=st.binary(max_size=300) | JSON.map(lambda v: repr(v).encode()),
            content_type=st.sampled_from(
                ["application/json", "text/plain", "multipart/form-data", "application/graphql"]
            ),
            query=st.none() | st.text(max_size=50),
        )
        def prop(body: bytes, content_type: str, query: str | None) -> None:
            headers = bearer(token) | ids() | {"content-type": content_type}
            _check(http.post("/graphql", content=body, headers=headers))
            params = {"query": query} if query is not None else {}
            _check(http.get("/graphql", params=params, headers=bearer(token) | ids()))

        await _run(api, prop)


async def test_fuzzed_credentials(api: Api) -> None:
    ids = _ids(api)
    with _client(api) as http:

        @settings(FUZZ, max_examples=40)
        @given(
            credentials=st.text(
                st.characters(min_codepoint=32, max_codepoint=126), max_size=300
            ).map(lambda t: "Bearer " + t)
            | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
        )
        def prop(credentials: str) -> None:
            headers = {"authorization": credentials.strip() or "x"} | ids()
            response = http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
            _check(response)
            assert response.status_code in (401, 429), response.text

        await _run(api, prop)


async def test_fuzzed_claims_of_signed_tokens(api: Api) -> None:
    """A genuinely signed token whose claims hold anything: 200 or 401, twice in a row (the
    second answer comes from the verified-token memory), never a 500."""
    # Times around now, as numbers and as numeric strings (which PyJWT takes for numbers).
    now = int(time.time())
    moments = st.integers(min_value=now - 10**6, max_value=now + 10**6)
    clock = moments | moments.map(float) | moments.map(str)
    ids = _ids(api)
    with _client(api) as http:

        @FUZZ
        @given(
            claim=st.sampled_from(
                ["exp", "iat", "nbf", "sub", "iss", "aud", "roles", "domains", "permissions"]
            ),
            value=JSON | clock,
        )
        def prop(claim: str, value: Any) -> None:
            token = hs256(api, **({"roles": ["viewer"]} | {claim: value}))
            for _ in range(2):
                response = http.post("/graphql", json=QUERY, headers=bearer(token) | ids())
                _check(response)
                assert response.status_code in (200, 401, 429), response.text[:500]

        await _run(api, prop)
