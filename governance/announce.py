"""Policy transitions announced on ``datawave.compliance.v1`` (CloudEvents
``datawave.policy.transitioned.v1``, keyed by the policy URN so one policy's stay in order),
beside the audit trail that records who asked for them."""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaError

from core.events import Event
from core.topics import COMPLIANCE
from live.state import AppState

log = logging.getLogger("datawave.governance")
TRANSITIONED = "datawave.policy.transitioned.v1"


async def announce_transition(
    state: AppState, actor: str, policy: str, version: int, to: str, rule_set: int | None = None
) -> None:
    """The transition is written: a lost announcement is logged, not a failed mutation."""
    data = {"version": version, "state": to, "actor": actor, "ruleSetVersion": rule_set}
    event = Event(source=policy, type=TRANSITIONED, subject=policy, data=data)
    try:
        await (await state.producer.send(COMPLIANCE, event.to_bytes(), key=event.key))
    except KafkaError as err:
        log.warning("transition of %s v%d to %s not announced: %s", policy, version, to, err)
