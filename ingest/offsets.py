"""Kafka offsets for consumers that commit by hand (the ingest worker, the change relay, the
classification consumer): what to commit after a batch, and committing only what is still ours.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

log = logging.getLogger("datawave.offsets")


def commit_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    """The next offset to read per partition, once ``records`` are handled."""
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    return offsets


async def commit_owned(consumer: AIOKafkaConsumer, offsets: Mapping[TopicPartition, int]) -> None:
    """Commit the offsets of the partitions ``consumer`` still owns. A partition that moved to
    another member meanwhile is delivered there again from its last commit (at least once)."""
    assigned = consumer.assignment()
    owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
    if not owned:
        return
    try:
        await consumer.commit(owned)
    except CommitFailedError as err:
        log.warning("offsets not committed after a rebalance; delivered again: %s", err)
