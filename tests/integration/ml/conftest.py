"""A classification service on the session's shared classifier, with its own model registry,
topics and consumer group; what it wrote under the test's source is deleted afterwards. The API
under uvicorn, and principals named after the test to call it with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from neo4j import AsyncDriver

from core.sample_cipher import SampleCipher
from core.settings import Settings
from graph import labels
from graph.driver import write
from ml.service import ClassificationService, label_rows
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from security.auth import mint_token
from tests.integration.cleanup import drop_classified
from tests.integration.graphql.conftest import Served, bearer, serve
from tests.ml_support import shared_classifier


@pytest.fixture
async def classification(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> AsyncIterator[ClassificationService]:
    db = settings.neo4j.database
    cfg = ClassifierSettings(
        registry=unique, topic=unique, group_id=unique, changes_topic=f"{unique}-changes"
    )
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    cipher = SampleCipher.from_settings(settings.kafka)
    yield ClassificationService(neo4j, db, cfg, shared_classifier(), f"{unique}:1", cipher)
    await drop_classified(settings, neo4j, unique)


@pytest.fixture(scope="session")
async def ml_api(settings: Settings) -> AsyncIterator[Served]:
    """The API under uvicorn for the classification tests' GraphQL calls."""
    async with serve(settings) as served:
        yield served


@pytest.fixture
async def graphql(
    ml_api: Served, neo4j: AsyncDriver, settings: Settings, unique: str
) -> AsyncIterator[GraphQL]:
    """Run GraphQL as principals named after the test; their audit events go afterwards."""
    async with httpx.AsyncClient(base_url=ml_api.url, timeout=60) as client:
        yield GraphQL(client, settings, unique)
    await ml_api.app.state.datawave.audit.drain()
    query = "MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name DELETE e"
    await write(neo4j, settings.neo4j.database, query, name=unique)


@dataclass(frozen=True)
class GraphQL:
    client: httpx.AsyncClient
    settings: Settings
    unique: str

    def token(self, role: str, *permissions: str) -> str:
        subject = f"{self.unique}-{role}-{'-'.join(permissions) or 'plain'}"
        return mint_token(self.settings.auth, subject, [role], permissions=list(permissions))

    async def __call__(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        """The response's JSON (``data`` and ``errors``)."""
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return response.json()
