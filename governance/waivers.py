"""Waivers: a finding accepted for a while, requested by one person and approved by another.

An approved waiver makes its finding ``waived`` until ``expiresAt``; the first evaluation after
that expires it and the finding is open again if the asset still violates the rule. A request
nobody approved by then expires too: approving it would waive a finding for no time at all, and
while it waited, no other request could be made. Who may request or approve one for a finding
is the caller's scope (``reaches``): a finding outside it reads as missing, so its existence
tells nothing about another domain. A waiver is named by its URN (``urn:dw:waiver:<uuid>``); an
approval that waives its finding is announced on ``complianceUpdates`` as evaluations announce
theirs, and the scores it changes are recorded and announced too.

A request may also be declined (by whoever may approve it, not its requester) or withdrawn (by
its requester); an approved waiver that still runs may be revoked (by whoever may approve it):
its finding, still waived, is open again at once, announced and scored as an approval is. Each
says why; who, when and why are kept on the waiver (``closedBy``, ``closedAt``,
``closeReason``), so a report as of a moment it ran still reads its finding waived. Each step
applies only from the status it read (two approvers, a requester and an approver, a revocation
and an expiry may act at once): the first to commit wins, the other is told to read it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.urns import waiver_urn
from governance.evaluation import announce_finding, rescore
from governance.policies import MAX_NOTE, NotFound, SelfApproval, WorkflowError, WrongState
from graph import compliance
from graph.driver import Record
from graph.models import Waiver, unit_of_work
from live.state import AppState

MAX_DAYS = 365
# A waiver's fields by the names they are stored under.
_STORED = {
    name: prop.db_property or name
    for name, prop in Waiver.defined_properties(rels=False, aliases=False).items()
}
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
    why = _why(reason)
    found = await _reached(state, finding, reaches)
    if found is None:
        raise NotFound(f"no finding {finding}", finding)
    if found["status"] != "open":
        raise WrongState(f"the finding is {found['status']}, not open", "finding")
    now, key = datetime.now(UTC), str(uuid.uuid4())
    # A request past its end can no longer be approved (it expires): it blocks nobody.
    pending = Waiver.nodes.filter(finding=finding, status="requested", expires_at__gt=now)
    if await pending.first_or_none():
        raise WrongState("a waiver of the finding awaits approval already", "finding")
    async with unit_of_work(state.settings.neo4j.database):
        waiver = await Waiver(
            key=key,
            urn=waiver_urn(key),
            name=f"waiver of {found['name']}",
            finding=finding,
            reason=why,
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
    if waiver.expires_at <= datetime.now(UTC):  # the next evaluation marks it expired
        raise WrongState("the waiver ended before anyone approved it; request another", "waiver")
    if waiver.requested_by == actor:
        raise SelfApproval(f"{actor} requested this waiver; someone else must approve it", "waiver")
    async with unit_of_work(state.settings.neo4j.database):
        await _step(waiver, "approved", approved_by=actor, approved_at=datetime.now(UTC))
        status = await compliance.waive_finding(waiver.finding, waiver.urn, approved=True)
    if status == "waived" and found["status"] != "waived":  # (one resolved meanwhile stays so)
        await announce_finding(state, {**found, "status": status})
        await rescore(state)  # its controls may pass now
    return waiver


async def _open(state: AppState, urn: str, reaches: Reaches) -> tuple[Waiver, Record]:
    """The waiver ``urn`` names and its finding, if the caller reaches that finding: an unknown
    waiver, or one of a finding out of reach, is ``NotFound`` alike."""
    waiver = await Waiver.nodes.get_or_none(urn=urn)
    found = None if waiver is None else await _reached(state, waiver.finding, reaches)
    if waiver is None or found is None:
        raise NotFound(f"no waiver {urn}", urn)
    return waiver, found


async def _step(waiver: Waiver, end: str, **stamps: Any) -> None:
    """Move the waiver on from the status it was read in, with ``stamps`` (its fields), inside
    the step's transaction. Another step or an expiry committed since the read wins and this
    one is refused: saving the object would write over it (a withdrawn request approved, an
    expired waiver revoked, its finding's status out of step with it)."""
    stored = {_STORED[name]: value for name, value in stamps.items()}
    if not await compliance.step_waiver(waiver.urn, waiver.status, end, stored):
        raise WrongState("the waiver changed meanwhile; read it again", "waiver")
    waiver.status = end
    for name, value in stamps.items():
        setattr(waiver, name, value)


def _why(reason: str) -> str:
    if not 0 < len(reason.strip()) <= MAX_NOTE:
        raise WorkflowError(f"say why, in 1 to {MAX_NOTE} characters", "reason")
    return reason.strip()


def _pending(waiver: Waiver, now: datetime) -> None:
    if waiver.status != "requested":
        raise WrongState(f"the waiver is {waiver.status}, not awaiting approval", "waiver")
    if waiver.expires_at <= now:  # the next evaluation marks it expired
        raise WrongState("the waiver ended before anyone approved it; it expires", "waiver")


async def _close(state: AppState, waiver: Waiver, status: str, actor: str, why: str) -> Waiver:
    """A pending request closed unapproved (declined, withdrawn): its finding never was waived
    by it, so nothing else changes."""
    async with unit_of_work(state.settings.neo4j.database):
        await _step(waiver, status, closed_by=actor, closed_at=datetime.now(UTC), close_reason=why)
    return waiver


async def _pending_request(
    state: AppState, urn: str, reason: str, reaches: Reaches
) -> tuple[Waiver, str]:
    """The request ``urn`` still awaiting approval, and the reason (checked) to close it."""
    why = _why(reason)
    waiver, _ = await _open(state, urn, reaches)
    _pending(waiver, datetime.now(UTC))
    return waiver, why


async def decline_waiver(
    state: AppState, actor: str, urn: str, reason: str, reaches: Reaches
) -> Waiver:
    """Decline a request awaiting approval, saying why; not its requester's (who withdraws)."""
    waiver, why = await _pending_request(state, urn, reason, reaches)
    if waiver.requested_by == actor:
        raise SelfApproval(f"{actor} requested this waiver: withdraw it instead", "waiver")
    return await _close(state, waiver, "declined", actor, why)


async def withdraw_waiver(
    state: AppState, actor: str, urn: str, reason: str, reaches: Reaches
) -> Waiver:
    """Withdraw one's own request awaiting approval, saying why."""
    waiver, why = await _pending_request(state, urn, reason, reaches)
    if waiver.requested_by != actor:
        raise WrongState(
            f"only its requester may withdraw it; {waiver.requested_by} requested it", "waiver"
        )
    return await _close(state, waiver, "withdrawn", actor, why)


async def revoke_waiver(
    state: AppState, actor: str, urn: str, reason: str, reaches: Reaches
) -> Waiver:
    """Revoke an approved waiver that still runs, saying why: its finding, if still waived (its
    cause holds), is open again now, announced, and the scores it changes recorded."""
    why = _why(reason)
    waiver, found = await _open(state, urn, reaches)
    now = datetime.now(UTC)
    if waiver.status != "approved":
        raise WrongState(f"the waiver is {waiver.status}, not approved", "waiver")
    if waiver.expires_at <= now:  # the next evaluation marks it expired
        raise WrongState("the waiver has ended already", "waiver")
    async with unit_of_work(state.settings.neo4j.database):
        await _step(waiver, "revoked", closed_by=actor, closed_at=now, close_reason=why)
        status = await compliance.unwaive_finding(waiver.finding, now)
    if status == "open" and found["status"] != "open":  # (one resolved meanwhile stays so)
        await announce_finding(state, {**found, "status": status})
        await rescore(state)  # its controls fail again
    return waiver
