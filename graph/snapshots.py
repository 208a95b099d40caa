"""A table snapshot prepared for writing: every row it may write, built without the graph.

Preparing is most of a batch's Python work; done apart from the transaction, the worker does it
for the next batch while Neo4j writes the current one. What depends on the graph (is the
snapshot stale, does it make a version, which edges to prune) is decided in the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.events import Event, TableDiscovered
from graph.assets import TableRows, table_rows
from graph.driver import Record
from graph.layouts import Layout, layout
from graph.lineage import lineage_rows
from graph.timestamps import event_time


@dataclass(frozen=True)
class Snapshot:
    event: Event
    time: datetime
    layout: Layout
    rows: TableRows
    lineage: Record

    @property
    def urn(self) -> str:
        return self.event.subject


def snapshot(e: Event) -> Snapshot:
    data: TableDiscovered = e.data
    return Snapshot(e, event_time(e), layout(data.columns), table_rows(e), lineage_rows(e))
