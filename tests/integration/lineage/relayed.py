"""A change relay of one test's own worker announcements, beside the session's app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.settings import IngestSettings, Settings
from live.relay import ChangeRelay
from tests.integration.graphql.conftest import Served
from tests.integration.graphql.test_js_client import in_background
from tests.integration.lineage.test_openlineage import skip_to_end


@asynccontextmanager
async def relayed(
    served: Served, settings: Settings, ingest_cfg: IngestSettings, name: str
) -> AsyncIterator[None]:
    """Relay what the test's worker announces on its own changes topic, from now on, to the
    app's cache and subscribers (the app's relay follows ``datawave.changes.v1`` only)."""
    group = f"{name}.relay"
    await skip_to_end(settings, group, ingest_cfg.changes_topic)
    relay = ChangeRelay(served.app.state.datawave, topic=ingest_cfg.changes_topic, group_id=group)
    async with in_background(relay.run()):
        yield
