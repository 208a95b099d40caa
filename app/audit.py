"""The audit sink: every sensitive act is recorded in Neo4j and on Kafka, or it does not happen.

``record`` writes the event to Neo4j (append-only, durable on commit) and publishes it to
``datawave.audit.v1``; if either fails it raises ``AuditUnavailable`` so that the caller (a
mutation, a sensitive read) fails instead of going unrecorded.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aiokafka import AIOKafkaProducer
from neo4j import AsyncDriver

from graph.audit import append_audit_events
from ingest.topics import AUDIT

Outcome = Literal["allowed", "denied", "failed", "succeeded"]


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
