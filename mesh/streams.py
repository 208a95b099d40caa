"""Stream ports: the Kafka topic a data product publishes, created with the configured
partitions and retention (``DATAWAVE_MESH__*``). A topic that exists already is used as it is,
so its port records what Kafka says it has (``describe_topic``), not what would have been
asked for: a consumer sizing its readers on the port must see the real partitions."""

from __future__ import annotations

import re

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
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


RETENTION = "retention.ms"


async def describe_topic(admin: AIOKafkaAdminClient, topic: str) -> tuple[int, int]:
    """The partitions and retention (ms; -1: kept forever) ``topic`` has on Kafka."""
    try:
        found = await admin.describe_topics([topic])
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={RETENTION: None})
        configs = await admin.describe_configs([resource])
    except KafkaError as err:
        raise StreamFailed(f"Kafka could not describe topic {topic}: {err}", "streams") from err
    described = next((t for t in found if t["topic"] == topic and not t["error_code"]), None)
    entries = [
        e for response in configs for r in response.to_object()["resources"]
        if not r["error_code"] for e in r["config_entries"] if e["config_names"] == RETENTION
    ]  # fmt: skip
    if described is None or not entries:
        raise StreamFailed(f"Kafka did not describe topic {topic}", "streams")
    return len(described["partitions"]), int(entries[0]["config_value"])
