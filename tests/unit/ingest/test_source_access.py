"""The operator's policy for sources: which secrets resolve and which hosts a connector may reach.

Issue 11: a steward registered ``env:DATAWAVE_AUTH__HS_SECRET`` (or ``file:/etc/shadow``) on a
server of theirs and the API sent the secret there. Each refusal here is one of that attack's
ways; each acceptance is something the local demo needs.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.settings import IngestSettings, Settings, SourceSettings
from core.sources import DataSourceConfig, TlsMode
from ingest.connectors.base import Connector, ServerInfo
from ingest.source_access import SecretError, SourceAccess, SourceRefused

ENVIRON = {
    "DATAWAVE_SOURCE_PASSWORD": "datawave",
    "DATAWAVE_SOURCE_PG_SALES": "pg-sales-pw",
    "DATAWAVE_AUTH__HS_SECRET": "the-api-signing-key",
    "datawave_auth__hs_secret": "read by pydantic-settings too",
    "DATAWAVE_NEO4J__PASSWORD": "graph-pw",
    "AWS_SECRET_ACCESS_KEY": "cloud",
}


def access(environ: dict[str, str] = ENVIRON, **policy: Any) -> SourceAccess:
    settings = Settings(_env_file=None, sources=SourceSettings(**policy))
    return SourceAccess.from_settings(settings, environ)


def source(host: str = "127.0.0.1", port: int = 5432, **extra: Any) -> DataSourceConfig:
    values = {"name": "pg", "kind": "postgresql", "secret_ref": "env:DATAWAVE_SOURCE_PASSWORD"}
    return DataSourceConfig(**values | {"host": host, "port": port, **extra})


def test_env_secrets_resolve_only_under_the_allowed_prefix() -> None:
    policy = access()
    assert policy.secret("env:DATAWAVE_SOURCE_PASSWORD") == "datawave"
    assert policy.secret("env:DATAWAVE_SOURCE_PG_SALES") == "pg-sales-pw"
    for ref in ("env:AWS_SECRET_ACCESS_KEY", "env:DATAWAVE_AUTH__HS_SECRET", "env:HOME"):
        with pytest.raises(SourceRefused, match="not a source secret"):
            policy.secret(ref)
    with pytest.raises(SecretError, match="DATAWAVE_SOURCE_UNSET is not set"):
        policy.secret("env:DATAWAVE_SOURCE_UNSET")


def test_datawaves_own_settings_are_refused_whatever_the_prefix() -> None:
    policy = access(secret_env_prefixes=["DATAWAVE_", "datawave_", ""])
    for ref in (
        "env:DATAWAVE_AUTH__HS_SECRET",
        "env:datawave_auth__hs_secret",  # pydantic-settings reads names in any case
        "env:DATAWAVE_NEO4J__PASSWORD",
        "env:DATAWAVE_MASKING__HASH_KEY",
        "env:DATAWAVE_SOURCES__SECRETS_DIR",
    ):
        with pytest.raises(SourceRefused, match="DataWave's own settings"):
            policy.check_secret_ref(ref)
    # The stack's source account password is a setting meant for sources.
    assert policy.secret("env:DATAWAVE_SOURCE_PASSWORD") == "datawave"
    assert policy.secret("env:AWS_SECRET_ACCESS_KEY") == "cloud"  # the operator allowed all


def test_file_secrets_resolve_only_inside_the_secrets_directory(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    (secrets / "pg").mkdir(parents=True)
    (secrets / "pg" / "password").write_text("s3cret\n")
    outside = tmp_path / "outside"
    outside.write_text("not yours")
    (secrets / "escape").symlink_to(outside)
    (secrets / "shadow").symlink_to("/etc/shadow")
    (secrets / "loop").symlink_to(secrets / "loop")

    with pytest.raises(SourceRefused, match="no secrets directory is configured"):
        access().secret(f"file:{secrets / 'pg' / 'password'}")
    policy = access(secrets_dir=secrets)
    assert policy.secret(f"file:{secrets}/pg/password") == "s3cret"
    for target in (
        "/etc/shadow",
        "/proc/self/environ",
        f"{secrets}/../outside",
        f"{secrets}/pg/../../outside",
        f"{secrets}/escape",
        f"{secrets}/shadow",
        f"{secrets}/loop",
        str(secrets),
        "pg/password",
    ):
        with pytest.raises(SourceRefused, match="outside the secrets directory"):
            policy.secret(f"file:{target}")
    with pytest.raises(SecretError, match="cannot read"):
        policy.secret(f"file:{secrets}/pg/missing")


async def test_datawaves_own_services_and_metadata_addresses_are_refused() -> None:
    settings = Settings(_env_file=None)
    policy = SourceAccess.from_settings(settings, ENVIRON)
    own = [7687, 9092, 6379, 9200, 8181, settings.port]
    for host in ("127.0.0.1", "localhost", "127.0.0.2", "0.0.0.0", "::ffff:127.0.0.1"):
        for port in own:
            with pytest.raises(SourceRefused, match="DataWave's own services"):
                await policy.admit(source(host, port))
    for host in ("169.254.169.254", "fe80::1", "fd00:ec2::254"):
        with pytest.raises(SourceRefused, match="denied network"):
            await policy.admit(source(host, tls=TlsMode.VERIFY))
    with pytest.raises(SourceRefused, match="does not resolve"):
        await policy.admit(source("no-such-host.invalid"))
    for port in (3306, 5432, 27017):  # the local demo sources
        await policy.admit(source("127.0.0.1", port))


async def test_companion_ports_and_denied_services_are_refused() -> None:
    """Neo4j's HTTP ports, the Kafka controller and OpenSearch's transport listen beside the
    ports the settings name; the operator denies others by host:port."""
    settings = Settings(
        _env_file=None,
        ingest=IngestSettings(metrics_port=9464),
        sources=SourceSettings(denied_services=["127.0.0.1:7000", "[::1]:7001"]),
    )
    policy = SourceAccess.from_settings(settings, ENVIRON)
    for port in (7474, 7473, 9093, 9300, 9464, 7000, 7001):
        with pytest.raises(SourceRefused, match="DataWave's own services"):
            await policy.admit(source("localhost", port))
    await policy.admit(source("127.0.0.1", 7002))
    for entry in ("127.0.0.1", "127.0.0.1:http", ":7000"):
        with pytest.raises(ValidationError, match="host:port"):
            SourceSettings(denied_services=[entry])


async def test_the_allow_list_names_networks_or_hosts() -> None:
    policy = access(allowed_hosts=["10.0.0.0/8", "localhost"])
    await policy.admit(source("localhost", tls=TlsMode.REQUIRE))
    await policy.admit(source("10.1.2.3", tls=TlsMode.REQUIRE))
    with pytest.raises(SourceRefused, match="not in DATAWAVE_SOURCES__ALLOWED_HOSTS"):
        await policy.admit(source("127.0.0.1"))
    with pytest.raises(SourceRefused, match="not in DATAWAVE_SOURCES__ALLOWED_HOSTS"):
        await policy.admit(source("192.168.1.5", tls=TlsMode.REQUIRE))


async def test_a_password_travels_in_clear_only_to_allowed_hosts() -> None:
    policy = access()
    await policy.admit(source("127.0.0.1"))  # loopback: the default cleartext hosts
    with pytest.raises(SourceRefused, match="only over TLS"):
        await policy.admit(source("10.1.2.3"))
    await policy.admit(source("10.1.2.3", tls=TlsMode.REQUIRE))
    await policy.admit(source("10.1.2.3", secret_ref=None))  # no password, nothing to protect
    with pytest.raises(SourceRefused, match="only over TLS"):
        await access(cleartext_hosts=[]).admit(source("127.0.0.1"))


class Recording(Connector[Any]):
    """Counts the connections it would open."""

    standard_port = 5432
    connections = 0

    async def _server(self) -> ServerInfo:
        Recording.connections += 1
        return ServerInfo("16", [])

    async def _counts(self, databases: list[str]) -> dict[str, int]:
        return {}

    async def _listing(self, database: str) -> dict[str, list[Any]]:
        return {}

    async def _describe(self, database: str, schema: str, spec: Any) -> Any:
        raise NotImplementedError


async def test_a_refused_source_is_never_connected_to() -> None:
    """Whatever the graph holds (a source registered before the policy, or written directly),
    the connector checks it again before connecting."""
    policy = access()
    refused = [
        source("127.0.0.1", 7687),
        source("169.254.169.254", tls=TlsMode.REQUIRE),
        source(secret_ref="env:DATAWAVE_AUTH__HS_SECRET"),
        source(secret_ref="file:/etc/shadow"),
    ]
    for config in refused:
        checked = await Recording(config, policy).validate()
        assert checked.status == "unreachable"
        assert "the-api-signing-key" not in (checked.error or "")
    assert Recording.connections == 0
    assert (await Recording(source(), policy).validate()).status == "reachable"
    assert Recording.connections == 1


async def test_own_services_are_refused_on_every_address_of_this_machine() -> None:
    """Services bound to 0.0.0.0 answer on the machine's other addresses too."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet: picks the outgoing address
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(SourceRefused, match="DataWave's own services"):
        await access().admit(source(address, 7687, tls=TlsMode.REQUIRE))
