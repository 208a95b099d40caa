"""Kafka offsets for consumers that commit by hand (the ingest worker, the change relay, the
classification consumer): what to commit after a batch, and committing only what is still ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaTimeoutError

log = logging.getLogger("datawave.offsets")

# How long a commit may wait for the group's coordinator before it counts as a Kafka outage.
COMMIT_TIMEOUT_S = 10.0


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


async def commit_in_time(
    consumer: AIOKafkaConsumer,
    offsets: Mapping[TopicPartition, int],
    timeout_s: float = COMMIT_TIMEOUT_S,
) -> None:
    """``commit_owned``, raising ``KafkaTimeoutError`` (an outage core/outages.py waits out) if
    the group's coordinator does not answer within ``timeout_s``: aiokafka waits for one without
    end while the broker is away, so the consumer would hang there, deaf to SIGTERM and to its
    health (it would not say it waits for Kafka)."""
    try:
        async with asyncio.timeout(timeout_s):
            await commit_owned(consumer, offsets)
    except TimeoutError as err:
        raise KafkaTimeoutError(f"no group coordinator answered within {timeout_s}s") from err
