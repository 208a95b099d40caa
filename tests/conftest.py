"""Shared fixtures. Nothing here starts a service: `make test` brought the stack up.

Tests share one Neo4j database and one Kafka cluster, so each test works inside names it
owns (``unique`` gives one) and never wipes data it did not create.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from neo4j import AsyncDriver

from app.settings import Settings
from graph.driver import open_driver


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(_env_file=None)


@pytest.fixture
def unique() -> str:
    """A short name no other test uses (sources, topics, consumer groups)."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
async def neo4j(settings: Settings) -> AsyncIterator[AsyncDriver]:
    async with open_driver(settings.neo4j) as driver:
        yield driver
