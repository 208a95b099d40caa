"""Discovery events for tests, built with the contract's own models (``make_event``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from core.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    ColumnInfo,
    ContainerDiscovered,
    ContainerScanned,
    Event,
    ForeignKey,
    LineageEdge,
    Payload,
    SourceChecked,
    TableDiscovered,
    listing_parts,
    make_event,
)
from core.urns import column_urn, database_urn, schema_urn, source_urn, table_urn

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def columns(*specs: str) -> list[ColumnInfo]:
    """``"id:int"``, ``"email:varchar?"`` (``?`` = nullable), in ordinal order."""
    out = []
    for i, spec in enumerate(specs, start=1):
        name, data_type = spec.split(":")
        out.append(
            ColumnInfo(
                name=name,
                data_type=data_type.rstrip("?"),
                nullable=data_type.endswith("?"),
                ordinal=i,
            )
        )
    return out


@dataclass(frozen=True)
class Source:
    """One source with one database and one schema (``db.public``), scanned at ``time``."""

    name: str
    time: datetime = T0
    db: str = "db"
    schema: str = "public"

    def at(self, minutes: float) -> Source:
        return Source(self.name, T0 + timedelta(minutes=minutes), self.db, self.schema)

    def _event(self, event_type: str, subject: str, data: Payload) -> Event:
        event = make_event(event_type, self.urn, subject, data)
        return event.model_copy(update={"time": self.time})

    @property
    def urn(self) -> str:
        return source_urn(self.name)

    @property
    def schema_urn(self) -> str:
        return schema_urn(self.name, self.db, self.schema)

    def table_urn(self, table: str) -> str:
        return table_urn(self.name, self.db, self.schema, table)

    def column_urn(self, table: str, column: str) -> str:
        return column_urn(self.table_urn(table), column)

    def checked(self) -> Event:
        data = SourceChecked(
            name=self.name, kind="postgresql", host="127.0.0.1", port=5432, status="reachable"
        )
        return self._event(SOURCE_CHECKED, self.urn, data)

    def containers(self) -> list[Event]:
        db = database_urn(self.name, self.db)
        return [
            self._event(
                CONTAINER_DISCOVERED,
                db,
                ContainerDiscovered(kind="database", name=self.db, parent_urn=self.urn),
            ),
            self._event(
                CONTAINER_DISCOVERED,
                self.schema_urn,
                ContainerDiscovered(kind="schema", name=self.schema, parent_urn=db),
            ),
        ]

    def table(
        self,
        name: str,
        cols: list[ColumnInfo],
        *,
        kind: str = "table",
        fks: dict[str, tuple[str, str]] | None = None,
        lineage: list[tuple[str, str]] | None = None,
    ) -> Event:
        """``fks``: {column: (ref table, ref column)}; ``lineage``: (upstream, downstream) URNs."""
        data = TableDiscovered(
            name=name,
            kind=kind,
            schema_urn=self.schema_urn,
            columns=cols,
            primary_key=[cols[0].name],
            foreign_keys=[
                ForeignKey(
                    name=f"fk_{name}_{col}",
                    columns=[col],
                    ref_table_urn=self.table_urn(ref_table),
                    ref_columns=[ref_col],
                )
                for col, (ref_table, ref_col) in (fks or {}).items()
            ],
            lineage=[LineageEdge(upstream_urn=u, downstream_urn=d) for u, d in lineage or []],
        )
        return self._event(TABLE_DISCOVERED, self.table_urn(name), data)

    def scanned(self, *tables: str) -> Event:
        data = ContainerScanned(children=[self.table_urn(t) for t in tables])
        return self._event(CONTAINER_SCANNED, self.schema_urn, data)

    def scanned_in_parts(self, budget: int, *tables: str) -> list[Event]:
        """The schema's listing as the connectors send one too large for an event: in parts
        of at most ``budget`` bytes of URNs."""
        parts = listing_parts([self.table_urn(t) for t in tables], None, budget)
        return [self._event(CONTAINER_SCANNED, self.schema_urn, part) for part in parts]


def shop(source: Source) -> list[Event]:
    """A small estate: customers, orders (FK to customers) and a view joining both."""
    customer_cols = columns("id:int", "email:varchar?", "name:varchar")
    order_cols = columns("id:int", "customer_id:int", "total:numeric?")
    view_cols = columns("email:varchar?", "total:numeric?")
    lineage = [
        (source.table_urn("customers"), source.table_urn("big_orders")),
        (source.table_urn("orders"), source.table_urn("big_orders")),
        (source.column_urn("customers", "email"), source.column_urn("big_orders", "email")),
        (source.column_urn("orders", "total"), source.column_urn("big_orders", "total")),
    ]
    return [
        source.checked(),
        *source.containers(),
        source.table("customers", customer_cols),
        source.table("orders", order_cols, fks={"customer_id": ("customers", "id")}),
        source.table("big_orders", view_cols, kind="view", lineage=lineage),
        source.scanned("customers", "orders", "big_orders"),
    ]


class Consumer(Protocol):
    """A Kafka consumer loop: the ingest worker or the classification consumer."""

    async def run(self) -> object: ...
    def stop(self) -> None: ...


@asynccontextmanager
async def running(*workers: Consumer) -> AsyncIterator[None]:
    """Run workers in this loop; on exit stop them (each finishes its batch) and re-raise."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            w.stop()
        await asyncio.gather(*tasks)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 60) -> None:
    """Poll a condition on the services (a count, a lag) until it holds, for a minute at most."""
    async with asyncio.timeout(timeout_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)
