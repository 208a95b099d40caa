"""Waivers: a finding accepted for a while, requested by one person and approved by another.

An approved waiver makes its finding ``waived`` until ``expiresAt``; the first evaluation after
that expires it and the finding is open again if the asset still violates the rule. Who may
request or approve one for a finding is the caller's scope (``reaches``): a finding outside it
reads as missing, so its existence tells nothing about another domain. A waiver is named by its
URN (``urn:dw:waiver:<uuid>``); an approval that waives its finding is announced on
``complianceUpdates`` as evaluations announce theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.urns import waiver_urn
from governance.evaluation import announce_finding
from governance.policies import NotFound, SelfApproval, WorkflowError, WrongState
from graph import compliance
from graph.driver import Record
from graph.models import Waiver, unit_of_work
from live.state import AppState

MAX_DAYS = 365
Reaches = Callable[[Mapping[str, Any]], bool]  # whether the caller may act on a finding


async def _reached(state: AppState, finding: str, reaches: Reaches) -> Record | None:
    """The finding, if there is one the caller may act on."""
    found = await compliance.get_finding(state.neo4j, state.settings.neo4j.database, finding)
    return found if found is not None and reaches(found) else None


async def request_waiver(
    state: AppState, actor: str, finding: str, reason: str, days: int, reaches: Reaches
) -> Waiver:
    if not 1 <= days <= MAX_DAYS:
        raise WorkflowError(f"a waiver lasts 1 to {MAX_DAYS} days", "days")
    if not reason.strip():
        raise WorkflowError("say why the finding may stay open", "reason")
    found = await _reached(state, finding, reaches)
    if found is None:
        raise NotFound(f"no finding {finding}", finding)
    if found["status"] != "open":
        raise WrongState(f"the finding is {found['status']}, not open", "finding")
    if await Waiver.nodes.filter(finding=finding, status="requested").first_or_none():
        raise WrongState("a waiver of the finding awaits approval already", "finding")
    now, key = datetime.now(UTC), str(uuid.uuid4())
    async with unit_of_work(state.settings.neo4j.database):
        waiver = await Waiver(
            key=key,
            urn=waiver_urn(key),
            name=f"waiver of {found['name']}",
            finding=finding,
            reason=reason.strip(),
            requested_by=actor,
            requested_at=now,
            expires_at=now + timedelta(days=days),
        ).save()
        await compliance.waive_finding(finding, waiver.urn, approved=False)
    return waiver


async def approve_waiver(state: AppState, actor: str, urn: str, reaches: Reaches) -> Waiver:
    """Approve the waiver ``urn`` names; an unknown one, or one of a finding the caller does
    not reach, is ``NotFound`` alike."""
    waiver = await Waiver.nodes.get_or_none(urn=urn)
    found = None if waiver is None else await _reached(state, waiver.finding, reaches)
    if waiver is None or found is None:
        raise NotFound(f"no waiver {urn}", urn)
    if waiver.status != "requested":
        raise WrongState(f"the waiver is {waiver.status}", "waiver")
    if waiver.requested_by == actor:
        raise SelfApproval(f"{actor} requested this waiver; someone else must approve it", "waiver")
    async with unit_of_work(state.settings.neo4j.database):
        waiver.status, waiver.approved_by, waiver.approved_at = "approved", actor, datetime.now(UTC)
        await waiver.save()
        status = await compliance.waive_finding(waiver.finding, waiver.urn, approved=True)
    if status == "waived" and found["status"] != "waived":  # (one resolved meanwhile stays so)
        await announce_finding(state, {**found, "status": status})
    return waiver
