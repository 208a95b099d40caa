"""Kafka topics DataWave owns, created at start-up by the API and the workers."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

DISCOVERY = "datawave.discovery.v1"
LINEAGE = "datawave.lineage.v1"
CHANGES = "datawave.changes.v1"
DLQ = "datawave.dlq.v1"
AUDIT = "datawave.audit.v1"
COMPLIANCE = "datawave.compliance.v1"  # findings opened and resolved, scores (governance/)
MESH = "datawave.mesh.v1"  # data-product workflow steps, with a correlation id (mesh/)
ALL_TOPICS = (DISCOVERY, LINEAGE, CHANGES, DLQ, AUDIT, COMPLIANCE, MESH)


async def ensure_topics(admin: AIOKafkaAdminClient, partitions: int) -> list[str]:
    """Create the missing topics; return the names created (existing ones are left alone)."""
    existing = set(await admin.list_topics())
    missing = [t for t in ALL_TOPICS if t not in existing]
    if not missing:
        return []
    # Another replica may win the race; the topic is then there, which is all we need.
    with contextlib.suppress(TopicAlreadyExistsError):
        await admin.create_topics(
            [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
        )
    return missing
