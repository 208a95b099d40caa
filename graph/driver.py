"""The async Neo4j driver and the two ways we talk to it: explicit read and write transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString

from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncManagedTransaction
from prometheus_client import Counter

from core.settings import Neo4jSettings

Record = dict[str, Any]

# Also how tests prove that DataLoaders keep a page's query count bounded.
QUERIES = Counter("datawave_neo4j_queries_total", "Queries run by read() and write()", ["mode"])


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


# Rows per UNWIND statement: bounds each statement's memory while one transaction holds them all.
CHUNK = 1000


async def _collect(
    tx: AsyncManagedTransaction, query: LiteralString, params: Mapping[str, Any]
) -> list[Record]:
    result = await tx.run(query, params)
    return [record.data() async for record in result]


async def fetch(tx: AsyncManagedTransaction, query: LiteralString, **params: Any) -> list[Record]:
    """Run one query inside a transaction the caller manages and return its records."""
    return await _collect(tx, query, params)


async def write_rows(
    tx: AsyncManagedTransaction,
    query: LiteralString,
    rows: Sequence[Mapping[str, Any]],
    *,
    chunk: int = CHUNK,
) -> None:
    """Run an ``UNWIND $rows`` write in chunks, all inside the caller's transaction."""
    for start in range(0, len(rows), chunk):
        result = await tx.run(query, rows=rows[start : start + chunk])
        await result.consume()


async def read(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one read query in a managed (retried) read transaction."""
    QUERIES.labels("read").inc()
    async with driver.session(database=database) as session:
        return await session.execute_read(_collect, query, params)


async def write(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one write query in a managed (retried) write transaction."""
    QUERIES.labels("write").inc()
    async with driver.session(database=database) as session:
        return await session.execute_write(_collect, query, params)
