"""On-demand classification with fresh evidence: the table is read again through its connector.

The graph keeps no samples (they are sealed on Kafka and only examples stay, sealed, on label
edges), so ``classify(urn)`` reads the table's columns again, bounded as a scan reads them: the
source's ``profile_rows`` and ``sample_size``, the whole read within its ``timeout_s``, the
operator's access policy checked before connecting (ingest/source_access.py), and the source's
circuit breaker (ingest/breakers.py) refusing a source that keeps failing and counting this
read's failure. When the source cannot be read, the reason is given and the profile's min and
max stand in. Either way a label that had stronger evidence stays, and steward decisions stand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from neo4j import AsyncDriver

from core.settings import Settings
from core.urns import Urn, column_urn, table_urn
from graph.labels import ColumnLabels, columns_to_classify
from ingest.breakers import BreakerOpen, SourceFailure, guarded
from ingest.connectors.base import connector_for
from ingest.scan import ScanError, registered
from ingest.source_access import SourceAccess, SourceAccessError
from ml.service import ClassificationService, UnknownAsset

SAMPLED = ("table", "column")


class Unreadable(SourceFailure):
    """The source failed while its table was read (counts against its breaker)."""


@dataclass(frozen=True)
class Fresh:
    """Values read now, by column URN; ``problem``: why none were (in words)."""

    samples: dict[str, list[str]]
    problem: str | None = None


@dataclass(frozen=True)
class OnDemand:
    """What ``classify_fresh`` wrote, and whether it saw fresh samples."""

    columns: Sequence[ColumnLabels]
    sampled: bool
    problem: str | None = None


async def fresh_samples(settings: Settings, driver: AsyncDriver, urn: str) -> Fresh:
    """The samples of the table ``urn`` names (a table or one of its columns)."""
    parsed = Urn.parse(urn)
    if parsed.kind not in SAMPLED or parsed.source is None:
        return Fresh({}, f"{urn} is not a table or column")
    database, schema, table = parsed.path[:3]
    try:
        config = await registered(settings, driver, parsed.source)
    except ScanError as err:
        return Fresh({}, str(err))
    access = SourceAccess.from_settings(settings)
    try:
        async with (
            guarded(settings.redis_url, config.name, settings.resilience),
            connector_for(config, access) as connector,
        ):
            try:
                async with asyncio.timeout(config.timeout_s):
                    found = await connector.sample_table(database, schema, table)
            except SourceAccessError:
                raise  # the operator's policy, not the source: its breaker stays as it is
            except connector.recoverable as err:
                raise Unreadable(connector.explain(err)) from err
    except (SourceFailure, SourceAccessError, BreakerOpen) as err:
        return Fresh({}, f"not sampled: {err}")
    if found is None:
        return Fresh({}, f"not sampled: source {config.name} no longer lists {table}")
    at = table_urn(config.name, database, schema, table)
    return Fresh({column_urn(at, c.name): c.samples for c in found.columns})


async def classify_fresh(service: ClassificationService, settings: Settings, urn: str) -> OnDemand:
    """Classify a table or column on fresh samples (min/max if the source cannot be read);
    raises ``UnknownAsset`` when the graph has no live table or column ``urn``."""
    if not await columns_to_classify(service.driver, service.database, urn):
        raise UnknownAsset(urn)  # before anything connects to a source
    fresh = await fresh_samples(settings, service.driver, urn)
    columns = await service.classify_urn(urn, fresh.samples)
    return OnDemand(columns, not fresh.problem, fresh.problem)
