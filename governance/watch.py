"""Continuous compliance: the columns a catalog change touches are evaluated again at once.

Every catalog change reaches every API replica on the Redis ``catalog`` channel (mutations
publish there, the relay forwards the ingest workers' changes from ``datawave.changes.v1``). The
watcher gathers the changes of a short window, claims each one in Redis (``SET NX``: only one
replica evaluates a change) and evaluates the columns of the changed columns and tables, in one
evaluation (batches of OPA calls) under the rule set in force. A change to a table's owners or
tags counts for its columns. When OPA is down the columns wait and are evaluated with the next
batch; a watcher that fell a whole queue behind evaluates everything once. Every minute it also
escalates critical findings that stayed open too long (evaluations do as well).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from pydantic import ValidationError

from governance.evaluation import Evaluation, announce, escalate, evaluate
from governance.opa import PolicyEngineUnavailable
from graph import compliance
from live.broadcast import SlowConsumer, Subscription
from live.changes import CATALOG_CHANNEL, CatalogChange
from live.state import AppState

log = logging.getLogger("datawave.compliance.watch")

WINDOW_S = 0.2  # gather changes this long after the first one
MAX_CHANGES = 500
CLAIM_TTL_S = 600
KINDS = frozenset({"column", "table"})
ESCALATION_CHECK_S = 60.0


async def _window(sub: Subscription) -> list[CatalogChange]:
    """The next change, and those that follow it within the window."""
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
    return [c for c in changes if c.kind in KINDS]


async def _claimed(state: AppState, changes: list[CatalogChange]) -> list[str]:
    """The URNs of the changes this replica claimed first."""
    async with state.redis.pipeline(transaction=False) as pipe:
        for c in changes:
            pipe.set(f"compliance:claim:{c.urn}:{c.at.isoformat()}", 1, nx=True, ex=CLAIM_TTL_S)
        won = await pipe.execute()
    return sorted({c.urn for c, ok in zip(changes, won, strict=True) if ok})


async def watch_changes(state: AppState) -> None:
    """Run until cancelled (the API's lifespan starts it beside the change relay)."""
    await asyncio.gather(_evaluate_changes(state), _escalate_periodically(state))


async def _escalate_periodically(state: AppState) -> None:
    """Critical findings age without any change: look for those to escalate every minute."""
    while True:
        await asyncio.sleep(ESCALATION_CHECK_S)
        try:
            found = await escalate(state, datetime.now(UTC))
            if found:
                await announce(state, Evaluation(rule_set=0, escalated=found))
        except Exception:  # the next round tries again
            log.exception("escalation check failed")


async def _evaluate_changes(state: AppState) -> None:
    driver, database = state.neo4j, state.settings.neo4j.database
    waiting: set[str] = set()  # columns whose evaluation OPA could not do yet
    while True:
        try:
            async with state.broadcast.subscribe(CATALOG_CHANNEL) as sub:
                while True:
                    changes = await _window(sub)
                    urns = await _claimed(state, changes) if changes else []
                    if not urns and not waiting:
                        continue
                    columns = set(await compliance.columns_of(driver, database, urns)) | waiting
                    if not columns:
                        continue
                    try:
                        await evaluate(state, urns=sorted(columns))
                        waiting.clear()
                    except PolicyEngineUnavailable as err:
                        log.warning("%d column(s) wait for OPA: %s", len(columns), err)
                        waiting = columns
        except SlowConsumer:
            log.warning("fell behind the catalog changes: evaluating everything")
            with contextlib.suppress(PolicyEngineUnavailable):
                await evaluate(state)
        except asyncio.CancelledError:
            raise
        except Exception:  # the watcher must outlive a failed evaluation
            log.exception("compliance watcher failed; restarting in 1 s")
            await asyncio.sleep(1)
