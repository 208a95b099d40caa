"""A small catalog written with plain Cypher (docs/graph-model.md), owned by one test's source.

Every node carries the test's unique source name (teams, labels and domains are prefixed with
it, data products are ``urn:dw:product:<name>/...``), so ``tests.integration.cleanup.drop_sources``
deletes exactly what the test created and nothing else in the shared database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from neo4j import AsyncDriver

from core.urns import column_urn, database_urn, schema_urn, source_urn, table_urn, version_urn
from graph.driver import write

CONTAINERS = """
MERGE (s:DataSource {urn: $source})
SET s.name = $name, s.kind = 'postgresql', s.host = '127.0.0.1', s.port = 5432,
    s.status = 'reachable', s.databases = ['db']
MERGE (d:Asset {urn: $databaseUrn})
SET d:Database, d.name = 'db', d.nameLower = 'db', d.source = $name
MERGE (sc:Asset {urn: $schema}) SET sc:Schema, sc.name = 'public', sc.nameLower = 'public',
    sc.source = $name
MERGE (s)-[:CONTAINS]->(d)
MERGE (d)-[:CONTAINS]->(sc)
"""
TABLES = """
UNWIND $rows AS row
MATCH (sc:Asset {urn: $schema})
MERGE (t:Asset {urn: row.urn})
SET t:Table, t.name = row.name, t.nameLower = toLower(row.name), t.source = $name,
    t.schemaUrn = $schema, t.kind = row.kind, t.rowCount = row.rowCount,
    t.description = row.description, t.descriptionLower = toLower(row.description),
    t.removedAt = datetime(row.removedAt),
    t.lastSeenAt = datetime('2026-11-22T10:00:00Z')
MERGE (sc)-[:CONTAINS]->(t)
WITH t, row
UNWIND row.columns AS c
MERGE (col:Asset {urn: c.urn})
SET col:Column, col.name = c.name, col.nameLower = toLower(c.name), col.source = $name,
    col.dataType = c.dataType, col.nullable = true, col.ordinal = c.ordinal,
    col.removedAt = t.removedAt
MERGE (t)-[:HAS_COLUMN]->(col)
"""
FEEDS = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.from}), (b:Asset {urn: row.to})
MERGE (a)-[r:FEEDS {via: row.via}]->(b)
SET r.kind = 'view', r.since = datetime('2026-11-22T10:00:00Z')
"""
JOBS = """
UNWIND $rows AS row
MERGE (j:Job {urn: row.urn}) SET j.name = row.name, j.kind = 'view', j.source = $name
WITH j, row
MATCH (t:Asset {urn: row.writes})
MERGE (j)-[:WRITES]->(t)
"""
LABELS = """
UNWIND $rows AS row
MATCH (c:Asset {urn: row.column})
MERGE (l:Label {name: row.label})
SET l.category = row.category, l.sensitivity = row.sensitivity
MERGE (c)-[r:LABELED]->(l)
SET r.status = row.status, r.confidence = 0.9, r.method = 'pattern',
    r.at = datetime('2026-11-22T10:00:00Z'), r.evidence = row.evidence,
    r.explanation = row.explanation
"""
# A data product of domain ``<name>-<domain>`` exposing assets (graph/domains.py).
PRODUCTS = """
UNWIND $rows AS row
MERGE (d:Domain {name: row.domain})
MERGE (p:DataProduct {urn: row.urn})
SET p.name = row.domain + ' product'
MERGE (p)-[:IN_DOMAIN]->(d)
WITH p, row
UNWIND row.exposes AS exposed
MATCH (a:Asset {urn: exposed})
MERGE (p)-[:EXPOSES]->(a)
"""
OWNERS = """
UNWIND $rows AS row
MATCH (a:Asset {urn: row.urn})
MERGE (t:Team {name: row.team})
MERGE (t)-[:OWNS]->(a)
"""
VERSIONS = """
UNWIND $rows AS row
MATCH (t:Asset {urn: row.table})
MERGE (v:SchemaVersion {urn: row.urn})
SET v.name = row.name, v.source = $name, v.version = row.version, v.columns = row.columns,
    v.capturedAt = datetime('2026-11-22T10:00:00Z'), v.fingerprint = row.urn
MERGE (t)-[:HAS_VERSION]->(v)
"""


@dataclass
class Estate:
    """Builder for one source ``name`` with database ``db`` and schema ``public``."""

    name: str
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            k: [] for k in ("tables", "feeds", "jobs", "labels", "owners", "versions", "products")
        }
    )

    @property
    def schema(self) -> str:
        return schema_urn(self.name, "db", "public")

    def table_urn(self, table: str) -> str:
        return table_urn(self.name, "db", "public", table)

    def column_urn(self, table: str, column: str) -> str:
        return column_urn(self.table_urn(table), column)

    def table(
        self,
        name: str,
        columns: tuple[str, ...] = ("id", "email"),
        *,
        kind: str = "table",
        row_count: int | None = None,
        description: str | None = None,
        removed: bool = False,
    ) -> str:
        urn = self.table_urn(name)
        self.rows["tables"].append(
            {
                "urn": urn,
                "name": name,
                "kind": kind,
                "rowCount": row_count,
                "description": description,
                "removedAt": "2026-11-23T00:00:00Z" if removed else None,
                "columns": [
                    {"urn": column_urn(urn, c), "name": c, "dataType": "varchar", "ordinal": i}
                    for i, c in enumerate(columns, start=1)
                ],
            }
        )
        return urn

    def feeds(self, upstream: str, downstream: str, via: str | None = None) -> None:
        job = via or f"urn:dw:job:{self.name}/{downstream.rsplit('/', 1)[-1]}"
        self.rows["feeds"].append({"from": upstream, "to": downstream, "via": job})

    def job(self, urn: str, name: str, writes: str) -> None:
        self.rows["jobs"].append({"urn": urn, "name": name, "writes": writes})

    def label(
        self,
        column: str,
        label: str,
        *,
        status: str = "confirmed",
        sensitivity: str = "confidential",
        evidence: list[dict[str, Any]] | None = None,
        explanation: str | None = None,
    ) -> str:
        """Label ``column`` with ``<source>.<label>`` (category ``<source>``); return the name."""
        name = f"{self.name}.{label}"
        self.rows["labels"].append(
            {
                "column": column,
                "label": name,
                "category": self.name,
                "status": status,
                "sensitivity": sensitivity,
                "evidence": json.dumps(evidence) if evidence is not None else None,
                "explanation": explanation,
            }
        )
        return name

    def product(self, domain: str, *exposes: str) -> str:
        """A data product of domain ``<source>-<domain>`` exposing ``exposes``; return the
        domain's name."""
        name = f"{self.name}-{domain}"
        urn = f"urn:dw:product:{self.name}/{domain}"
        self.rows["products"].append({"domain": name, "urn": urn, "exposes": list(exposes)})
        return name

    def owner(self, urn: str, team: str) -> str:
        name = f"{self.name}-{team}"
        self.rows["owners"].append({"urn": urn, "team": name})
        return name

    def version(self, table: str, n: int, columns: list[dict[str, Any]]) -> None:
        self.rows["versions"].append(
            {
                "table": table,
                "urn": version_urn(table, n),
                "name": f"v{n}",
                "version": n,
                "columns": json.dumps(columns),
            }
        )

    async def write(self, driver: AsyncDriver, database: str) -> None:
        params = {
            "name": self.name,
            "source": source_urn(self.name),
            "databaseUrn": database_urn(self.name, "db"),
            "schema": self.schema,
        }
        await write(driver, database, CONTAINERS, **params)
        for key, query in (
            ("tables", TABLES),
            ("feeds", FEEDS),
            ("jobs", JOBS),
            ("labels", LABELS),
            ("owners", OWNERS),
            ("versions", VERSIONS),
            ("products", PRODUCTS),
        ):
            if self.rows[key]:
                await write(driver, database, query, rows=self.rows[key], **params)
            self.rows[key] = []
