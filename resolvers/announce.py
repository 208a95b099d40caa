"""After a mutation's write: forget what the request loaded, then tell every replica (or, for a
write announced on Kafka, make the cached reads unreachable at once)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.exceptions import RedisError

from live.cache import invalidate
from live.changes import ChangeType, catalog_change, publish_catalog_change
from resolvers.context import Info

log = logging.getLogger("datawave.mutations")


async def announce(
    info: Info, type: ChangeType, urns: Sequence[str], fields: Sequence[str]
) -> None:
    """Clear the request's loaders, invalidate caches and notify subscribers of the change,
    once for each URN however often it is named."""
    info.context.loaders.forget(*urns)
    changes = [catalog_change(type, urn, fields) for urn in dict.fromkeys(urns)]
    try:
        await publish_catalog_change(info.context.state.redis, *changes)
    except RedisError as err:  # the write is done; cached copies expire with their TTL
        log.warning("catalog change of %s not published: %s", list(urns), err)


async def invalidate_cached(info: Info, urns: Sequence[str]) -> None:
    """Make every cached read of ``urns`` unreachable now, for a write whose announcement
    travels through Kafka (its consumer invalidates too, later): the caller's next read, and
    anyone's, shows the write."""
    info.context.loaders.forget(*urns)
    try:
        await invalidate(info.context.state.redis, urns)
    except RedisError as err:  # cached copies expire with their TTL or at the announcement
        log.warning("cached reads of %s not invalidated: %s", list(urns), err)
