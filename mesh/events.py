"""Workflow steps on ``datawave.mesh.v1``: one CloudEvent per step, keyed by its subject, with
the workflow's correlation id, sent after the step's transaction committed; a product's steps
also go to its subscribers on every replica (``productEvents``, the Redis ``mesh:<product>``
channel)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from core.events import MESH_STEP, CorrelatedEvent, MeshStep
from core.topics import MESH
from core.urns import Urn
from live.broadcast import publish
from live.state import AppState

log = logging.getLogger("datawave.mesh")


def product_channel(product: str) -> str:
    return f"mesh:{product}"


class ProductStep(CorrelatedEvent):
    """A step as a product's channel carries it: the event with its ``data`` a ``MeshStep``."""

    data: MeshStep


async def emit(
    state: AppState, *, source: str, subject: str, correlation: str, action: str, actor: str,
    product: str | None = None, version: str | None = None, **detail: Any,
) -> CorrelatedEvent:  # fmt: skip
    """Send one step. The graph already holds it, so a Kafka or Redis failure is logged, not
    raised: the step is done and the audit trail records it either way."""
    event = CorrelatedEvent(
        source=source,
        type=MESH_STEP,
        subject=subject,
        correlationid=correlation,
        data=MeshStep(action=action, actor=actor, product=product, version=version, detail=detail),
    )
    try:
        await state.producer.send_and_wait(MESH, event.to_bytes(), key=event.key)
    except KafkaError as err:
        log.warning("mesh step %s of %s not sent: %s", action, subject, err)
    if product is not None:
        try:
            await publish(state.redis, product_channel(product), event.model_dump(mode="json"))
        except RedisError as err:
            log.warning("mesh step %s of %s not broadcast: %s", action, subject, err)
    return event


async def emit_request(
    state: AppState, request: Mapping[str, Any], action: str, actor: str,
    version: str | None = None, **detail: Any,
) -> None:  # fmt: skip
    """A step of an access request (or of the grant it became) under its correlation id, about
    ``version`` (unless said, the one its grant is bound to: the requested one, or the one the
    consumer migrated to)."""
    version = version or request.get("boundTo") or request["version"]
    await emit(
        state, source=str(Urn.of("domain", Urn.parse(version).path[0])), subject=version,
        correlation=request["correlationId"], action=action, actor=actor,
        product=request["product"], version=version, request=request["urn"],
        team=request["team"], **detail,
    )  # fmt: skip
