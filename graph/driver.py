"""The async Neo4j driver and the two ways we talk to it: explicit read and write transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction

from app.settings import Neo4jSettings

Record = dict[str, Any]


@asynccontextmanager
async def open_driver(cfg: Neo4jSettings, **options: Any) -> AsyncIterator[AsyncDriver]:
    """One driver per process; its pool is shared by every request."""
    options.setdefault("notifications_min_severity", "OFF")
    driver = AsyncGraphDatabase.driver(
        cfg.uri, auth=(cfg.user, cfg.password.get_secret_value()), **options
    )
    try:
        yield driver
    finally:
        await driver.close()


async def _collect(
    tx: AsyncManagedTransaction, query: LiteralString, params: Mapping[str, Any]
) -> list[Record]:
    result = await tx.run(query, params)
    return [record.data() async for record in result]


async def read(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one read query in a managed (retried) read transaction."""
    async with driver.session(database=database) as session:
        return await session.execute_read(_collect, query, params)


async def write(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one write query in a managed (retried) write transaction."""
    async with driver.session(database=database) as session:
        return await session.execute_write(_collect, query, params)
