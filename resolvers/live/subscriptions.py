"""Live subscriptions: catalog changes, scan progress, anomalies, compliance updates.

Each subscription reads its own bounded queue from the hub; leaving the generator (client
``complete``, disconnect, cancellation) unsubscribes. A client that falls a whole queue behind
is disconnected with close code ``SLOW_CONSUMER`` instead of buffering without bound.

Subscribers get only the events of what they may see, and a subscription ends (UNAUTHENTICATED)
at the first event after its token expired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket

from live import changes
from live.broadcast import SlowConsumer
from resolvers.context import Info
from resolvers.errors import ClientError, coded
from resolvers.live.types import CatalogChange, CatalogChangeFilter, ComplianceUpdate, ScanProgress
from resolvers.loaders import Loaders
from resolvers.permissions import needs
from resolvers.quality.types import Anomaly, AnomalyFilter
from security.rbac import permission

log = logging.getLogger("datawave.subscriptions")

E = TypeVar("E", bound=BaseModel)

SLOW_CONSUMER = 4008  # private-use range; "policy violation" like 1008, for a slow reader
MAX_KEY = 200
SOURCE_READ = permission("source:read")


async def _events(
    info: Info,
    channel: str,
    model: type[E],
    current: Callable[[], Awaitable[E | None]] | None = None,
) -> AsyncIterator[E]:
    """The channel's messages as ``model``; one of another shape is skipped, not fatal.
    ``current``, read once subscribed (so nothing falls between), comes first if there is one."""
    context = info.context
    leeway = context.state.settings.auth.clock_skew_s
    async with context.state.broadcast.subscribe(channel) as sub:
        if current is not None and (now := await current()) is not None:
            yield now
        try:
            async for message in sub:
                if context.guard.principal is None or context.guard.principal.expired(leeway):
                    raise coded("UNAUTHENTICATED", "token expired: subscribe again with a new one")
                try:
                    yield model.model_validate(message)
                except ValidationError as err:
                    log.warning("skipped a %s message: %s", channel, err)
        except SlowConsumer as err:
            request = info.context.request
            if not isinstance(request, WebSocket):
                raise
            await request.close(code=SLOW_CONSUMER, reason=f"slow consumer: {err}"[:120])
            # The protocol handler cancels this operation once the socket is closed; ending
            # the stream now would make it send "complete" on a closed socket.
            await asyncio.Event().wait()


async def _visible(info: Info, change: changes.CatalogChange) -> bool:
    """Whether the subscriber may see the changed node as it is now (a removed one only
    without a domain restriction: its domains are gone with it). Data-mesh nodes name no
    source and are scoped by their domain alone."""
    guard = info.context.guard
    domains, sources = guard.scope()
    if sources is not None and change.source is not None and change.source not in sources:
        return False
    if domains is None:
        return True
    # Fresh loaders: a subscription lives long, and scopes change with the graph.
    return await Loaders(info.context.state, guard).node(change.urn) is not None


async def _reaches(info: Info, urn: str) -> bool:
    """Whether the subscriber may see the asset ``urn`` now."""
    guard = info.context.guard
    if guard.unrestricted:
        return True
    return await Loaders(info.context.state, guard).node(urn) is not None


def _key(name: str, value: str) -> str:
    if not 0 < len(value) <= MAX_KEY:
        raise ClientError(f"{name} must have 1 to {MAX_KEY} characters")
    return value


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Assets added, changed or removed, as they happen.",
        extensions=needs("asset:read"),
    )
    async def catalog_changes(
        self, info: Info, filter: CatalogChangeFilter | None = None
    ) -> AsyncGenerator[CatalogChange, None]:
        async for change in _events(info, changes.CATALOG_CHANNEL, changes.CatalogChange):
            if (filter is None or filter.matches(change)) and await _visible(info, change):
                yield CatalogChange.from_pydantic(change)

    @strawberry.subscription(
        description="Progress of one scan, stage by stage: its current state first (a scan "
        "that ended sends its last), then each report; complete after FINISHED or FAILED.",
        extensions=needs("source:read"),
    )
    async def scan_progress(
        self, info: Info, scan_id: strawberry.ID
    ) -> AsyncGenerator[ScanProgress, None]:
        channel = changes.scan_channel(_key("scanId", scan_id))
        guard = info.context.guard
        redis = info.context.state.redis
        seen = None
        async for progress in _events(
            info, channel, changes.ScanProgress, lambda: changes.scan_state(redis, scan_id)
        ):
            if not guard.can(SOURCE_READ, source=progress.source):
                continue
            if seen is not None and progress.at <= seen:
                continue  # published before the current state was read
            seen = progress.at
            yield ScanProgress.from_pydantic(progress)
            if progress.final:
                return

    @strawberry.subscription(
        description="Anomalies as the classifier finds them in scans, of the tables you may "
        "see (the `anomalies` query has those found before).",
        extensions=needs("asset:read"),
    )
    async def anomalies(
        self, info: Info, filter: AnomalyFilter | None = None
    ) -> AsyncGenerator[Anomaly, None]:
        async for anomaly in _events(info, changes.ANOMALY_CHANNEL, changes.Anomaly):
            if (filter is None or filter.matches(anomaly)) and await _reaches(info, anomaly.table):
                yield Anomaly.from_pydantic(anomaly)

    @strawberry.subscription(
        description="Compliance evaluations of one domain as they change.",
        extensions=needs("asset:read", domain_arg="domain"),
    )
    async def compliance_updates(
        self, info: Info, domain: str
    ) -> AsyncGenerator[ComplianceUpdate, None]:
        channel = changes.compliance_channel(_key("domain", domain))
        async for update in _events(info, channel, changes.ComplianceUpdate):
            yield ComplianceUpdate.from_pydantic(update)
