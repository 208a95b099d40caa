"""Stream ports: the Kafka topic a data product publishes, created with the configured
partitions and retention (``DATAWAVE_MESH__*``)."""

from __future__ import annotations

import re

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from core.settings import MeshSettings
from mesh.errors import StreamFailed

LEGAL = re.compile(r"[^A-Za-z0-9._-]")


def topic_name(cfg: MeshSettings, domain: str, product: str, port: str) -> str:
    """``<prefix><domain>.<product>.<port>``, with characters Kafka refuses replaced."""
    name = LEGAL.sub("_", f"{cfg.stream_topic_prefix}{domain}.{product}.{port}")
    if len(name) > 249:
        raise StreamFailed(f"topic name {name[:60]}... is longer than Kafka's 249", "streams")
    return name


async def create_topic(admin: AIOKafkaAdminClient, cfg: MeshSettings, topic: str) -> bool:
    """Create ``topic``; False if it existed already (it is then used as it is)."""
    new = NewTopic(
        name=topic,
        num_partitions=cfg.stream_partitions,
        replication_factor=cfg.stream_replication,
        topic_configs={"retention.ms": str(cfg.stream_retention_ms)},
    )
    try:
        response = await admin.create_topics([new])
    except TopicAlreadyExistsError:
        return False
    except KafkaError as err:
        raise StreamFailed(f"Kafka refused topic {topic}: {err}", "streams") from err
    for name, code, *message in getattr(response, "topic_errors", []):
        if code == TopicAlreadyExistsError.errno:
            return False
        if code:
            why = (message and message[0]) or f"error code {code}"
            raise StreamFailed(f"Kafka refused topic {name}: {why}", "streams")
    return True
