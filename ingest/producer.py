"""Publish events to Kafka durably: acks from all replicas, idempotent retries, compressed batches.

Events are keyed by their subject URN so one asset's events stay ordered in one partition, and
the column samples of table events are sealed for the classifier on the way out
(core/sample_cipher.py): no sample reaches Kafka in clear.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from types import TracebackType
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from core.events import MAX_EVENT_BYTES, Event
from core.sample_cipher import SampleCipher
from core.settings import KafkaSettings

# Enough for the largest valid event, and for dead-lettering an oversized one unchanged.
MAX_REQUEST_BYTES = 2 * MAX_EVENT_BYTES
# Records a producer batches for one partition before it compresses and sends them. aiokafka's
# default (16 kB) puts one OpenLineage event (~9 kB) in a batch of its own: a compressed stream, a
# checksum and a broker append per event, three times the CPU per event of a 512 kB batch
# (docs/benchmarks.md). Compressed or not, a batch stays under the broker's message limit.
BATCH_BYTES = 512 * 1024
# Delivery results are checked every this many sends, which bounds the futures held in memory.
CHECK_EVERY = 1000

Headers = Sequence[tuple[str, bytes]]


class EventProducer:
    """One aiokafka producer bound to a default topic; use as ``async with``."""

    def __init__(self, kafka: KafkaSettings, topic: str, *, linger_ms: int = 5) -> None:
        self.topic = topic
        self._cipher = SampleCipher.from_settings(kafka)
        self._producer = AIOKafkaProducer(
            **kafka.producer_options(BATCH_BYTES),
            linger_ms=linger_ms,
            max_request_size=MAX_REQUEST_BYTES,
        )

    async def __aenter__(self) -> Self:
        await self._producer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def send(
        self,
        value: bytes | None,
        key: bytes | None = None,
        *,
        topic: str | None = None,
        headers: Headers | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one raw record; the returned future resolves once the broker acknowledged it."""
        return await self._producer.send(
            topic or self.topic, value=value, key=key, headers=list(headers or [])
        )

    async def send_event(
        self, event: Event, *, topic: str | None = None
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one event, its samples sealed; the future resolves once it is acknowledged."""
        return await self.send(self._cipher.seal(event).to_bytes(), event.key, topic=topic)

    async def publish(self, event: Event, *, topic: str | None = None) -> RecordMetadata:
        """Publish one event and wait for its acknowledgement."""
        return await (await self.send_event(event, topic=topic))

    async def publish_many(
        self, events: Iterable[Event] | AsyncIterable[Event], *, topic: str | None = None
    ) -> int:
        """Publish a stream without waiting per event; flush at the end, raise on any failure."""
        pending: list[asyncio.Future[RecordMetadata]] = []
        count = 0

        async def check() -> None:
            await asyncio.gather(*pending)
            pending.clear()

        async for event in _aiter(events):
            pending.append(await self.send_event(event, topic=topic))
            count += 1
            if len(pending) >= CHECK_EVERY:
                await check()
        await self._producer.flush()
        await check()
        return count

    async def flush(self) -> None:
        await self._producer.flush()


async def _aiter(items: Iterable[Event] | AsyncIterable[Event]) -> AsyncIterator[Event]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
