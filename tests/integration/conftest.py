"""Fixtures of the integration tests that build catalogs of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from tests.integration.estate import Estate


@pytest.fixture
async def estate(neo4j: AsyncDriver, settings: Settings, unique: str) -> AsyncIterator[Estate]:
    """An empty estate builder for source ``unique``; what it wrote is deleted afterwards."""
    yield Estate(unique)
    await Estate.drop(neo4j, settings.neo4j.database, unique)
