"""Ingest, end to end: the scale-N demo estate from Kafka into Neo4j, side by side with a naive
path and with amundsen-databuilder's Neo4j publishers, on the local stack.

    .venv/bin/python bench/ingest.py [--scale 100] [--runs 3] [--workers 1]
                                     [--no-naive] [--no-amundsen] [--no-reads]

Input: the discovery events the real connectors produce for the scale-N demo estate (scale
100: 5 000 tables, views and collections, about 10^5 columns), captured once into
``~/.cache/datawave/bench/`` (``ingest_support/estate.py``) and published to a fresh topic.

1. DataWave: ``python -m ingest.worker`` with its default settings drains the topic. Timed from
   its first partition assignment until its group has committed the last offset; its RSS is
   sampled every 0.1 s (printed at 0, 25, 50, 75 and 100 % of the run), and the CPU the
   workers, Neo4j and Kafka spent meanwhile is printed per column. The median of
   ``--runs`` runs is reported. ``--scale 1000`` is the 10^6-column estate (50,000 tables,
   about 1.3 million columns).
2. Naive: the same worker with ``batch_size=1``: one event per transaction (and offset commit).
3. Rescan: the same events again, each with a new id and an hour later (a full rescan that
   finds nothing new), drained by a fresh group into the graph the last DataWave run left.
   Its Neo4j writes (what Neo4j reported each statement changed: nodes, relationships,
   properties, labels, summed from the workers' ``datawave_neo4j_writes_total``) are compared
   with the first scan's; the target is at most 10 %.
4. Reads at this size (``bench/ingest_support/reads.py``): ``assets`` pages with filters,
   ``search``, ``lineage`` and ``impact`` through ``datawave serve`` with its cache off, each
   for 40 distinct subjects of the area, p50 and p95; compare two ``--scale``s. ``--no-reads``
   skips them.
5. Amundsen: the same tables and columns as ``TableMetadata`` records, staged as CSV by
   ``FsNeo4jCSVLoader`` and loaded by ``Neo4jCsvPublisher`` and by its batched successor
   ``Neo4jCsvUnwindPublisher`` (amundsen-databuilder 7.5.1, in its own venv under
   ``~/.cache/datawave/bench-venvs/``, made on first use). Timed: the publisher alone.

Each path starts from an empty area of the graph (the bench's own sources ``bench-acme-*``,
Amundsen's nodes by their ``published_tag``), and the bench removes what it wrote and its
topics at the end. Each DataWave path is checked: every table, column and version is in the
graph, and the naive path's graph is identical to the batched one (a digest of every node,
edge and property). Results: docs/benchmarks.md.
"""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this file's directory comes first on sys.path and its name would shadow
    # the project's `ingest` package: put the repository there instead.
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    runpy.run_module("bench.ingest_support.main", run_name="__main__")
