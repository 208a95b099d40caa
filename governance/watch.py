"""Continuous compliance: the columns a catalog change touches are evaluated again at once.

Every catalog change reaches every API replica on the Redis ``catalog`` channel (mutations
publish there, the relay forwards the ingest workers' changes from ``datawave.changes.v1``). The
watcher gathers the changes that come together (until none arrives for ``GAP_S``, at most
``WINDOW_S``: a lone confirmation waits 50 ms, a burst is taken as one), claims each one in
Redis (``SET NX``: only one replica evaluates a change) and evaluates the changed columns and
the columns of changed tables, the columns they feed through lineage and the labelled ones
that feed them (10 hops each way, as far as labels are inherited: a column's facts hold what it
inherits and where its own labels go), in one evaluation (batches of OPA calls) under the rule
set in force, read again only when its version moved. A change to a table's owners or tags
counts for its columns; a label or a new lineage edge (a view, a foreign key, an OpenLineage
run: ``lineage`` changes on ``datawave.changes.v1``, or ``addLineage``) counts along lineage too.

Each evaluation's findings are announced as they are written; its waivers, escalations and
scores are settled by a task of their own, so the next changes' findings do not wait behind
them (evaluations that end while it works are settled together next). When OPA is down the
columns wait and are evaluated with the next batch; a watcher that fell a whole queue behind
evaluates everything once. Every minute it also escalates critical findings that stayed open
too long (evaluations do as well). It warms up first (rule set, OPA connection, query plans),
so the first change after a start does not pay for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from pydantic import ValidationError

from governance.evaluation import (
    Evaluation,
    RuleSets,
    announce,
    escalate,
    evaluate,
    evaluate_columns,
    settle,
    warm_up,
)
from governance.opa import PolicyEngineUnavailable
from graph import compliance
from live.broadcast import SlowConsumer, Subscription
from live.changes import CATALOG_CHANNEL, CatalogChange
from live.state import AppState

log = logging.getLogger("datawave.compliance.watch")

WINDOW_S = 0.2  # gather changes at most this long after the first one
GAP_S = 0.05  # ... and stop as soon as none came for this long
MAX_CHANGES = 500
CLAIM_TTL_S = 600
KINDS = frozenset({"column", "table"})
ESCALATION_CHECK_S = 60.0


async def _window(sub: Subscription) -> list[CatalogChange]:
    """The next change, and those that follow it closely, within the window."""
    messages = [await anext(sub)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WINDOW_S
    while len(messages) < MAX_CHANGES and (left := deadline - loop.time()) > 0:
        try:
            messages.append(await asyncio.wait_for(anext(sub), min(left, GAP_S)))
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


class _Owed:
    """Evaluations whose waivers, escalations and scores are still to settle, merged: the
    latest rule set and controls, every finding resolved (scores cover their domains)."""

    def __init__(self) -> None:
        self._result: Evaluation | None = None
        self._ready = asyncio.Event()

    def add(self, result: Evaluation) -> None:
        if not result.rule_set:
            return
        if self._result is None:
            self._result = result
        else:
            self._result.rule_set, self._result.controls = result.rule_set, result.controls
            self._result.resolved += result.resolved
        self._ready.set()

    async def take(self) -> Evaluation:
        await self._ready.wait()
        self._ready.clear()
        result, self._result = self._result, None
        assert result is not None
        return result


async def watch_changes(state: AppState) -> None:
    """Run until cancelled (the API's lifespan starts it beside the change relay)."""
    owed = _Owed()
    await asyncio.gather(
        _evaluate_changes(state, owed), _settle(state, owed), _escalate_periodically(state)
    )


async def _settle(state: AppState, owed: _Owed) -> None:
    while True:
        result = await owed.take()
        try:
            await settle(state, result)
        except Exception:  # the next evaluation settles again
            log.exception("settling an evaluation failed")


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


async def _evaluate_changes(state: AppState, owed: _Owed) -> None:
    driver, database = state.neo4j, state.settings.neo4j.database
    waiting: set[str] = set()  # columns whose evaluation OPA could not do yet
    rule_sets, cold = RuleSets(), True
    while True:
        try:
            async with state.broadcast.subscribe(CATALOG_CHANNEL) as sub:
                if cold:  # subscribed first: changes meanwhile wait in the subscription
                    cold = False
                    with contextlib.suppress(PolicyEngineUnavailable):
                        await warm_up(state, rule_sets)
                while True:
                    changes = await _window(sub)
                    urns = await _claimed(state, changes) if changes else []
                    if not urns and not waiting:
                        continue
                    affected = await compliance.affected_columns(driver, database, urns)
                    columns = set(affected) | waiting
                    if not columns:
                        continue
                    try:
                        owed.add(
                            await evaluate_columns(state, urns=sorted(columns), rule_sets=rule_sets)
                        )
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
