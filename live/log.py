"""A bounded log of a live channel, so a subscriber that was away gets what it missed.

Pub/sub forgets: what is published while a subscriber reconnects (a dropped WebSocket, an API
restart, a Redis outage under the fan-out) never reaches it. A channel published with
``publish_logged`` also appends each message to a Redis stream of its own (the last
``LOG_MAX`` or so), and sends it with its ``cursor``, the entry's id; ``replay`` reads what
came after a cursor. A script appends and publishes in one step, so cursors reach
subscribers in order and a subscriber drops what it already has by comparing them.

A cursor that is no longer in the stream (trimmed, or lost with Redis's data) raises
``CursorExpired``: what came after it is not all there, and the subscriber is told so
instead of missing it silently. So that every subscriber has a cursor from the start, an
empty log gets a marker entry (``head``), which replay skips.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from live.broadcast import PREFIX, Message

LOG_PREFIX = "datawave:live-log:"
LOG_MAX = 10_000  # entries kept per channel (approximately: Redis trims whole nodes)
PAGE = 500
MARKER = ""  # a marker entry's message: the log's start, no event

# Append each message (ARGV[2..]) to the stream KEYS[1], capped at ARGV[1] entries, and publish
# it on KEYS[2] with its entry id as "cursor" (messages are non-empty JSON objects).
_APPEND_AND_PUBLISH = """
local ids = {}
for i = 2, #ARGV do
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[i])
  redis.call('PUBLISH', KEYS[2], '{"cursor":"' .. id .. '",' .. string.sub(ARGV[i], 2))
  ids[#ids + 1] = id
end
return ids
"""


class CursorExpired(Exception):
    """What was published after ``cursor`` is no longer all in the log; ``head`` is where it
    ends now (re-read with the queries, then follow from there)."""

    def __init__(self, cursor: str, head: str) -> None:
        super().__init__(
            f"the live events after cursor {cursor!r} are no longer all kept (the log keeps "
            f"about {LOG_MAX} per channel, and loses them if Redis loses its data); re-read "
            f"with the queries, then subscribe again with since: {head!r}"
        )
        self.head = head


def _key(channel: str) -> str:
    return LOG_PREFIX + channel


def after(cursor: str, other: str) -> bool:
    """Whether the entry id ``cursor`` comes after ``other`` (ids are ``<ms>-<seq>``)."""

    def parts(entry: str) -> tuple[int, int]:
        ms, _, seq = entry.partition("-")
        return int(ms), int(seq or 0)

    return parts(cursor) > parts(other)


async def publish_logged(redis: Redis, channel: str, *messages: Mapping[str, Any]) -> None:
    """Log each message and send it, with its cursor, to every replica's subscribers."""
    if not messages:
        return
    script = redis.register_script(_APPEND_AND_PUBLISH)
    args = [LOG_MAX, *(json.dumps(m) for m in messages)]
    await script(keys=[_key(channel), PREFIX + channel], args=args)


async def head(redis: Redis, channel: str) -> str:
    """The cursor of the channel's newest entry (a marker if it has none yet)."""
    newest = await redis.xrevrange(_key(channel), count=1)
    if newest:
        return newest[0][0].decode()
    return (await redis.xadd(_key(channel), {"m": MARKER}, maxlen=LOG_MAX)).decode()


async def replay(redis: Redis, channel: str, cursor: str) -> AsyncIterator[Message]:
    """The channel's messages after ``cursor``, oldest first, each with its ``cursor``;
    ``CursorExpired`` if the log no longer holds ``cursor`` itself."""
    key = _key(channel)
    try:
        kept = await redis.xrange(key, cursor, cursor, count=1)
    except ResponseError as err:  # not an entry id at all
        if "Invalid stream ID" not in str(err):
            raise
        kept = []
    if not kept:
        raise CursorExpired(cursor, await head(redis, channel))
    start = cursor
    while True:
        entries = await redis.xrange(key, f"({start}", "+", count=PAGE)
        for entry_id, fields in entries:
            raw = fields[b"m"].decode()
            if raw != MARKER:
                yield json.loads(raw) | {"cursor": entry_id.decode()}
        if len(entries) < PAGE:
            return
        start = entries[-1][0].decode()
