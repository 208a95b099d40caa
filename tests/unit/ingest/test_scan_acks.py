"""What a scan counts as acknowledged across its attempts, and how it follows the ingest."""

from __future__ import annotations

import asyncio

from aiokafka.structs import RecordMetadata, TopicPartition

from core.events import CONTAINER_DISCOVERED, TABLE_DISCOVERED
from ingest.scan import ScanProgress, _Acks


def delivered(partition: int, offset: int) -> asyncio.Future[RecordMetadata]:
    future = asyncio.get_running_loop().create_future()
    future.set_result(
        RecordMetadata("t", partition, TopicPartition("t", partition), offset, 0, 0, 0)
    )
    return future


async def test_a_resumed_attempt_counts_each_acknowledged_target_once() -> None:
    acks = _Acks()
    acks.add((CONTAINER_DISCOVERED, "urn:db", 0, delivered(0, 10)))
    acks.add((TABLE_DISCOVERED, "urn:a", 3, delivered(0, 11)))
    acks.add((TABLE_DISCOVERED, "urn:a", 3, delivered(1, 4)))  # sent again: ack lost before
    acks.add((TABLE_DISCOVERED, "urn:b", 2, delivered(1, 5)))
    progress = acks.counted(ScanProgress("s", "src", "discover", events=9, tables=7, columns=1))
    assert (progress.events, progress.tables, progress.columns) == (3, 2, 5)


async def test_the_ingest_is_complete_once_committed_past_every_attempt() -> None:
    acks = _Acks()
    acks.add((TABLE_DISCOVERED, "urn:b", 1, delivered(0, 20)))  # a later attempt
    acks.add((TABLE_DISCOVERED, "urn:a", 1, delivered(0, 12)))  # settled after it
    assert acks.offsets.ingested({0: 13}) == (1, False)
    assert acks.offsets.ingested({0: 21}) == (9, True)
