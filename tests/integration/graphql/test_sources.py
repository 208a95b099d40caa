"""Data-source mutations against the local PostgreSQL: register, test, scan (with progress)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from core.urns import source_urn
from live.broadcast import PREFIX
from live.changes import scan_channel
from tests.integration.estate import Estate
from tests.integration.graphql.conftest import Execute

REGISTER = """
mutation ($input: DataSourceInput!) {
  registerDataSource(input: $input) {
    dataSource { id name kind port user status configuredDatabases }
    errors { __typename message ... on InvalidInputError { field } }
  }
}
"""
TEST = """
mutation ($source: String!) {
  testDataSource(source: $source) {
    check { status serverVersion error databases }
    errors { __typename message }
  }
}
"""
SCAN = """
mutation ($source: String!) { startScan(source: $source) { scanId errors { message } } }
"""
PASSWORD_ENV = "DATAWAVE_TEST_SOURCE_PASSWORD"


@pytest.fixture
def postgres(settings: Settings, monkeypatch: pytest.MonkeyPatch, estate: Estate) -> dict:
    """The local PostgreSQL as source ``estate.name`` (deleted afterwards); its database does
    not exist, so a scan of it publishes one event only."""
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())
    return {
        "name": estate.name,
        "kind": "postgresql",
        "port": 5432,
        "user": "datawave",
        "secretRef": f"env:{PASSWORD_ENV}",
        "databases": [f"{estate.name}_absent"],
    }


async def register(execute: Execute, **source: Any) -> dict:
    return (await execute(REGISTER, input=source))["registerDataSource"]


async def test_register_checks_the_config_like_a_connector(
    execute: Execute, postgres: dict
) -> None:
    for change, field in (
        ({"name": "Not A Slug"}, "name"),
        ({"kind": "oracle"}, "kind"),
        ({"port": 0}, "port"),
        ({"secretRef": "hunter2"}, "secretRef"),
    ):
        result = await register(execute, **postgres | change)
        assert result["dataSource"] is None
        assert [(e["__typename"], e["field"]) for e in result["errors"]] == [
            ("InvalidInputError", field)
        ], change
    result = await register(execute, **postgres)
    assert result == {
        "dataSource": {
            "id": source_urn(postgres["name"]),
            "name": postgres["name"],
            "kind": "postgresql",
            "port": 5432,
            "user": "datawave",
            "status": "registered",
            "configuredDatabases": postgres["databases"],
        },
        "errors": [],
    }


async def test_test_data_source_reports_reachability(execute: Execute, postgres: dict) -> None:
    await register(execute, **postgres | {"databases": ["postgres"]})
    check = (await execute(TEST, source=postgres["name"]))["testDataSource"]
    assert check["errors"] == []
    assert check["check"]["status"] == "reachable", check
    assert check["check"]["serverVersion"]
    await register(execute, **postgres | {"port": 1, "databases": ["postgres"]})
    down = (await execute(TEST, source=postgres["name"]))["testDataSource"]["check"]
    assert (down["status"], bool(down["error"])) == ("unreachable", True)
    missing = (await execute(TEST, source=f"{postgres['name']}-missing"))["testDataSource"]
    assert [e["__typename"] for e in missing["errors"]] == ["NotFoundError"]


async def test_start_scan_publishes_progress(
    execute: Execute, postgres: dict, settings: Settings
) -> None:
    await register(execute, **postgres)
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.psubscribe(PREFIX + scan_channel("*"))
    try:
        result = (await execute(SCAN, source=postgres["name"]))["startScan"]
        assert result["errors"] == []
        channel = (PREFIX + scan_channel(result["scanId"])).encode()
        stages = []
        async with asyncio.timeout(60):
            while not stages or stages[-1] not in ("finished", "failed"):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message and message["channel"] == channel:
                    progress = json.loads(message["data"])
                    stages.append(progress["stage"])
        assert stages[0] == "validate"
        assert stages[-1] == "failed", "its database does not exist"
        assert "unreachable" in progress["error"]
    finally:
        await pubsub.aclose()
        await redis.aclose()
