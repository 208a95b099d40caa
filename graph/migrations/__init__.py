"""Idempotent schema migrations: ordered ``NNNN_name.cypher`` files, recorded as ``:Migration``.

Every statement uses ``IF NOT EXISTS`` so a re-run is harmless; the ``:Migration`` node only
saves work and tells operators which files a database has seen (and with what checksum).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import LiteralString, cast

from neo4j import AsyncDriver

from graph.driver import read, write

# A statement that commits in batches (``CALL { ... } IN TRANSACTIONS``) cannot run inside
# an explicit transaction: it runs as an auto-commit query.
BATCHED = "IN TRANSACTIONS"
APPLIED = "MATCH (m:Migration) RETURN m.id AS id, m.checksum AS checksum"
RECORD = """
MERGE (m:Migration {id: $id})
SET m.checksum = $checksum, m.appliedAt = datetime(), m.name = $id
"""


@dataclass(frozen=True)
class Migration:
    id: str
    statements: tuple[str, ...]
    checksum: str


def load_migrations() -> list[Migration]:
    migrations = []
    files = sorted(
        (f for f in resources.files(__package__).iterdir() if f.name.endswith(".cypher")),
        key=lambda f: f.name,
    )
    for f in files:
        text = f.read_text()
        body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))
        statements = tuple(s.strip() for s in body.split(";") if s.strip())
        checksum = hashlib.sha256(text.encode()).hexdigest()
        migrations.append(Migration(f.name.removesuffix(".cypher"), statements, checksum))
    return migrations


async def apply_migrations(driver: AsyncDriver, database: str) -> list[str]:
    """Apply the migrations this database has not seen; return the ids applied."""
    # The constraint on :Migration is itself created by the first migration; reading before it
    # exists is fine (no rows).
    seen = {r["id"]: r["checksum"] for r in await read(driver, database, APPLIED)}
    applied = []
    for m in load_migrations():
        if seen.get(m.id) == m.checksum:
            continue
        await run_statements(driver, database, m)
        await write(driver, database, RECORD, id=m.id, checksum=m.checksum)
        applied.append(m.id)
    return applied


async def run_statements(driver: AsyncDriver, database: str, migration: Migration) -> None:
    """Run a migration's statements, each alone: schema commands cannot share a transaction
    with data writes, and a backfill commits as it goes (a million nodes in one transaction
    would not fit the heap)."""
    for statement in migration.statements:
        query = cast(LiteralString, statement)
        if BATCHED not in statement:
            await write(driver, database, query)
            continue
        async with driver.session(database=database) as session:
            await (await session.run(query)).consume()
