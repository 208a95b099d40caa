"""Redis read-through cache for asset details (the asset, its columns and their labels),
lineage reads and catalog pages, and whole responses of catalog reads (resolvers/responses.py),
shared by all API replicas.

Entries are keyed by a *token* that ``invalidate`` replaces when something changes: a column
shares its table's token, and every change replaces the token of reads across many assets
(lineage, pages). A reader that loaded old data before a change stores it under the old token,
which nobody reads any more, so once ``invalidate`` has returned no replica serves what was
there before. Tokens outlive every
entry (``TOKEN_TTL_S`` > the largest TTL), so an expired token can never revive an entry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.urns import InvalidUrn, Urn
from graph.records import NodeRecord, Related

log = logging.getLogger("datawave.cache")

TOKEN = "datawave:cache:token:"
ASSET = "datawave:cache:asset:"
RELATED = "datawave:cache:related:"
# Reads across many assets (lineage subgraphs, pages of the catalog) share one token.
ACROSS = "datawave:cache:across:"
ACROSS_TOKEN = TOKEN + "across"
# Whole responses of catalog reads (resolvers/responses.py), each stored with the across token
# it was read under.
RESPONSE = "datawave:cache:response:"
MAX_TTL_S = 3600
TOKEN_TTL_S = 2 * MAX_TTL_S + 60

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")
_NODE = TypeAdapter(NodeRecord)
_RELATED = TypeAdapter(list[Related])


def token_key(urn: str) -> str:
    """The token an asset's entry depends on: its table's for a column, else its own."""
    try:
        parsed = Urn.parse(urn)
    except InvalidUrn:
        return TOKEN + urn
    if parsed.kind == "column":
        return TOKEN + str(Urn("table", parsed.source, parsed.path[:-1]))
    return TOKEN + urn


async def invalidate(redis: Redis, urns: Iterable[str]) -> None:
    """Make every cached read of these assets, and every read across assets, unreachable."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in {token_key(u) for u in urns} | {ACROSS_TOKEN}:
            pipe.set(key, uuid.uuid4().hex, ex=TOKEN_TTL_S)
        await pipe.execute()


def _token(raw: bytes | None) -> str:
    return raw.decode() if raw else "0"


@cache
def _optional(model: type[M]) -> TypeAdapter[M | None]:
    """Building an adapter costs more than the read it serves: one per model."""
    return TypeAdapter(model | None)  # type: ignore[arg-type]


class ReadThroughCache:
    """Cache-aside reads; Redis trouble only costs a trip to Neo4j, never a failed request."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = min(ttl_s, MAX_TTL_S)

    async def assets(
        self,
        urns: Sequence[str],
        load: Callable[[Sequence[str]], Awaitable[dict[str, NodeRecord]]],
    ) -> dict[str, NodeRecord]:
        """Assets by URN: cached ones from Redis, the rest from ``load`` (then cached)."""
        return await self._by_urn(ASSET, urns, load, _NODE)

    async def related(
        self,
        relation: str,
        urns: Sequence[str],
        load: Callable[[Sequence[str]], Awaitable[dict[str, list[Related]]]],
    ) -> dict[str, list[Related]]:
        """What ``relation`` leads to from each URN, for relations that stay within a table
        (its columns, their labels): a change to the table or a column replaces their token."""
        return await self._by_urn(f"{RELATED}{relation}:", urns, load, _RELATED)

    async def per_asset(
        self,
        name: str,
        urns: Sequence[str],
        load: Callable[[Sequence[str]], Awaitable[dict[str, M]]],
        model: type[M],
    ) -> dict[str, M]:
        """Any other read about single assets that stays within a table (an asset's detail
        read whole, graph/projections.py), under the table's token; ``name`` tells reads
        apart."""
        return await self._by_urn(f"{RELATED}{name}:", urns, load, _optional(model))  # type: ignore[arg-type]

    async def _by_urn(
        self,
        prefix: str,
        urns: Sequence[str],
        load: Callable[[Sequence[str]], Awaitable[dict[str, V]]],
        adapter: TypeAdapter[V],
    ) -> dict[str, V]:
        if not self.ttl_s:
            return await load(urns)
        try:
            tokens = await self.redis.mget([token_key(u) for u in urns])
            keys = [f"{prefix}{_token(t)}:{u}" for t, u in zip(tokens, urns, strict=True)]
            cached = await self.redis.mget(keys)
        except RedisError as err:
            log.warning("cache read failed (%s); reading Neo4j", err)
            return await load(urns)
        found = {
            u: adapter.validate_json(v) for u, v in zip(urns, cached, strict=True) if v is not None
        }
        missing = [u for u in urns if u not in found]
        if missing:
            loaded = await load(missing)
            key_of = dict(zip(urns, keys, strict=True))
            await self._store({key_of[u]: adapter.dump_json(r).decode() for u, r in loaded.items()})
            found |= loaded
        return found

    async def across(
        self, parts: Sequence[str], model: type[M], load: Callable[[], Awaitable[M | None]]
    ) -> M | None:
        """One read across many assets (a lineage subgraph, a page of the catalog) identified
        by ``parts``; any change makes it stale. A missing result is cached too."""
        if not self.ttl_s:
            return await load()
        adapter = _optional(model)
        try:
            token = _token(await self.redis.get(ACROSS_TOKEN))
            key = ACROSS + token + ":" + "|".join(parts)
            cached = await self.redis.get(key)
        except RedisError as err:
            log.warning("cache read failed (%s); reading Neo4j", err)
            return await load()
        if cached is not None:
            return adapter.validate_json(cached)
        value = await load()
        await self._store({key: adapter.dump_json(value).decode()})
        return value

    async def response(self, digest: str) -> tuple[str | None, bytes | None]:
        """The across token now (None if Redis failed) and the response stored under
        ``digest`` while that token was current, if any: one round trip."""
        try:
            token, entry = await self.redis.mget([ACROSS_TOKEN, RESPONSE + digest])
        except RedisError as err:
            log.warning("cache read failed (%s); executing", err)
            return None, None
        current = _token(token)
        if entry is not None:
            stored, _, body = entry.partition(b"\n")
            if stored.decode() == current:
                return current, body
        return current, None

    async def store_response(self, digest: str, token: str, body: str) -> None:
        """Keep a response read while ``token`` was current (a change since makes it stale)."""
        await self._store({RESPONSE + digest: f"{token}\n{body}"})

    async def _store(self, entries: dict[str, str]) -> None:
        if not entries:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in entries.items():
                    pipe.set(key, value, ex=self.ttl_s)
                await pipe.execute()
        except RedisError as err:
            log.warning("cache write failed (%s)", err)
