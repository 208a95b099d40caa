"""Cross-domain access: a consumer team requests a published product version, the product's
owner decides (never the requester: four eyes), and an approval grants the team that version
until the grant expires or is revoked. Request, decision and revocation share one correlation
id on ``datawave.mesh.v1``.
"""

from __future__ import annotations

import uuid
from typing import Any

from core.urns import domain_urn
from graph import access as graph
from live.state import AppState
from mesh.domains import get_team
from mesh.errors import MeshError, NotFound, SelfApproval, WrongState
from mesh.events import emit
from mesh.lifecycle import Status
from mesh.products import get_version

MAX_PURPOSE = 2000


def _db(state: AppState) -> str:
    return state.settings.neo4j.database


async def request_access(
    state: AppState, actor: str, version: str, team: str, purpose: str, days: int,
    for_any_team: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Ask for ``team``, of which the requester must be a member (unless ``for_any_team``: a
    caller without domain restrictions may ask for any team)."""
    if not 0 < len(purpose.strip()) <= MAX_PURPOSE:
        raise MeshError(f"say why, in 1 to {MAX_PURPOSE} characters", "purpose")
    if not 0 < days <= (most := state.settings.mesh.max_grant_days):
        raise MeshError(f"a grant lasts 1 to {most} days", "days")
    record = await get_version(state, version)
    if record["status"] != Status.PUBLISHED:
        raise WrongState(f"version {record['version']} is {record['status']}, not published",
                         "version")  # fmt: skip
    consumer = await get_team(state, team)
    if not for_any_team and actor not in (consumer.get("members") or []):
        raise MeshError(f"you are not a member of team {consumer['name']}", "team")
    id = uuid.uuid4().hex
    saved = await graph.request(
        state.neo4j, _db(state), id, version, team, purpose.strip(), days, actor, id
    )
    if saved is None:  # the version or team went away in between
        raise NotFound(f"no product version {version}", "version")
    await _emit(state, saved, record["domain"], "access.requested", actor)
    return {**saved, "domain": record["domain"]}


async def get_request(state: AppState, id: str) -> dict[str, Any]:
    found = await graph.get(state.neo4j, _db(state), id)
    if found is None:
        raise NotFound(f"no access request {id}", "request")
    return found


async def decide(
    state: AppState, actor: str, id: str, approve: bool, reason: str
) -> dict[str, Any]:
    """Approve (granting access) or reject a pending request someone else made."""
    found = await get_request(state, id)
    if found["requestedBy"] == actor:
        raise SelfApproval("four eyes: someone other than the requester decides", "request")
    if found["status"] != "pending":
        raise WrongState(f"the request is {found['status']} already", "request")
    saved = await graph.decide(state.neo4j, _db(state), id, approve, reason, actor)
    if saved is None:
        raise WrongState("the request was decided meanwhile", "request")
    action = "access.approved" if approve else "access.rejected"
    await _emit(state, saved, found["domain"], action, actor, reason=reason)
    return {**saved, "domain": found["domain"]}


async def revoke(state: AppState, actor: str, id: str, reason: str) -> dict[str, Any]:
    """End an approved request's grant now."""
    found = await get_request(state, id)
    if found["status"] != "approved":
        raise WrongState(f"the request is {found['status']}: only a grant is revoked", "request")
    if not reason.strip():
        raise MeshError("say why the grant ends", "reason")
    saved = await graph.revoke(state.neo4j, _db(state), id, reason.strip(), actor)
    if saved is None:
        raise WrongState("the request changed meanwhile", "request")
    await _emit(state, saved, found["domain"], "access.revoked", actor, reason=reason)
    return {**saved, "domain": found["domain"]}


async def _emit(
    state: AppState, request: dict[str, Any], domain: str, action: str, actor: str, **detail: Any
) -> None:
    await emit(
        state, source=domain_urn(domain), subject=request["version"],
        correlation=request["correlationId"], action=action, actor=actor,
        product=request["product"], version=request["version"], request=request["id"],
        team=request["team"], **detail,
    )  # fmt: skip
