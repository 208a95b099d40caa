"""Issue 11, item 1: ``secretRef`` exfiltration through a data source, replayed.

The attack: a steward registers a source whose ``secretRef`` is the API's own signing key
(``env:DATAWAVE_AUTH__HS_SECRET``) or a system file, on a "PostgreSQL" server of theirs that
asks for a cleartext password, then calls ``testDataSource``: the API resolved the secret and
sent it there. Here that server is real (``FakePostgres`` on a loopback port, recording every
byte it receives), and every way in is shut: who may set a secret or host, which secrets and
hosts the operator allows (at registration and again before connecting), cleartext passwords,
and what a failed connection tells the caller.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.settings import Settings, SourceSettings
from core.sources import DataSourceConfig
from graph.sources import register_source
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Served, serve
from tests.integration.security.conftest import Api

REGISTER = """
mutation ($input: DataSourceInput!) {
  registerDataSource(input: $input) {
    dataSource { name host port }
    errors { __typename message ... on RefusedError { field } ... on InvalidInputError { field } }
  }
}
"""
TEST = """
mutation ($source: String!) {
  testDataSource(source: $source) {
    check { status error correlationId }
    errors { __typename message }
  }
}
"""
SCAN = """
mutation ($source: String!) {
  startScan(source: $source) {
    scanId
    errors { __typename message ... on ConnectionFailedError { correlationId } }
  }
}
"""
SOURCES = "{ dataSources(first: 100) { edges { node { name } } } }"
# An allowed secret (the default prefix is DATAWAVE_SOURCE_), set for this module's tests.
ALLOWED = "DATAWAVE_SOURCE_ATTACK_SUITE"
ALLOWED_VALUE = "allowed-source-password"
SSL_REQUEST = struct.pack("!i", 80877103)


class FakePostgres:
    """A server on a loopback port that speaks just enough of PostgreSQL's protocol to decline
    TLS and ask for a cleartext password, and keeps every byte each connection sent (before
    the fix, ``testDataSource`` sent it ``DATAWAVE_AUTH__HS_SECRET``)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        try:
            async with asyncio.timeout(5):
                data += await reader.read(65536)  # the startup message
                if data[4:8] == SSL_REQUEST:  # like a server of the attacker's: no TLS
                    writer.write(b"N")
                    await writer.drain()
                    data += await reader.read(65536)
                writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                await writer.drain()
                data += await reader.read(65536)  # the password message, if any
        except (TimeoutError, ConnectionError):
            pass
        finally:
            self.received.append(data)
            writer.close()

    async def __aenter__(self) -> FakePostgres:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def saw(self, secret: str) -> bool:
        return any(secret.encode() in data for data in self.received)


@pytest.fixture
async def fake() -> AsyncIterator[FakePostgres]:
    async with FakePostgres() as server:
        yield server


@pytest.fixture(autouse=True)
def allowed_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED, ALLOWED_VALUE)


@pytest.fixture
async def named(estate: Estate) -> str:
    """A source name owned by the test (``estate`` deletes its nodes afterwards)."""
    return estate.name


def source(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "postgresql",
        "host": "127.0.0.1",
        "port": port,
        "user": "datawave",
        "secretRef": f"env:{ALLOWED}",
        "databases": ["postgres"],
        **extra,
    }


async def registered(api: Api, token: str, **input: Any) -> dict[str, Any]:
    body = await api.graphql(token, REGISTER, input=input)
    return body["data"]["registerDataSource"] if body.get("data") else body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_a_steward_may_not_point_a_source_at_a_secret_or_a_host(
    api: Api, fake: FakePostgres, named: str
) -> None:
    steward, admin = api.token("steward"), api.token("admin")
    for attack in ("env:DATAWAVE_AUTH__HS_SECRET", "file:/etc/shadow", f"env:{ALLOWED}"):
        body = await registered(api, steward, **source(named, fake.port, secretRef=attack))
        assert codes(body) == ["FORBIDDEN"], body
        assert "source:admin" in body["errors"][0]["message"]
    names = [
        s["node"]["name"]
        for s in (await api.graphql(steward, SOURCES))["data"]["dataSources"]["edges"]
    ]
    assert named not in names
    # An admin registers it; the steward may then change what does not move it, nothing else.
    ok = await registered(api, admin, **source(named, 5432))
    assert ok["errors"] == [], ok
    edit = await registered(api, steward, **source(named, 5432, databases=["billing"]))
    assert edit["errors"] == [] and edit["dataSource"]["port"] == 5432
    for move in (
        {"port": fake.port},
        {"host": "localhost"},
        {"secretRef": "env:DATAWAVE_AUTH__HS_SECRET"},
        {"tls": "REQUIRE"},
    ):
        body = await registered(api, steward, **source(named, 5432) | move)
        assert codes(body) == ["FORBIDDEN"], (move, body)
    denied = await api.events(actor=f"{api.name}-steward")
    assert {(e["action"], e["outcome"]) for e in denied} >= {("source:admin", "denied")}
    assert fake.received == []


async def test_an_admin_may_not_register_datawaves_own_secrets_or_any_file(
    api: Api, fake: FakePostgres, named: str
) -> None:
    admin = api.token("admin")
    for attack in (
        "env:DATAWAVE_AUTH__HS_SECRET",
        "env:DATAWAVE_NEO4J__PASSWORD",
        "env:AWS_SECRET_ACCESS_KEY",
        "file:/etc/shadow",
        "file:/proc/self/environ",
    ):
        body = await registered(api, admin, **source(named, fake.port, secretRef=attack))
        assert body["dataSource"] is None
        assert [(e["__typename"], e["field"]) for e in body["errors"]] == [
            ("RefusedError", "secretRef")
        ], (attack, body)
    names = [
        s["node"]["name"]
        for s in (await api.graphql(admin, SOURCES))["data"]["dataSources"]["edges"]
    ]
    assert named not in names
    assert fake.received == []


async def test_an_admin_may_not_register_a_refused_host(
    api: Api, fake: FakePostgres, named: str, settings: Settings
) -> None:
    admin = api.token("admin")
    for host, port in (
        ("127.0.0.1", 7687),  # Neo4j
        ("localhost", 6379),  # Redis
        ("127.0.0.1", 9092),  # Kafka
        ("0.0.0.0", 9200),  # OpenSearch
        ("127.0.0.1", settings.port),  # the API
        ("169.254.169.254", 80),  # cloud metadata
        ("fe80::1", 5432),
    ):
        body = await registered(api, admin, **source(named, port, host=host, tls="REQUIRE"))
        assert [(e["__typename"], e["field"]) for e in body["errors"]] == [
            ("RefusedError", "host")
        ], (host, port, body)
    assert fake.received == []


async def test_a_stored_refused_source_is_refused_again_before_any_connection(
    api: Api, fake: FakePostgres, named: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    """A source already in the graph (registered before the policy, or written around the
    API) never gets its secret resolved: the steward testing it learns one generic message,
    the audit trail the detail, and the fake server sees no connection at all."""
    config = DataSourceConfig(
        name=named, kind="postgresql", port=fake.port, user="datawave",
        secret_ref="env:DATAWAVE_AUTH__HS_SECRET", databases=["postgres"],
    )  # fmt: skip
    await register_source(neo4j, settings.neo4j.database, config)
    steward = api.token("steward")
    response, _ = await api.post({"query": TEST, "variables": {"source": named}}, steward)
    check = response.json()["data"]["testDataSource"]["check"]
    assert check["status"] == "UNREACHABLE"
    correlation = check["correlationId"]
    assert correlation == response.headers["x-request-id"]
    assert check["error"] == (
        "the source could not be reached or refused the connection; "
        f"an administrator finds why under correlation id {correlation}"
    )
    started = (await api.graphql(steward, SCAN, source=named))["data"]["startScan"]
    assert started["scanId"] is None
    assert [e["__typename"] for e in started["errors"]] == ["ConnectionFailedError"]
    assert fake.received == []
    details = [e["detail"] for e in await api.events(request_id=correlation)]
    assert any("not a source secret" in d for d in details), details
    secret = api.auth.hs_secret.get_secret_value()
    assert not any(secret in d for d in details)


async def test_failures_read_alike_whatever_failed(
    api: Api, fake: FakePostgres, named: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    """Refused by policy, nothing listening, or a server that hangs up: the same words, so a
    connection test is no port scanner."""
    steward = api.token("steward")
    database = settings.neo4j.database
    errors = []
    for port, ref in ((fake.port, "file:/etc/shadow"), (1, f"env:{ALLOWED}")):
        config = DataSourceConfig(
            name=named, kind="postgresql", port=port, user="datawave", secret_ref=ref,
            timeout_s=2,
        )  # fmt: skip
        await register_source(neo4j, database, config)
        check = (await api.graphql(steward, TEST, source=named))["data"]["testDataSource"]["check"]
        errors.append(check["error"].replace(check["correlationId"], "<id>"))
    assert len(set(errors)) == 1, errors


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "pg").write_text(ALLOWED_VALUE + "\n")
    (folder / "escape").symlink_to("/etc/hostname")
    return folder


@pytest.fixture(scope="module")
async def strict(suite_settings: Settings, secrets_dir: Path) -> AsyncIterator[Served]:
    """The API with no host allowed a cleartext password, and a secrets directory."""
    policy = SourceSettings(cleartext_hosts=[], secrets_dir=secrets_dir)
    async with serve(suite_settings.model_copy(update={"sources": policy})) as served:
        yield served


async def test_a_password_goes_in_clear_nowhere_the_operator_did_not_allow(
    api: Api, fake: FakePostgres, named: str, strict: Served, secrets_dir: Path
) -> None:
    admin = api.token("admin")
    async with api.on(strict):
        for ref in (f"env:{ALLOWED}", f"file:{secrets_dir}/pg"):
            body = await registered(api, admin, **source(named, fake.port, secretRef=ref))
            assert [(e["__typename"], e["field"]) for e in body["errors"]] == [
                ("RefusedError", "host")
            ], body
            assert "only over TLS" in body["errors"][0]["message"]
        for ref in (f"file:{secrets_dir}/escape", f"file:{secrets_dir}/../pg"):
            body = await registered(
                api, admin, **source(named, fake.port, secretRef=ref, tls="REQUIRE")
            )
            assert ("RefusedError", "secretRef") in [
                (e["__typename"], e["field"]) for e in body["errors"]
            ], body
        # Without a password there is nothing to protect: it connects, so the server records.
        body = await registered(api, admin, **source(named, fake.port, secretRef=None))
        assert body["errors"] == [], body
        await api.graphql(admin, TEST, source=named)
    assert len(fake.received) == 1 and b"datawave" in fake.received[0]
    assert not fake.saw(ALLOWED_VALUE)


async def test_the_control_the_fake_server_does_catch_a_cleartext_password(
    api: Api, fake: FakePostgres, named: str
) -> None:
    """On the default policy loopback may get a password in clear (the local demo needs it):
    the fake server then sees it, which proves the tests above would have caught a leak."""
    admin = api.token("admin")
    body = await registered(api, admin, **source(named, fake.port))
    assert body["errors"] == [], body
    await api.graphql(admin, TEST, source=named)
    assert fake.saw(ALLOWED_VALUE)


async def test_tls_required_means_no_word_in_clear(
    api: Api, fake: FakePostgres, named: str
) -> None:
    """With tls: require a server that offers no TLS gets no login at all (drivers that would
    fall back to plain TCP, like aiomysql, are held to it too)."""
    admin = api.token("admin")
    for port in (fake.port, 3306):
        kind = "postgresql" if port == fake.port else "mariadb"
        body = await registered(api, admin, **source(named, port, kind=kind, tls="REQUIRE"))
        assert body["errors"] == [], body
        check = (await api.graphql(admin, TEST, source=named))["data"]["testDataSource"]["check"]
        assert check["status"] == "UNREACHABLE", (kind, check)
        details = [e["detail"] for e in await api.events(request_id=check["correlationId"])]
        assert any("TLS" in d or "SSL" in d for d in details), details
    assert fake.received and not fake.saw(ALLOWED_VALUE)
    assert not any(b"datawave" in data for data in fake.received), "no startup message either"


async def test_a_secret_path_that_is_no_path_is_refused_in_words(
    api: Api, fake: FakePostgres, named: str, strict: Served, secrets_dir: Path
) -> None:
    """A NUL byte in ``file:`` (JSON's ``\\u0000``) made the path check raise: an internal
    error instead of a ``RefusedError``, and a stored one broke ``testDataSource``."""
    admin = api.token("admin")
    async with api.on(strict):
        ref = f"file:{secrets_dir}/pg\x00"
        input = source(named, fake.port, secretRef=ref, tls="REQUIRE")
        body = await api.graphql(admin, REGISTER, input=input)
        assert "errors" not in body, body
        errors = body["data"]["registerDataSource"]["errors"]
        assert [(e["__typename"], e["field"]) for e in errors] == [("RefusedError", "secretRef")]
    assert fake.received == []
