"""Load the demo estate, scan it through Kafka into the graph and classify its columns."""

from __future__ import annotations

import os
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from neo4j import AsyncDriver

from core.sample_cipher import SampleCipher
from core.settings import IngestSettings, Settings
from devstack.demo import PASSWORD_ENV, demo_sources, load_demo
from graph.sources import register_source
from ingest.scan import ScanProgress, run_scan
from ingest.worker import Worker
from ml.consumer import ClassificationConsumer
from ml.service import open_service
from ml.settings import ClassifierSettings
from tests.factories import eventually, running


async def scan_demo(settings: Settings, neo4j: AsyncDriver) -> list[ScanProgress]:
    """The default demo estate (acme-*), loaded and scanned on a throwaway topic and group."""
    password = settings.source_password.get_secret_value()
    os.environ.setdefault(PASSWORD_ENV, password)
    await load_demo(password)
    name = f"t{uuid.uuid4().hex[:10]}"
    cfg = IngestSettings(topics=[f"{name}.discovery"], dlq_topic=f"{name}.dlq", group_id=name)
    scan_settings = settings.model_copy(update={"ingest": cfg})
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    topics = [*cfg.topics, cfg.dlq_topic]
    try:
        await admin.create_topics([NewTopic(t, settings.kafka.topic_partitions, 1) for t in topics])
        db = settings.neo4j.database
        configs = demo_sources()
        for config in configs:
            await register_source(neo4j, db, config)
        classifier = ClassifierSettings(topic=cfg.topics[0], group_id=f"{name}.classify")
        cipher = SampleCipher.from_settings(settings.kafka)
        service = await open_service(neo4j, db, classifier, cipher=cipher)
        classify = ClassificationConsumer(service, settings.kafka)
        async with running(Worker(cfg, settings.kafka, neo4j, db), classify):
            results = [await run_scan(scan_settings, neo4j, c.name) for c in configs]
            tables = sum(r.tables for r in results)

            async def classified() -> bool:  # labels follow the graph, on their own group
                return classify.stats.tables >= tables

            await eventually(classified, timeout_s=120)
            return results
    finally:
        await admin.delete_topics(topics)
        await admin.close()
