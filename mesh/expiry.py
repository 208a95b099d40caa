"""Grants run out: consumers hear of it before, and the end takes effect on time.

Expiry itself is decided at read time: every read of grants (graph/access.py ``GRANTED``,
``CONSUMERS``) compares ``expiresAt`` with the database clock, so an expired grant reaches
nothing from that moment on, whether or not a sweep ran. The sweep only tells people: every
API replica runs it every ``DATAWAVE_MESH__GRANT_SWEEP_S``, one write transaction that marks a
grant ending within ``DATAWAVE_MESH__GRANT_NOTICE_DAYS`` as told (``access.expiring``) and an
ended one's request ``expired`` (``access.expired``); each announcement is claimed in Redis
(``SET NX``) so one replica sends it even when two sweeps overlap. Both go on
``datawave.mesh.v1`` with the request's correlation id and to the product's ``productEvents``
subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from graph import access as graph
from live.state import AppState
from mesh.events import emit_request

log = logging.getLogger("datawave.mesh.expiry")

CLAIM_TTL_S = 86_400


async def _claim(
    state: AppState, action: str, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The requests this replica is first to announce ``action`` for."""
    if not requests:
        return []
    async with state.redis.pipeline(transaction=False) as pipe:
        for r in requests:
            pipe.set(f"mesh:grant:{action}:{r['id']}", 1, nx=True, ex=CLAIM_TTL_S)
        won = await pipe.execute()
    return [r for r, ok in zip(requests, won, strict=True) if ok]


async def sweep(state: AppState) -> None:
    """Announce the grants ending soon and the ones ended."""
    notice_s = state.settings.mesh.grant_notice_days * 86_400
    soon, over = await graph.sweep(state.neo4j, state.settings.neo4j.database, notice_s)
    for action, found in (("access.expiring", soon), ("access.expired", over)):
        for r in await _claim(state, action, found):
            await emit_request(state, r, action, "datawave", expiresAt=r["expiresAt"])


async def sweep_grants(state: AppState) -> None:
    """Run until cancelled (the API's lifespan starts it when the sweep interval is not 0)."""
    while True:
        await asyncio.sleep(state.settings.mesh.grant_sweep_s)
        try:
            await sweep(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("grant sweep failed; trying again next time")
