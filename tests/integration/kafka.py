"""Reading Kafka the way tests check what reached a topic."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

from core.settings import Settings


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of ``topic`` ends now: what a test reads from, or waits to drain."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.kafka.topic_partitions)]
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()
