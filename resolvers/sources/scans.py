"""Scan history: ``scan(id)`` and ``scans(source)``, read from the ``:Scan`` nodes each scan
writes (graph/scans.py), so a scan's outcome is there after the fact, not only to a subscriber.

A scan is visible to whoever may read its source (``source:read`` in the source's scope);
another's reads as missing.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry

from graph import scans
from graph.records import plain
from live import changes
from resolvers.common import Connection, Edge, PageInfo, timestamp
from resolvers.context import Info
from resolvers.live.types import ScanProgress
from resolvers.pagination import check_page_size, keyset_cursor, timed_position
from resolvers.permissions import needs
from security.rbac import permission

SOURCE_READ = permission("source:read")
DEFAULT_SCANS = 20


@strawberry.enum(
    description="A scan's outcome: RUNNING until it ends (its stages are live on scanProgress); "
    "INTERRUPTED while it waits out an outage, RESUMED once it goes on after one."
)
class ScanStatus(Enum):
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    RESUMED = "resumed"
    FINISHED = "finished"
    FAILED = "failed"


@strawberry.type(description="One scan of a data source: its outcome and counters.")
class Scan:
    id: strawberry.ID
    source: str
    status: ScanStatus
    started_at: datetime | None
    finished_at: datetime | None
    events: int | None = strawberry.field(description="Discovery events it published.")
    tables: int | None
    columns: int | None
    error: str | None = strawberry.field(description="Why it failed.")
    interruptions: int = strawberry.field(
        default=0, description="Outages (Kafka, Neo4j, the source) it waited out and resumed after."
    )
    warnings: list[str] = strawberry.field(
        default_factory=list,
        description="What it could not do fully, going on without it: objects the source lists "
        "but would not read (catalogued unprofiled), view SQL whose lineage did not parse, "
        "databases that refused or were not found. The first 100.",
    )
    warning_count: int = strawberry.field(
        default=0, description="How many warnings it had (`warnings` keeps the first 100)."
    )
    state: strawberry.Private[changes.ScanProgress | None] = None

    @strawberry.field(
        description="Its last reported state (stage, counts, percent), as scanProgress sends "
        "it; kept a day after the scan's last report."
    )
    async def progress(self, info: Info) -> ScanProgress | None:
        state = self.state or await changes.scan_state(info.context.state.redis, str(self.id))
        return ScanProgress.from_pydantic(state) if state else None

    @classmethod
    def started(cls, first: changes.ScanProgress) -> Self:
        """A scan just started, from its first state."""
        return cls(
            id=strawberry.ID(first.scan_id),
            source=first.source,
            status=ScanStatus.RUNNING,
            started_at=first.at,
            finished_at=None,
            events=0,
            tables=0,
            columns=0,
            error=None,
            state=first,
        )

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Self:
        p = plain(props)
        return cls(
            id=p["id"],
            source=p["source"],
            status=ScanStatus(p.get("status") or "running"),
            started_at=timestamp(p, "startedAt"),
            finished_at=timestamp(p, "finishedAt"),
            events=p.get("events"),
            tables=p.get("tables"),
            columns=p.get("columns"),
            error=p.get("error"),
            interruptions=p.get("interruptions") or 0,
            warnings=p.get("warnings") or [],
            warning_count=p.get("warningCount") or 0,
        )


@strawberry.type
class ScanQuery:
    @strawberry.field(
        description="A scan by id, if you may read its source.", extensions=needs("source:read")
    )
    async def scan(self, info: Info, id: strawberry.ID) -> Scan | None:
        found = await scans.get_scan(*info.context.graph, str(id))
        if found is None or not info.context.guard.can(SOURCE_READ, source=found["source"]):
            return None
        return Scan.from_props(found)

    @strawberry.field(
        description="Scans of a data source, newest first.", extensions=needs("source:read")
    )
    async def scans(
        self, info: Info, source: str, first: int = DEFAULT_SCANS, after: str | None = None
    ) -> Connection[Scan]:
        check_page_size(first)
        position = timed_position(after, "scans")
        driver, database = info.context.graph
        visible = info.context.guard.can(SOURCE_READ, source=source)
        rows = (
            await scans.scan_page(driver, database, source, first + 1, position) if visible else []
        )

        async def count() -> int:
            return await scans.count_scans(driver, database, source) if visible else 0

        edges = [
            Edge(node=Scan.from_props(row), position=lambda p=at: keyset_cursor(p))
            for row, at in rows[:first]
        ]
        end = keyset_cursor(rows[:first][-1][1]) if rows else None
        return Connection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=end),
            count=count,
        )
