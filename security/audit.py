"""The audit sink: every sensitive act is recorded in Neo4j and on Kafka, or it does not happen.

``record`` writes the event to Neo4j (append-only, durable on commit) and publishes it to
``datawave.audit.v1``; if either fails it raises ``AuditUnavailable`` so that the caller (a
mutation, a sensitive read) fails instead of going unrecorded. ``record_later`` is for events
whose loss must not fail the response (denials, refusals, outcomes); ``RequestAudit`` gathers
the events of one request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aiokafka import AIOKafkaProducer
from neo4j import AsyncDriver

from core.topics import AUDIT
from graph.audit import append_audit_events

log = logging.getLogger("datawave.audit")

Outcome = Literal["allowed", "denied", "failed", "succeeded"]
MAX_DETAIL = 500


class AuditUnavailable(Exception):
    """The audit trail cannot be written; the audited action must not proceed."""


@dataclass(frozen=True)
class AuditEvent:
    actor: str
    action: str
    resource: str
    outcome: Outcome
    request_id: str
    client_address: str
    detail: str = ""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def as_row(self) -> dict[str, str]:
        row = asdict(self)
        return {
            "id": row["id"], "actor": self.actor, "action": self.action,
            "resource": self.resource, "outcome": self.outcome, "requestId": self.request_id,
            "clientAddress": self.client_address, "detail": self.detail, "at": self.at,
        }  # fmt: skip


@dataclass(frozen=True)
class AuditSink:
    neo4j: AsyncDriver
    database: str
    producer: AIOKafkaProducer
    timeout_s: float = 5.0
    _background: set[asyncio.Task[None]] = field(default_factory=set, compare=False)

    async def record(self, *events: AuditEvent) -> None:
        rows = [e.as_row() for e in events]
        try:
            async with asyncio.timeout(self.timeout_s):
                await append_audit_events(self.neo4j, self.database, rows)
                sends = [
                    await self.producer.send(
                        AUDIT, json.dumps(row).encode(), key=row["actor"].encode()
                    )
                    for row in rows
                ]
                await asyncio.gather(*sends)
        except Exception as err:
            raise AuditUnavailable(f"audit trail unavailable: {type(err).__name__}") from err

    def record_later(self, *events: AuditEvent) -> None:
        """Record without holding up the caller (a loss is logged). For events whose timing
        must not tell the client anything, such as a denial that only an existing asset
        causes. ``drain`` waits for what is still being written."""
        task = asyncio.create_task(self._record_or_log(events))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        while self._background:
            await asyncio.gather(*self._background)

    async def _record_or_log(self, events: tuple[AuditEvent, ...]) -> None:
        try:
            await self.record(*events)
        except AuditUnavailable as err:
            log.error("%d audit event(s) lost: %s", len(events), err)


@dataclass
class RequestAudit:
    """The audit events of one request or operation, noted as they happen and recorded
    together (one Neo4j transaction) before its response leaves.

    Notes with the same action, resource and outcome merge (their details are joined), so a
    page of a hundred sensitive columns costs a hundred events, not one per field read.
    """

    sink: AuditSink
    actor: str
    request_id: str
    client_address: str
    # Sensitive values are in the response: it must not leave unless they are recorded.
    holds_sensitive: bool = False
    _pending: dict[tuple[str, str, Outcome], set[str]] = field(default_factory=dict)

    def event(self, action: str, resource: str, outcome: Outcome, detail: str = "") -> AuditEvent:
        return AuditEvent(
            actor=self.actor,
            action=action,
            resource=resource,
            outcome=outcome,
            request_id=self.request_id,
            client_address=self.client_address,
            detail=detail[:MAX_DETAIL],
        )

    def note(self, action: str, resource: str, outcome: Outcome, detail: str = "") -> None:
        self._pending.setdefault((action, resource, outcome), set()).add(detail)

    @property
    def quiet(self) -> bool:
        """Nothing noted: no denial, no sensitive read, nothing the trail must hear of."""
        return not (self._pending or self.holds_sensitive)

    def note_sensitive_read(self, column: str, field_name: str) -> None:
        self.holds_sensitive = True
        self.note("read:sensitive", column, "allowed", field_name)

    async def record(self, action: str, resource: str, outcome: Outcome, detail: str = "") -> None:
        """Record one event now; raises ``AuditUnavailable`` (the action must not proceed)."""
        await self.sink.record(self.event(action, resource, outcome, detail))

    async def flush(self) -> None:
        """Record what was noted, now; raises ``AuditUnavailable`` (those events are lost)."""
        if events := self._take():
            await self.sink.record(*events)

    def flush_later(self) -> None:
        """Record what was noted after the response (``AuditSink.record_later``)."""
        if events := self._take():
            self.sink.record_later(*events)

    def _take(self) -> list[AuditEvent]:
        events = [
            self.event(action, resource, outcome, ", ".join(sorted(d for d in details if d)))
            for (action, resource, outcome), details in self._pending.items()
        ]
        self._pending.clear()
        self.holds_sensitive = False
        return events
