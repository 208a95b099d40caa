"""Contracts kept honest: when a scan changes a table an output port exposes, the contracts of
that product's live versions are checked for drift again at once, and the quality gates of
those gated before run again (mesh/gates.py: quarantine, alerts, remediation, as a run by hand).

Every catalog change reaches every API replica on the Redis ``catalog`` channel (the relay
forwards the ingest workers' changes from ``datawave.changes.v1``). The watcher gathers the
table and column changes of a short window, claims each in Redis (``SET NX``: one replica
checks a change) and re-checks the versions whose products expose those tables; a version whose
drift changed announces it on ``datawave.mesh.v1`` (``contract.drifted`` / ``contract.aligned``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pydantic import ValidationError

from core.urns import Urn
from live.broadcast import SlowConsumer, Subscription
from live.changes import CATALOG_CHANNEL, CatalogChange
from live.state import AppState
from mesh.backfill import backfill_findable
from mesh.gates import rerun
from mesh.products import recheck_tables

log = logging.getLogger("datawave.mesh.watch")

WINDOW_S = 0.2  # gather changes this long after the first one
# What the API announces about a table or column itself (its domains, labels, curated
# description, tags and owners, lineage declared by hand) changes neither its columns nor its
# data: no drift to check and no gate to run again, which would put a gate run between an
# owner's own (creating a product announces its ports' new domains). A scan's change names
# what it found (columns, profiles, row counts); one without fields may be anything.
NEITHER_SCHEMA_NOR_DATA = frozenset(
    {"domains", "labels", "description", "tags", "owners", "lineage"}
)
MAX_CHANGES = 500
CLAIM_TTL_S = 600


def table_of(change: CatalogChange) -> str | None:
    """The table a table or column change is about."""
    if change.kind == "table":
        return change.urn
    if change.kind == "column":
        parsed = Urn.parse(change.urn)
        return str(Urn("table", parsed.source, parsed.path[:-1]))
    return None


async def _window(sub: Subscription) -> list[CatalogChange]:
    messages = [await anext(sub)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WINDOW_S
    while len(messages) < MAX_CHANGES and (left := deadline - loop.time()) > 0:
        try:
            messages.append(await asyncio.wait_for(anext(sub), left))
        except TimeoutError:
            break
    changes = []
    for m in messages:
        with contextlib.suppress(ValidationError):
            changes.append(CatalogChange.model_validate(m))
    return [
        c
        for c in changes
        if c.kind in ("table", "column")
        and not (c.fields and NEITHER_SCHEMA_NOR_DATA.issuperset(c.fields))
    ]


async def _claimed(state: AppState, changes: list[CatalogChange]) -> list[str]:
    """The tables of the changes this replica claimed first."""
    async with state.redis.pipeline(transaction=False) as pipe:
        for c in changes:
            pipe.set(f"mesh:drift:claim:{c.urn}:{c.at.isoformat()}", 1, nx=True, ex=CLAIM_TTL_S)
        won = await pipe.execute()
    tables = {table_of(c) for c, ok in zip(changes, won, strict=True) if ok}
    return sorted(t for t in tables if t)


async def watch_contracts(state: AppState) -> None:
    """Run until cancelled (the API's lifespan starts it beside the change relay). A watcher
    that fell behind (its subscription overflowed during a burst of changes, a large scan)
    lost changes it cannot name, so it re-checks the drift of every live version once
    subscribed again (graph reads only). It does not run every gate again: that ran every SQL
    rule of every gated version on its source at each burst, and put gate steps between an
    owner's own runs; a gate runs again at its tables' next change, or by hand. Starting, it
    gives versions imported before ``findable`` was kept their words (mesh/backfill.py)."""
    try:
        await backfill_findable(state)
    except Exception:  # discovery falls back to the YAML meanwhile; the next start retries
        log.exception("findable backfill failed")
    missed = False
    while True:
        try:
            async with state.broadcast.subscribe(CATALOG_CHANNEL) as sub:
                if missed:  # subscribed first: changes meanwhile wait in the subscription
                    await recheck_tables(state, None)
                    missed = False
                while True:
                    changes = await _window(sub)
                    tables = await _claimed(state, changes) if changes else []
                    if tables:
                        await rerun(state, await recheck_tables(state, tables))
        except asyncio.CancelledError:
            raise
        except SlowConsumer:
            log.warning(
                "contract watcher fell behind the catalog changes: re-checking every live version"
            )
            missed = True
        except Exception:
            log.exception("contract watcher failed; restarting in 2 s")
            await asyncio.sleep(2)
