"""Live subscriptions: catalog changes, scan progress, compliance updates.

Each subscription reads its own bounded queue from the hub; leaving the generator (client
``complete``, disconnect, cancellation) unsubscribes. A client that falls a whole queue behind
is disconnected with close code ``SLOW_CONSUMER`` instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket

from app import changes
from app.broadcast import SlowConsumer
from resolvers.context import Info
from resolvers.errors import ClientError
from resolvers.types.live import CatalogChange, CatalogChangeFilter, ComplianceUpdate, ScanProgress

log = logging.getLogger("datawave.subscriptions")

E = TypeVar("E", bound=BaseModel)

SLOW_CONSUMER = 4008  # private-use range; "policy violation" like 1008, for a slow reader
MAX_KEY = 200


async def _events(info: Info, channel: str, model: type[E]) -> AsyncIterator[E]:
    """The channel's messages as ``model``; one of another shape is skipped, not fatal."""
    async with info.context.state.broadcast.subscribe(channel) as sub:
        try:
            async for message in sub:
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


def _key(name: str, value: str) -> str:
    if not 0 < len(value) <= MAX_KEY:
        raise ClientError(f"{name} must have 1 to {MAX_KEY} characters")
    return value


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(description="Assets added, changed or removed, as they happen.")
    async def catalog_changes(
        self, info: Info, filter: CatalogChangeFilter | None = None
    ) -> AsyncGenerator[CatalogChange, None]:
        async for change in _events(info, changes.CATALOG_CHANNEL, changes.CatalogChange):
            if filter is None or filter.matches(change):
                yield CatalogChange.from_pydantic(change)

    @strawberry.subscription(description="Progress of one scan, stage by stage.")
    async def scan_progress(
        self, info: Info, scan_id: strawberry.ID
    ) -> AsyncGenerator[ScanProgress, None]:
        channel = changes.scan_channel(_key("scanId", scan_id))
        async for progress in _events(info, channel, changes.ScanProgress):
            yield ScanProgress.from_pydantic(progress)

    @strawberry.subscription(description="Compliance evaluations of one domain as they change.")
    async def compliance_updates(
        self, info: Info, domain: str
    ) -> AsyncGenerator[ComplianceUpdate, None]:
        channel = changes.compliance_channel(_key("domain", domain))
        async for update in _events(info, channel, changes.ComplianceUpdate):
            yield ComplianceUpdate.from_pydantic(update)
