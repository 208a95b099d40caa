"""The Amundsen peer: the estate's tables and columns published by amundsen-databuilder.

databuilder pins neo4j-driver 4.4, which cannot share a venv with the project's driver 6, so
it gets its own under ``~/.cache/datawave/bench-venvs/amundsen``, made with pip on first use;
``amundsen_publish.py`` runs there. The records are translated from the same discovery events:
database = the engine, cluster = the source, schema = ``<database>.<schema>``, and per column
its name, type and ordinal (Amundsen's ``TableMetadata`` has no profiles, keys, versions or
lineage, so it loads less than DataWave does).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from neo4j import AsyncDriver

from bench.ingest_support.estate import Estate, bench_sources
from core.settings import Settings
from core.urns import Urn
from graph.driver import read, write

REQUIREMENT = "amundsen-databuilder==7.5.1"
CHILD = Path(__file__).with_name("amundsen_publish.py")
PUBLISHERS = {"csv": "Neo4jCsvPublisher", "unwind": "Neo4jCsvUnwindPublisher"}
TAG_PREFIX = "dwbench-amundsen-"
CONSTRAINT_PREFIX = "dwbench_amundsen_"
CLEAR = """
MATCH (n) WHERE n.published_tag STARTS WITH $prefix
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS
"""
CONSTRAINTS = "SHOW CONSTRAINTS YIELD name WHERE name STARTS WITH $prefix RETURN name"


@dataclass(frozen=True)
class AmundsenRun:
    stage_s: float  # extract and write the CSV files
    publish_s: float  # the publisher alone


def venv_python(settings: Settings) -> Path:
    venv = settings.cache_dir / "bench-venvs" / "amundsen"
    python, marker = venv / "bin" / "python", venv / ".installed"
    if not marker.exists():
        print(f"installing {REQUIREMENT} into {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", REQUIREMENT], check=True)
        marker.write_text(REQUIREMENT + "\n")
    return python


def write_tables(estate: Estate, path: Path) -> None:
    kinds = {c.name: c.kind for c in bench_sources()}
    with path.open("w") as out:
        for t in estate.tables:
            schema = Urn.parse(t.schema_urn)
            record = {
                "database": kinds[schema.source],
                "cluster": schema.source,
                "schema": ".".join(schema.path),
                "name": t.name,
                "description": t.description,
                "is_view": t.kind == "view",
                "columns": [
                    {"name": c.name, "type": c.data_type, "sort_order": c.ordinal}
                    for c in t.columns
                ],
            }
            out.write(json.dumps(record) + "\n")


async def clear(driver: AsyncDriver, database: str) -> None:
    """Remove every node the bench published through Amundsen, and the constraints it made."""
    async with driver.session(database=database) as session:
        await (await session.run(CLEAR, prefix=TAG_PREFIX)).consume()
    for row in await read(driver, database, CONSTRAINTS, prefix=CONSTRAINT_PREFIX):
        await write(driver, database, f"DROP CONSTRAINT `{row['name']}` IF EXISTS")


async def publish(
    settings: Settings, driver: AsyncDriver, estate: Estate, publisher: str
) -> AmundsenRun:
    """Stage and publish the estate with one of ``PUBLISHERS``; the graph is cleared after."""
    python = venv_python(settings)
    neo4j = settings.neo4j
    env = os.environ | {"NEO4J_PASSWORD": neo4j.password.get_secret_value()}
    with tempfile.TemporaryDirectory(prefix="dwbench-") as tmp:
        tables = Path(tmp, "tables.jsonl")
        write_tables(estate, tables)
        command = [
            str(python), str(CHILD), str(tables), "--publisher", publisher,
            "--tag", TAG_PREFIX + uuid.uuid4().hex[:8], "--constraint-prefix", CONSTRAINT_PREFIX,
            "--uri", neo4j.uri, "--user", neo4j.user,
        ]  # fmt: skip
        try:
            done = await asyncio.to_thread(
                subprocess.run, command, env=env, capture_output=True, text=True
            )
        finally:
            await clear(driver, neo4j.database)
    if done.returncode:
        raise RuntimeError(f"amundsen {publisher} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return AmundsenRun(result["stage_s"], result["publish_s"])
