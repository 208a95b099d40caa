"""A classification service on the session's shared classifier, with its own model registry,
topics and consumer group; what it wrote under the test's source is deleted afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from graph import labels
from graph.driver import write
from ml.service import ClassificationService, label_rows
from ml.settings import ClassifierSettings
from ml.taxonomy import BUILTIN
from tests.ml_support import shared_classifier


@pytest.fixture
async def classification(
    neo4j: AsyncDriver, settings: Settings, unique: str
) -> AsyncIterator[ClassificationService]:
    db = settings.neo4j.database
    cfg = ClassifierSettings(
        registry=unique, topic=unique, group_id=unique, changes_topic=f"{unique}-changes"
    )
    await labels.ensure_labels(neo4j, db, label_rows(BUILTIN))
    yield ClassificationService(neo4j, db, cfg, shared_classifier(), f"{unique}:1")
    await write(
        neo4j,
        db,
        "MATCH (n) WHERE (n:Asset OR n:ProfileSnapshot) AND n.urn CONTAINS $u DETACH DELETE n",
        u=f":{unique}/",
    )
    await write(neo4j, db, "MATCH (m:ClassifierModel {registry: $r}) DELETE m", r=unique)
