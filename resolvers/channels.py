"""A subscription's events from a live channel (live/broadcast.py), the same for every feature.

Each subscription reads its own bounded queue from the hub; leaving the generator (client
``complete``, disconnect, cancellation) unsubscribes. A client that falls a whole queue behind
is disconnected with close code ``SLOW_CONSUMER`` instead of buffering without bound; a message
of another shape is skipped (logged), not the end of the stream; and a subscription ends
(UNAUTHENTICATED) at the first event after its token expired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket

from core.outages import wait_out
from live.broadcast import RESUMED, SlowConsumer
from resolvers.context import Info
from resolvers.errors import coded

log = logging.getLogger("datawave.subscriptions")

E = TypeVar("E", bound=BaseModel)

SLOW_CONSUMER = 4008  # private-use range; "policy violation" like 1008, for a slow reader


async def events(
    info: Info,
    channel: str,
    model: type[E],
    catch_up: Callable[[], Awaitable[list[E]]] | None = None,
) -> AsyncIterator[E]:
    """The channel's messages as ``model``; one of another shape is skipped, not fatal.
    ``catch_up``, run once subscribed (so nothing falls between), comes first, and again once
    the hub reads after a Redis outage (what was published meanwhile did not reach it); Redis
    may still be coming back then (the pool's stale connections), so it is waited out."""
    context = info.context
    leeway = context.state.settings.auth.clock_skew_s
    resilience = context.state.settings.resilience

    async def caught_up() -> list[E]:
        return [] if catch_up is None else await wait_out(catch_up, resilience, "subscriptions")

    async with context.state.broadcast.subscribe(channel, resumed=catch_up is not None) as sub:
        for event in await caught_up():
            yield event
        try:
            async for message in sub:
                if context.guard.principal is None or context.guard.principal.expired(leeway):
                    raise coded("UNAUTHENTICATED", "token expired: subscribe again with a new one")
                if message is RESUMED:
                    for event in await caught_up():
                        yield event
                    continue
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


async def reaches(info: Info, urn: str) -> bool:
    """Whether the subscriber may hear of the node ``urn`` (an asset, a finding, an access
    request) now. Whose scope covers it wherever the graph places it (an admin; a caller
    limited by data source alone, for that source's assets) hears without a read, also of an
    asset removed with its domains or gone: news of nothing they could not read. Others hear
    of what the loaders read now, fresh, since a subscription lives long and scopes change
    with the graph: a steward of some domains not of such an asset (nothing says it was
    theirs), a caller of every domain not of an access request it is no party to."""
    guard = info.context.guard
    if guard.reaches_unplaced(urn):
        return True
    return await info.context.loaders.fresh().node(urn) is not None
