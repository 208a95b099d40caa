"""Domains and teams as managed entities, and which assets a domain holds.

A domain is created once by name (its ``:Domain {name}`` node may exist already, made by an
older product; it is then taken over), updated by its owners, archived rather than deleted.
Teams belong to one domain and list their members. Assigning a data source, a schema or single
assets to a domain puts them and all they contain in it (graph/domains.py): RBAC scoping, the
cache and search follow at once, as the tables whose domain changed are announced on
``datawave.changes.v1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core.events import ASSET_CHANGED, AssetChanged, make_event
from core.topics import CHANGES
from core.urns import InvalidUrn, Urn, domain_urn, source_urn, team_urn
from graph import domains as graph
from live.state import AppState
from mesh.errors import Duplicate, MeshError, NotFound, WrongState
from mesh.events import emit

NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")  # matched whole: ``$`` would let "sales\n" in
MAX_TEXT = 10_000
MAX_PEOPLE = 200
MAX_ASSIGN = 500


def check_name(name: str, field: str = "name") -> str:
    if not NAME.fullmatch(name):
        raise MeshError(
            f"{name!r}: lower-case letters, digits and dashes, starting with a letter", field
        )
    return name


def _people(people: list[str], field: str) -> list[str]:
    cleaned = sorted({p.strip() for p in people if p.strip()})
    if len(cleaned) > MAX_PEOPLE or any(len(p) > 200 for p in cleaned):
        raise MeshError(f"at most {MAX_PEOPLE} names of up to 200 characters", field)
    return cleaned


def _text(text: str | None, field: str) -> str | None:
    if text is not None and len(text) > MAX_TEXT:
        raise MeshError(f"at most {MAX_TEXT} characters", field)
    return text


def _db(state: AppState) -> str:
    return state.settings.neo4j.database


async def _emit(state: AppState, urn: str, action: str, actor: str, **detail: Any) -> None:
    await emit(
        state, source=urn, subject=urn, correlation=urn, action=action, actor=actor,
        **detail,
    )  # fmt: skip


async def create_domain(
    state: AppState, actor: str, name: str, description: str, owners: list[str]
) -> dict[str, Any]:
    check_name(name)
    urn = domain_urn(name)
    record, created = await graph.create_domain(
        state.neo4j, _db(state), urn, name, _text(description, "description"),
        _people(owners or [actor], "owners"), actor,
    )  # fmt: skip
    if not created:
        raise Duplicate(f"domain {name} exists already", "name")
    await _emit(state, urn, "domain.created", actor)
    return record


async def get_domain(state: AppState, urn: str) -> dict[str, Any]:
    record = await graph.get_domain(state.neo4j, _db(state), urn)
    if record is None:
        raise NotFound(f"no domain {urn}", urn)
    return record


async def open_domain(state: AppState, urn: str) -> dict[str, Any]:
    """The domain, refused if archived: nothing new goes into an archived domain."""
    record = await get_domain(state, urn)
    if record.get("archivedAt"):
        raise WrongState(f"domain {record['name']} is archived", "domain")
    return record


async def update_domain(
    state: AppState, actor: str, urn: str, *, description: str | None, owners: list[str] | None,
    archive: bool,
) -> dict[str, Any]:  # fmt: skip
    await get_domain(state, urn)
    record = await graph.update_domain(
        state.neo4j, _db(state), urn, actor, description=_text(description, "description"),
        owners=_people(owners, "owners") if owners is not None else None, archive=archive,
    )  # fmt: skip
    if record is None:
        raise NotFound(f"no domain {urn}", urn)
    await _emit(state, urn, "domain.archived" if archive else "domain.updated", actor)
    return record


async def save_team(
    state: AppState, actor: str, domain: str, name: str, description: str | None,
    members: list[str], may_leave: Callable[[str], object],
) -> dict[str, Any]:  # fmt: skip
    """Create or update a team of ``domain``. Team names are global: a team of another domain
    moves here only if ``may_leave`` (given that domain's URN, it raises for a caller who may
    not edit it) lets it go, and never while it owns products there (a product's owner team
    is a team of its domain)."""
    check_name(name)
    target = await open_domain(state, domain)
    urn = team_urn(name)
    current = await graph.get_team(state.neo4j, _db(state), urn)
    home = current and current["domain"]
    if home and home != target["name"]:
        may_leave(domain_urn(home))
        if current["owns"]:
            raise WrongState(
                f"team {name} owns {current['owns']} data product(s) of domain {home}: give "
                "them another owner team before it moves", "domain",
            )  # fmt: skip
    record = await graph.save_team(
        state.neo4j, _db(state), domain, urn, name, _text(description, "description"),
        _people(members, "members"), actor,
    )  # fmt: skip
    if record is None:
        raise NotFound(f"no domain {domain}", domain)
    await _emit(state, domain, "team.saved", actor, team=urn)
    return record


async def get_team(state: AppState, urn: str) -> dict[str, Any]:
    record = await graph.get_team(state.neo4j, _db(state), urn)
    if record is None:
        raise NotFound(f"no team {urn}", urn)
    return record


def assignable(urn: str) -> str:
    """A data source, database, schema, table or column URN."""
    try:
        kind = Urn.parse(urn).kind
    except InvalidUrn as err:
        raise MeshError(str(err), "assets") from None
    if kind not in ("source", "database", "schema", "table", "column"):
        raise MeshError(f"{urn}: only sources and assets are assigned to domains", "assets")
    return urn


async def assign(
    state: AppState, actor: str, domain: str, urns: list[str], remove: bool = False
) -> graph.Assignment:
    """Put ``urns`` (and what they contain) in ``domain``, or take them out; return each one
    found with the tables whose domain changed, and the databases and schemas it holds."""
    if not 0 < len(urns) <= MAX_ASSIGN:
        raise MeshError(f"1 to {MAX_ASSIGN} URNs at a time", "assets")
    urns = [assignable(u) for u in dict.fromkeys(urns)]
    await (get_domain(state, domain) if remove else open_domain(state, domain))
    present = await graph.existing(state.neo4j, _db(state), urns)
    if missing := [u for u in urns if u not in present]:
        raise NotFound(f"no asset or source {missing[0]}", missing[0])
    found = await graph.assign(state.neo4j, _db(state), domain, urns, remove)
    tables = found.all_tables
    # The relay refreshes their search documents (which carry domains) from these.
    for table in tables:
        event = make_event(
            ASSET_CHANGED,
            source_urn(Urn.parse(table).source or ""),
            table,
            AssetChanged(change="changed", fields=["domains"]),
        )
        await state.producer.send_and_wait(CHANGES, event.to_bytes(), key=event.key)
    action = "assets.unassigned" if remove else "assets.assigned"
    await _emit(state, domain, action, actor, assets=urns)
    return found
