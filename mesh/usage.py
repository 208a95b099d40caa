"""Usage of data products: reads of a product's assets through an access grant, per consumer.

A request that reaches an asset only through a grant (resolvers/loaders.py) counts one read for
each granted version and team that covered it, once per request, in Redis: a hash per version,
``mesh:usage:<version>``, field ``<team>|<day>`` (UTC), ``HINCRBY``. Counters are cheap on the
read path and every replica adds to the same ones; they are kept ``RETENTION_DAYS`` after a
version was last read. A Redis failure loses the count, never the read.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("datawave.mesh.usage")

RETENTION_DAYS = 400


def _key(version: str) -> str:
    return f"mesh:usage:{version}"


async def count(redis: Redis, uses: set[tuple[str, str]]) -> None:
    """One read for each (version, team) in ``uses``, today."""
    if not uses:
        return
    today = datetime.now(UTC).date().isoformat()
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for version, team in sorted(uses):
                pipe.hincrby(_key(version), f"{team}|{today}", 1)
                pipe.expire(_key(version), RETENTION_DAYS * 86_400)
            await pipe.execute()
    except RedisError as err:
        log.warning("usage of %d grant(s) not counted: %s", len(uses), err)


@dataclass(frozen=True)
class ConsumerUsage:
    team: str
    reads: int
    days: dict[date, int]  # reads per day


async def usage(redis: Redis, version: str) -> list[ConsumerUsage]:
    """Each consumer team's reads of the version, most reads first."""
    per_team: dict[str, dict[date, int]] = defaultdict(dict)
    for field, value in (await redis.hgetall(_key(version))).items():
        team, _, day = (field.decode() if isinstance(field, bytes) else field).rpartition("|")
        per_team[team][date.fromisoformat(day)] = int(value)
    found = [
        ConsumerUsage(team, sum(days.values()), dict(sorted(days.items())))
        for team, days in per_team.items()
    ]
    return sorted(found, key=lambda u: (-u.reads, u.team))
