"""The async Neo4j driver and the two ways we talk to it: explicit read and write transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString

from neo4j import (
    READ_ACCESS,
    AsyncDriver,
    AsyncGraphDatabase,
    AsyncManagedTransaction,
    AsyncResult,
    RoutingControl,
)
from neo4j.exceptions import DriverError, Neo4jError
from prometheus_client import Counter

from core.settings import Neo4jSettings

Record = dict[str, Any]

# Also how tests prove that DataLoaders keep a page's query count bounded.
QUERIES = Counter("datawave_neo4j_queries_total", "Queries run by read() and write()", ["mode"])
# What Neo4j reports each statement changed (its own counters), by kind: what a scan or a rescan
# costs the graph (bench/ingest.py reads it from the worker's /metrics).
WRITES = Counter("datawave_neo4j_writes_total", "Changes Neo4j reported, by kind", ["kind"])
WRITE_KINDS = (
    "nodes_created", "nodes_deleted", "relationships_created", "relationships_deleted",
    "properties_set", "labels_added", "labels_removed",
)  # fmt: skip


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


# Batch writes are anchored on unique keys (``MERGE (n:Asset {urn: row.urn})``), so their plan
# never depends on the graph's size. By default Neo4j plans a cached query again once its
# labels' counts have moved by 75 % (at most every 10 s): during a first scan the graph grows
# that fast, and replanning every write took 8 % of Neo4j's CPU; skipping it, a scale-300 scan
# drains 14 % faster (docs/benchmarks.md, issue 17). Neo4j still replans after schema changes.
STABLE_PLAN = "CYPHER replan=skip "

# Rows per UNWIND statement: bounds each statement's memory while one transaction holds them all.
CHUNK = 1000


async def _counted(result: AsyncResult) -> None:
    """Consume what is left of ``result`` and count the changes Neo4j reports for it."""
    counters = (await result.consume()).counters
    if counters.contains_updates:
        for kind in WRITE_KINDS:
            if n := getattr(counters, kind):
                WRITES.labels(kind).inc(n)


async def _collect(
    tx: AsyncManagedTransaction, query: LiteralString, params: Mapping[str, Any]
) -> list[Record]:
    result = await tx.run(query, params)
    records = [record.data() async for record in result]
    await _counted(result)
    return records


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
    """Run an ``UNWIND $rows`` write in chunks, all inside the caller's transaction, with the
    plan Neo4j cached for it (``STABLE_PLAN``)."""
    for start in range(0, len(rows), chunk):
        await _counted(await tx.run(STABLE_PLAN + query, rows=rows[start : start + chunk]))


async def read(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one read query in a managed (retried) read transaction."""
    QUERIES.labels("read").inc()
    async with driver.session(database=database) as session:
        return await session.execute_read(_collect, query, params)


async def _values(result: AsyncResult) -> list[Record]:
    keys = result.keys()
    return [dict(zip(keys, record, strict=True)) async for record in result]


async def read_values(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """``read`` for queries that return values only (maps, lists, scalars, temporals; never
    nodes, relationships or paths): each row is zipped with the keys instead of exported value
    by value (``Record.data``, a tenth of a cold page's CPU).

    One statement is its own transaction (auto-commit): RUN and PULL in one round trip, without
    the BEGIN and COMMIT of a managed transaction, half the driver's CPU per read (0.31 against
    0.52 ms, docs/benchmarks.md, issue 17). Auto-commit is not retried, so a failure the driver
    deems retryable (a leader switch, a dropped connection, a deadlock) reads again through
    ``execute_query``: the managed read transaction, retried as ``read`` is."""
    QUERIES.labels("read").inc()
    try:
        async with driver.session(
            database=database, default_access_mode=READ_ACCESS, bookmark_manager=None
        ) as session:
            return await _values(await session.run(query, params))
    except (Neo4jError, DriverError) as error:
        if not error.is_retryable():
            raise
    return await driver.execute_query(
        query,
        params,
        database_=database,
        routing_=RoutingControl.READ,
        bookmark_manager_=None,  # as a plain session: no causal chaining between requests
        result_transformer_=_values,
    )


async def read_list(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """The rows of a query that returns them all as one list, ``RETURN collect(...) AS rows``.
    The driver's Python costs about 65 µs per record it receives, so a page of 100 maps read as
    one record costs a quarter of the CPU of 100 records (docs/benchmarks.md, issue 17)."""
    return (await read_values(driver, database, query, **params))[0]["rows"]


async def write(
    driver: AsyncDriver, database: str, query: LiteralString, **params: Any
) -> list[Record]:
    """Run one write query in a managed (retried) write transaction."""
    QUERIES.labels("write").inc()
    async with driver.session(database=database) as session:
        return await session.execute_write(_collect, query, params)
