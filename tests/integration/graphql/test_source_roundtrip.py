"""Every field of a data source registered through the CLI or GraphQL is the field a scan reads.

The three hand-written field maps this replaces had drifted (``timeoutS`` and ``sampleSize``
given at registration were silently dropped); now ``core.sources.DataSourceConfig`` is the only
one, and this test registers a value different from the default for each of its fields, for
every connector kind, through each door.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from neo4j import AsyncDriver

from core.settings import Settings
from core.sources import DataSourceConfig
from core.urns import source_urn
from graph.driver import write
from graph.sources import get_source
from ingest.connectors.base import registry
from security.auth import mint_token
from tests.integration.graphql.conftest import Served, bearer

REGISTER = """
mutation ($input: DataSourceInput!) {
  registerDataSource(input: $input) { dataSource { name } errors { __typename message } }
}
"""
READ = """
query ($id: ID!) {
  node(id: $id) {
    ... on DataSource {
      name kind host port user tls configuredDatabases poolSize timeoutS sampleSize profileRows
      exactCountLimit sampleDocuments
    }
  }
}
"""
DROP = "MATCH (s:DataSource {name: $name}) DETACH DELETE s"


def every_field(name: str, kind: str) -> DataSourceConfig:
    """A config whose every field differs from its default."""
    values: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "host": "localhost",
        "port": 15_000 + len(kind),
        "user": "roundtrip",
        "secret_ref": "env:DATAWAVE_SOURCE_ROUNDTRIP",
        "tls": "require",
        "databases": ["first", "second"],
        "pool_size": 7,
        "timeout_s": 30.5,
        "sample_size": 5,
        "profile_rows": 250,
        "exact_count_limit": 42,
        "sample_documents": 17,
    }
    fields = DataSourceConfig.model_fields
    assert sorted(values) == sorted(fields), "give the new field a value here"
    config = DataSourceConfig(**values)
    defaults = {k: f.get_default(call_default_factory=True) for k, f in fields.items()}
    assert [k for k in fields if getattr(config, k) == defaults[k]] == []
    return config


def graphql_input(config: DataSourceConfig) -> dict[str, Any]:
    """The config as GraphQL variables: enums by their GraphQL names (``REQUIRE``)."""
    return config.model_dump(by_alias=True, mode="json") | {"tls": config.tls.name}


@pytest.fixture
async def names(neo4j: AsyncDriver, settings: Settings) -> Any:
    made: list[str] = []
    yield lambda kind: made.append(f"rt-{kind}-{uuid.uuid4().hex[:8]}") or made[-1]
    for name in made:
        await write(neo4j, settings.neo4j.database, DROP, name=name)


async def read_back(neo4j: AsyncDriver, settings: Settings, name: str) -> DataSourceConfig:
    """What a scan of the source starts from (``ingest.scan`` reads it this way)."""
    record = await get_source(neo4j, settings.neo4j.database, name)
    assert record is not None
    return DataSourceConfig.from_properties(record)


@pytest.mark.parametrize("kind", sorted(registry.kinds()))
async def test_graphql_registration_keeps_every_field(
    kind: str, names: Any, served: Served, settings: Settings, neo4j: AsyncDriver
) -> None:
    config = every_field(names(kind), kind)
    admin = mint_token(settings.auth, f"admin-{uuid.uuid4().hex[:6]}", ["admin"])
    async with httpx.AsyncClient(base_url=served.url, headers=bearer(admin)) as http:
        body = (await http.post("/graphql", json={
            "query": REGISTER, "variables": {"input": graphql_input(config)},
        })).json()  # fmt: skip
        read = (await http.post("/graphql", json={
            "query": READ, "variables": {"id": source_urn(config.name)},
        })).json()  # fmt: skip
    assert body["data"]["registerDataSource"]["errors"] == [], body
    assert await read_back(neo4j, settings, config.name) == config
    sent = graphql_input(config)  # issue 12 (4): and every setting reads back through the API
    shown = {k: sent[k] for k in sent if k not in ("secretRef", "databases")}
    assert read["data"]["node"] == shown | {"configuredDatabases": sent["databases"]}


@pytest.mark.parametrize("kind", sorted(registry.kinds()))
async def test_cli_registration_keeps_every_field(
    kind: str, names: Any, settings: Settings, neo4j: AsyncDriver, tmp_path: Path
) -> None:
    config = every_field(names(kind), kind)
    source_file = tmp_path / "source.yaml"
    source_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    datawave = Path(sys.executable).parent / "datawave"
    result = await asyncio.to_thread(
        subprocess.run,
        [str(datawave), "source", "add", "--file", str(source_file)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert await read_back(neo4j, settings, config.name) == config
