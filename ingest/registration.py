"""Registering and unregistering data sources: what the CLI and the API both call.

Input from a person (flags, a YAML file, the GraphQL input) becomes a ``DataSourceConfig`` here:
the port defaults to the kind's standard one and every problem is said in words. Before it is
stored, the operator's policy (``SourceAccess``) must admit its secret reference and host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from neo4j import AsyncDriver
from pydantic import ValidationError
from redis.asyncio import Redis

from core.events import ASSET_CHANGED, AssetChanged, make_event
from core.sources import KIND, DataSourceConfig, problems
from core.urns import source_urn
from graph import scans, sources
from ingest.connectors.base import registry
from ingest.scan import UNREGISTERING, live_scans, source_claimed
from ingest.source_access import SourceAccess, SourceRefused

# Unfinished scans of a source checked for a live lease when it is unregistered, newest first:
# a source runs one scan at a time and each crash leaves one behind, so any older than these
# are taken for dead.
UNFINISHED_SEEN = 100
Problems = list[tuple[str, str]]  # (field as the API spells it, what is wrong in words)


class InvalidSource(Exception):
    """A source's input is invalid or refused; ``problems`` says what, field by field."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))
        self.problems = problems


def source_config(values: Mapping[str, Any]) -> DataSourceConfig:
    """The config for these values, the port defaulting to the kind's standard port."""
    values = {k: v for k, v in values.items() if v is not None}
    kind = values.get("kind")
    known = registry.kinds()
    found: Problems = []
    if kind in known:
        values.setdefault("port", registry.standard_port(kind))
    elif isinstance(kind, str) and KIND.fullmatch(kind):  # well formed, yet no connector
        found.append(("kind", f"no connector {kind!r}; known: {', '.join(known)}"))
    try:
        config = DataSourceConfig.model_validate(values)
    except ValidationError as err:
        # Without a known kind there is no standard port: the kind's problem says it all.
        unported = kind not in known and "port" not in values
        found += [p for p in problems(err) if not (unported and p[0] == "port")]
    if found:
        raise InvalidSource(found)
    return config


async def refusals(config: DataSourceConfig, access: SourceAccess) -> Problems:
    """What the operator's policy refuses in ``config`` (its secret reference, its host)."""
    found: Problems = []
    if config.secret_ref is not None:
        try:
            access.check_secret_ref(config.secret_ref)
        except SourceRefused as err:
            found.append(("secretRef", str(err)))
    try:
        await access.check_host(
            config.host, config.port, password=config.secret_ref is not None, tls=config.tls
        )
    except SourceRefused as err:
        found.append(("host", str(err)))
    return found


async def unregister(
    driver: AsyncDriver, database: str, producer: AIOKafkaProducer, topic: str, name: str,
    redis: Redis,
) -> list[str] | None:  # fmt: skip
    """Forget the source and soft-delete its assets, then announce each as removed on the
    changes topic (cache, search and subscribers follow); None when no such source exists.
    SourceBusy while a scan of it runs: what that scan sends would bring its assets back.
    Its scans that never ended end failed, but those whose process still holds their lease."""
    async with source_claimed(redis, name, UNREGISTERING):
        unfinished = await scans.unfinished_scans(driver, database, name, UNFINISHED_SEEN)
        live = await live_scans(redis, unfinished)
        removed = await sources.unregister_source(driver, database, name, live)
    if removed is None:
        return None
    urn = source_urn(name)
    events = [
        make_event(ASSET_CHANGED, urn, subject, AssetChanged(change="removed"))
        for subject in [urn, *removed]
    ]
    sent = [await producer.send(topic, e.to_bytes(), key=e.key) for e in events]
    await asyncio.gather(*sent)
    return removed
