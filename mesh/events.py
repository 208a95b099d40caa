"""Workflow steps on ``datawave.mesh.v1``: one CloudEvent per step, keyed by its subject, with
the workflow's correlation id, sent after the step's transaction committed."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from core.events import MESH_STEP, CorrelatedEvent, MeshStep
from core.topics import MESH

log = logging.getLogger("datawave.mesh")


async def emit(
    producer: AIOKafkaProducer, *, source: str, subject: str, correlation: str, action: str,
    actor: str, product: str | None = None, version: str | None = None, **detail: Any,
) -> CorrelatedEvent:  # fmt: skip
    """Send one step. The graph already holds it, so a Kafka failure is logged, not raised:
    the step is done and the audit trail records it either way."""
    event = CorrelatedEvent(
        source=source,
        type=MESH_STEP,
        subject=subject,
        correlationid=correlation,
        data=MeshStep(action=action, actor=actor, product=product, version=version, detail=detail),
    )
    try:
        await producer.send_and_wait(MESH, event.to_bytes(), key=event.key)
    except KafkaError as err:
        log.warning("mesh step %s of %s not sent: %s", action, subject, err)
    return event
