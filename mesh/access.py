"""Cross-domain access: a consumer team requests a published product version, the product's
owner decides (never the requester: four eyes), and an approval grants the team that version
until the grant expires or is revoked. Request, decision and revocation share one correlation
id on ``datawave.mesh.v1``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from core.urns import Urn, access_urn
from graph import access as graph
from live.state import AppState
from mesh.domains import get_team
from mesh.errors import MeshError, NotFound, SelfApproval, WrongState
from mesh.events import emit_request
from mesh.lifecycle import Status, check_grantable, check_migration
from mesh.policy import ACCESS, Gate
from mesh.products import get_version

MAX_PURPOSE = 2000


def _db(state: AppState) -> str:
    return state.settings.neo4j.database


async def request_access(
    state: AppState, actor: str, version: str, team: str, purpose: str, days: int, gate: Gate,
    for_any_team: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Ask for ``team``, of which the requester must be a member (unless ``for_any_team``: a
    caller without domain restrictions may ask for any team), if the rules in force allow the
    request (``gate``)."""
    if not 0 < len(purpose.strip()) <= MAX_PURPOSE:
        raise MeshError(f"say why, in 1 to {MAX_PURPOSE} characters", "purpose")
    most = state.settings.mesh.max_grant_days
    if not 0 < days <= most:
        raise MeshError(f"a grant lasts 1 to {most} days", "days")
    record = await get_version(state, version)
    _grantable(record)
    consumer = await get_team(state, team)
    if not for_any_team and actor not in (consumer.get("members") or []):
        raise MeshError(f"you are not a member of team {consumer['name']}", "team")
    await gate(ACCESS, {"version": version, "team": team, "purpose": purpose, "days": days}, [])
    id = uuid.uuid4().hex
    urn = access_urn(*Urn.parse(record["product"]).path, id)
    saved = await graph.request(
        state.neo4j, _db(state), urn, id, version, team, purpose.strip(), days, actor, id
    )
    if saved is None:  # the version or team went away in between
        raise NotFound(f"no product version {version}", version)
    await emit_request(state, saved, "access.requested", actor)
    return {**saved, "domain": record["domain"]}


def _grantable(version: dict[str, Any]) -> None:
    check_grantable(version["version"], Status(version["status"]), version.get("quarantine"))


async def get_request(state: AppState, urn: str) -> dict[str, Any]:
    found = await graph.get(state.neo4j, _db(state), urn)
    if found is None:
        raise NotFound(f"no access request {urn}", urn)
    return found


async def decide(
    state: AppState, actor: str, urn: str, approve: bool, reason: str
) -> dict[str, Any]:
    """Approve (granting access) or reject a pending request someone else made."""
    found = await get_request(state, urn)
    if found["requestedBy"] == actor:
        raise SelfApproval("four eyes: someone other than the requester decides", "request")
    if found["status"] != "pending":
        raise WrongState(f"the request is {found['status']} already", "request")
    if approve:  # the version may have been retired or quarantined since the request
        _grantable(await get_version(state, found["version"]))
    saved = await graph.decide(state.neo4j, _db(state), urn, approve, reason, actor)
    if saved is None:
        raise WrongState("the request or its version changed meanwhile; read it again",
                         "request")  # fmt: skip
    action = "access.approved" if approve else "access.rejected"
    await emit_request(state, saved, action, actor, reason=reason)
    return {**saved, "domain": found["domain"]}


async def accept_terms(
    state: AppState, actor: str, urn: str, for_any_team: bool = False
) -> dict[str, Any]:
    """A member of the consumer team (or, with ``for_any_team``, an unrestricted caller) agrees
    to the contract terms of the requested version; the SHA-256 of its ODCS text is recorded."""
    found = await get_request(state, urn)
    await _member(state, actor, found, for_any_team)
    if found["status"] not in ("pending", "approved"):
        raise WrongState(f"the request is {found['status']}", "request")
    if found.get("termsAcceptedAt"):
        raise WrongState(f"{found['termsAcceptedBy']} accepted the terms already", "request")
    version = await get_version(state, found["version"])
    digest = hashlib.sha256(version["odcs"].encode()).hexdigest()
    saved = await graph.accept(state.neo4j, _db(state), urn, actor, digest)
    if saved is None:
        raise WrongState("the request changed meanwhile", "request")
    await emit_request(state, saved, "access.terms_accepted", actor, digest=digest)
    return {**saved, "domain": found["domain"]}


async def _member(state: AppState, actor: str, request: dict[str, Any], for_any_team: bool) -> None:
    """The actor speaks for the request's consumer team: a member, or unrestricted."""
    team = await get_team(state, request["team"])
    if not for_any_team and actor not in (team.get("members") or []):
        raise MeshError(f"you are not a member of team {team['name']}", "request")


async def migrate(
    state: AppState, actor: str, urn: str, to: str, for_any_team: bool = False
) -> dict[str, Any]:
    """A member of the consumer team moves the request's grant to a newer published version
    of the same product (same assets, same expiry: no new decision is needed)."""
    found = await get_request(state, urn)
    await _member(state, actor, found, for_any_team)
    if found["status"] != "approved":
        raise WrongState(f"the request is {found['status']}: only a grant migrates", "request")
    bound = await get_version(state, found.get("boundTo") or found["version"])
    target = await get_version(state, to)
    if target["product"] != found["product"]:
        raise MeshError(f"{to} is a version of another product", "version")
    check_migration(
        bound["version"], target["version"], Status(target["status"]), target.get("quarantine")
    )
    saved = await graph.migrate(state.neo4j, _db(state), urn, bound["urn"], to, actor)
    if saved is None:
        raise WrongState("the grant or the version changed meanwhile; read them again", "request")
    await emit_request(state, saved, "consumer.migrated", actor, migratedFrom=bound["urn"])
    return {**saved, "domain": found["domain"]}


async def revoke(state: AppState, actor: str, urn: str, reason: str) -> dict[str, Any]:
    """End an approved request's grant now."""
    found = await get_request(state, urn)
    if found["status"] != "approved":
        raise WrongState(f"the request is {found['status']}: only a grant is revoked", "request")
    if not reason.strip():
        raise MeshError("say why the grant ends", "reason")
    saved = await graph.revoke(state.neo4j, _db(state), urn, reason.strip(), actor)
    if saved is None:
        raise WrongState("the request changed meanwhile", "request")
    await emit_request(state, saved, "access.revoked", actor, reason=reason)
    return {**saved, "domain": found["domain"]}
