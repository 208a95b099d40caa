"""Load tables into Neo4j with amundsen-databuilder; runs in its own venv (old neo4j driver).

    <amundsen venv>/bin/python amundsen_publish.py TABLES.jsonl --publisher csv --tag TAG

``TABLES.jsonl`` holds one table a line (``bench/ingest_support/amundsen.py`` writes it from
the discovery events). The job is the one Amundsen documents: an extractor yielding
``TableMetadata``, ``FsNeo4jCSVLoader`` staging CSV files, then ``Neo4jCsvPublisher`` (``csv``)
or its batched successor ``Neo4jCsvUnwindPublisher`` (``unwind``). Prints one JSON line:
seconds to stage and to publish, and the constraints it created (the caller drops them).

Against Neo4j 5 both publishers fail as shipped: they create their key constraints with
``CREATE CONSTRAINT ON (n:Label) ASSERT n.key IS UNIQUE``, syntax removed in Neo4j 5
(``Neo.ClientError.Statement.SyntaxError``). Here the constraints are created beforehand in
Neo4j 5 syntax and the publishers' own attempt is skipped; nothing else is changed. Their
driver (neo4j 4.4) also turns TLS on for ``bolt://`` unless ``neo4j_encrypted`` is false.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from databuilder.extractor.base_extractor import Extractor
from databuilder.loader.file_system_neo4j_csv_loader import FsNeo4jCSVLoader
from databuilder.models.table_metadata import ColumnMetadata, TableMetadata
from databuilder.publisher.neo4j_csv_publisher import Neo4jCsvPublisher
from databuilder.publisher.neo4j_csv_unwind_publisher import Neo4jCsvUnwindPublisher
from databuilder.task.task import DefaultTask
from neo4j import GraphDatabase
from pyhocon import ConfigFactory, ConfigTree


class TablesExtractor(Extractor):
    """``TableMetadata`` records from the JSON lines file named by ``tables_file``."""

    def init(self, conf: ConfigTree) -> None:
        self._records = self._read(Path(conf.get_string("tables_file")))

    @staticmethod
    def _read(path: Path) -> Iterator[TableMetadata]:
        with path.open() as lines:
            for line in lines:
                t = json.loads(line)
                columns = [
                    ColumnMetadata(c["name"], None, c["type"], c["sort_order"])
                    for c in t["columns"]
                ]
                yield TableMetadata(
                    t["database"], t["cluster"], t["schema"], t["name"], t["description"],
                    columns, is_view=t["is_view"],
                )  # fmt: skip

    def extract(self) -> Any:
        return next(self._records, None)

    def get_scope(self) -> str:
        return "extractor.datawave_tables"


class CsvPublisher(Neo4jCsvPublisher):
    def _create_indices(self, node_file: str) -> None:
        """Skipped: ``ensure_constraints`` created them in a syntax Neo4j 5 accepts."""


class UnwindPublisher(Neo4jCsvUnwindPublisher):
    def pre_publish_node_file(self, node_file: str) -> None:
        """Skipped: ``ensure_constraints`` created them in a syntax Neo4j 5 accepts."""


PUBLISHERS = {"csv": CsvPublisher, "unwind": UnwindPublisher}


def node_labels(node_dir: Path) -> set[str]:
    labels = set()
    for f in node_dir.iterdir():
        with f.open(newline="") as rows:
            labels |= {row["LABEL"] for row in csv.DictReader(rows)}
    return labels


def ensure_constraints(uri: str, auth: tuple[str, str], labels: set[str], prefix: str) -> list[str]:
    """Unique ``key`` per label, as the publishers want, named ``prefix + label``; return the
    names of those created (where no such constraint existed)."""
    created = []
    with GraphDatabase.driver(uri, auth=auth) as driver, driver.session() as session:
        existing = {
            r["labelsOrTypes"][0]
            for r in session.run(
                "SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type "
                "WHERE type = 'UNIQUENESS' AND properties = ['key'] RETURN labelsOrTypes"
            )
        }
        for label in sorted(labels - existing):
            name = prefix + label.lower()
            session.run(f"CREATE CONSTRAINT {name} FOR (n:`{label}`) REQUIRE n.key IS UNIQUE")
            created.append(name)
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tables", type=Path)
    parser.add_argument("--publisher", choices=sorted(PUBLISHERS), default="csv")
    parser.add_argument("--tag", required=True, help="published_tag of every node and edge")
    parser.add_argument("--constraint-prefix", required=True, help="names of constraints made")
    parser.add_argument("--uri", default="bolt://127.0.0.1:7687")
    parser.add_argument("--user", default="neo4j")
    args = parser.parse_args()
    auth = (args.user, os.environ["NEO4J_PASSWORD"])

    with tempfile.TemporaryDirectory(prefix="amundsen-") as tmp:
        nodes, relations = Path(tmp, "nodes"), Path(tmp, "relations")
        conf = ConfigFactory.from_dict(
            {
                "extractor.datawave_tables.tables_file": str(args.tables),
                "loader.filesystem_csv_neo4j.node_dir_path": str(nodes),
                "loader.filesystem_csv_neo4j.relationship_dir_path": str(relations),
                "loader.filesystem_csv_neo4j.delete_created_directories": False,
                "publisher.neo4j.node_files_directory": str(nodes),
                "publisher.neo4j.relation_files_directory": str(relations),
                "publisher.neo4j.neo4j_endpoint": args.uri,
                "publisher.neo4j.neo4j_user": auth[0],
                "publisher.neo4j.neo4j_password": auth[1],
                "publisher.neo4j.neo4j_encrypted": False,
                "publisher.neo4j.job_publish_tag": args.tag,
            }
        )
        started = time.perf_counter()
        task = DefaultTask(extractor=TablesExtractor(), loader=FsNeo4jCSVLoader())
        task.init(conf)
        try:
            task.run()
        finally:
            task.close()
        staged = time.perf_counter()
        constraints = ensure_constraints(args.uri, auth, node_labels(nodes), args.constraint_prefix)
        publisher = PUBLISHERS[args.publisher]()
        publisher.init(conf.get_config("publisher.neo4j"))
        publishing = time.perf_counter()
        publisher.publish()
        done = time.perf_counter()
    stage_s, publish_s = staged - started, done - publishing
    print(json.dumps({"stage_s": stage_s, "publish_s": publish_s, "constraints": constraints}))


if __name__ == "__main__":
    main()
