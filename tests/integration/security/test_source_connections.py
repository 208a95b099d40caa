"""Where a source's connections go, and what a reader of the source learns when they fail.

DNS rebinding: the host was checked against the operator's policy, then each driver resolved
it again when it connected, so a name that answered an allowed address at the check could
answer 127.0.0.1 (DataWave's own services, a refused network) at connect time. A resolver
seam (``SourceAccess.resolver``) plays that DNS: the connectors now connect to the addresses
the check saw, on the real MariaDB, PostgreSQL and FerretDB on loopback.

``lastError``: anyone with ``source:read`` (viewers) read the driver's words, which named
DataWave's own address as the server saw it, the secret reference, the operator's networks.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from neo4j import AsyncDriver

from core.events import SOURCE_CHECKED
from core.settings import IngestSettings, Settings, SourceSettings
from core.sources import DataSourceConfig
from core.urns import source_urn
from graph.sources import register_source
from ingest.connectors.base import Failure, connector_for
from ingest.scan import run_scan
from ingest.source_access import Address, SourceAccess
from ingest.worker import Worker
from tests.factories import eventually, running
from tests.integration.cleanup import drop_sources
from tests.integration.security.conftest import Api

NAME = "db.pinning.test"  # no DNS answers it: only the seam does
PASSWORD_ENV = "DATAWAVE_SOURCE_CONNECTIONS_SUITE"
WRONG_ENV = "DATAWAVE_SOURCE_CONNECTIONS_WRONG"
ENGINES = [("mariadb", 3306), ("postgresql", 5432), ("mongodb", 27017)]
SOURCE = "query ($id: ID!) { node(id: $id) { ... on DataSource { name status lastError } } }"


def answering(table: dict[str, str]) -> Any:
    """A resolver that answers each name of ``table`` with its address, as DNS would."""

    async def resolve(host: str, port: int) -> Sequence[Address]:
        return [ipaddress.ip_address(table[host])]

    return resolve


def config(kind: str, port: int, host: str, **extra: Any) -> DataSourceConfig:
    sql = kind != "mongodb"
    values: dict[str, Any] = {
        "name": f"pin-{kind}", "kind": kind, "host": host, "port": port, "timeout_s": 5,
        "user": "datawave" if sql else None,
        "secret_ref": f"env:{PASSWORD_ENV}" if sql else None,
        "databases": ["postgres"] if kind == "postgresql" else [],
    }  # fmt: skip
    return DataSourceConfig(**values | extra)


@pytest.fixture(autouse=True)
def passwords(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    monkeypatch.setenv(WRONG_ENV, "not-the-password")


@pytest.mark.parametrize(("kind", "port"), ENGINES)
async def test_a_scan_connects_to_the_address_its_check_saw(kind: str, port: int) -> None:
    """The name resolves (through the seam) to loopback, where the server is; before, the
    driver resolved the name again itself and reached nothing."""
    access = SourceAccess.from_settings(
        Settings(_env_file=None), resolver=answering({NAME: "127.0.0.1"})
    )
    async with connector_for(config(kind, port, NAME), access) as connector:
        events = [e async for e in connector.discover("scan-pinned")]
    check = events[0]
    assert (check.type, check.data.status) == (SOURCE_CHECKED, "reachable"), check.data.error
    assert check.data.host == NAME  # the source is still known by its name


@pytest.mark.parametrize(("kind", "port"), ENGINES)
async def test_a_rebound_name_reaches_no_address_the_check_refused(kind: str, port: int) -> None:
    """The policy refuses 127.0.0.1; the check's answer for ``localhost`` is 127.0.0.2 (nothing
    listens there), the system's is 127.0.0.1, where the real server is. Before, the scan
    reached the refused address (``reachable``); now it goes where the check looked."""
    policy = SourceSettings(denied_hosts=["127.0.0.1/32"])
    access = SourceAccess.from_settings(
        Settings(_env_file=None, sources=policy), resolver=answering({"localhost": "127.0.0.2"})
    )
    async with connector_for(config(kind, port, "localhost", timeout_s=2), access) as connector:
        checked = await connector.validate()
    assert checked.status == "unreachable", checked


async def test_last_error_says_what_failed_not_the_drivers_words(
    api: Api,
    unique: str,
    settings: Settings,
    ingest_cfg: IngestSettings,
    neo4j: AsyncDriver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A scan of a source whose password is wrong, and of one whose secret reference the
    policy refuses: a viewer reads the kind of failure; the driver's words (DataWave's address
    as the server saw it, the secret reference) go to the log only."""
    database = settings.neo4j.database
    own = settings.model_copy(update={"ingest": ingest_cfg})
    worker = Worker(ingest_cfg, settings.kafka, neo4j, database)
    wrong, refused = f"{unique}-wrong", f"{unique}-refused"
    sources = {
        wrong: ("mariadb", 3306, f"env:{WRONG_ENV}"),
        refused: ("postgresql", 5432, "env:DATAWAVE_AUTH__HS_SECRET"),
    }
    caplog.set_level(logging.WARNING, "datawave.sources")
    viewer = api.token("viewer")

    async def read() -> dict[str, Any]:
        nodes = [await api.graphql(viewer, SOURCE, id=source_urn(name)) for name in sources]
        return {n["data"]["node"]["name"]: n["data"]["node"] for n in nodes}

    async def checked() -> bool:
        return all(s["status"] == "UNREACHABLE" for s in (await read()).values())

    scans = {}
    try:
        for name, (kind, port, ref) in sources.items():
            source = DataSourceConfig(
                name=name, kind=kind, port=port, user="datawave", secret_ref=ref
            )
            await register_source(neo4j, database, source)
            scans[name] = await run_scan(own, neo4j, name, ingest_timeout_s=5)
        async with running(worker):
            await eventually(checked, 60)
        seen = await read()
    finally:
        await drop_sources(settings, neo4j, *sources)
    assert seen[wrong]["lastError"] == "authentication failed", seen
    assert seen[refused]["lastError"] == "refused by the operator's source policy", seen
    for name in sources:
        assert scans[name].stage == "failed"
        assert scans[name].error == f"source {name} unreachable: {seen[name]['lastError']}"
    logged = caplog.text
    assert "Access denied for user 'datawave'@" in logged  # the detail, for the operator
    assert "DATAWAVE_AUTH__HS_SECRET is not a source secret" in logged


@pytest.mark.parametrize(
    ("kind", "port", "extra", "failure"),
    [
        ("mariadb", 3306, {"secret_ref": f"env:{WRONG_ENV}"}, Failure.AUTHENTICATION),
        ("postgresql", 5432, {"secret_ref": f"env:{WRONG_ENV}"}, Failure.AUTHENTICATION),
        ("mongodb", 27017, {"user": "datawave", "secret_ref": f"env:{WRONG_ENV}"},
         Failure.AUTHENTICATION),
        ("mariadb", 3306, {"tls": "require"}, Failure.TLS),  # the local servers offer none
        ("postgresql", 5432, {"tls": "require"}, Failure.TLS),
        ("postgresql", 1, {}, Failure.UNREACHABLE),
        ("mariadb", 3306, {"secret_ref": "file:/etc/shadow"}, Failure.REFUSED),
        ("mariadb", 3306, {"secret_ref": "env:DATAWAVE_SOURCE_UNSET_HERE"}, Failure.SECRET),
    ],
)  # fmt: skip
async def test_each_engines_failures_read_as_their_kind(
    kind: str, port: int, extra: dict[str, Any], failure: Failure
) -> None:
    """What a scan publishes as the source's check (its ``lastError``), from the real servers."""
    cfg = config(kind, port, "127.0.0.1", **extra)
    async with connector_for(cfg, SourceAccess.from_settings(Settings(_env_file=None))) as c:
        events = [e async for e in c.discover("scan-failing")]
    assert [(e.type, e.data.status, e.data.error) for e in events] == [
        (SOURCE_CHECKED, "unreachable", str(failure))
    ]
