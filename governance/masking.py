"""The masking policy: which roles see which labels in clear, and how others see them.

Masking rules are the content of the one masking policy (``policies.MASKING``), so a change
goes through the policy workflow like any other: a draft, submitted, approved by someone who
did not write it, activated (a new rule set), rolled back, each step audited and announced.
With no version active, the shipped default masks (security/masking.shipped: today's
``pii:read`` rule).

Every API process holds the version in force in memory (``Masker.policy``) and decides each
field from it, with no query or OPA call per field. The process that activates a version loads
it at once and tells the others on the Redis ``masking`` channel; each also reloads after a
Redis outage and every ``REFRESH_S``, in case a message was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from neo4j.exceptions import DriverError, Neo4jError
from redis.exceptions import RedisError

from governance import policies
from graph import masking as stored
from graph.models import PolicyVersion
from live.broadcast import publish
from live.state import AppState
from ml.taxonomy import BUILTIN
from security.masking import MaskingPolicy, MaskingRule, Treatment
from security.rbac import GRANTABLE, ROLES

log = logging.getLogger("datawave.masking")

CHANNEL = "masking"
REFRESH_S = 60.0
PERMISSIONS = frozenset(str(p) for perms in ROLES.values() for p in perms) | {
    str(p) for p in GRANTABLE
}


class Problem(StrEnum):
    UNKNOWN_LABEL = "unknown_label"
    UNKNOWN_ROLE = "unknown_role"
    UNKNOWN_PERMISSION = "unknown_permission"
    UNKNOWN_DOMAIN = "unknown_domain"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class RuleProblem:
    """What is wrong with rule number ``rule`` (0-based), in which field."""

    rule: int
    field: str
    problem: Problem
    message: str
    conflicts_with: int | None = None


class InvalidRules(policies.WorkflowError):
    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems), "rules")
        self.problems = problems


# -- the stored document ------------------------------------------------------------------------


def document(policy: MaskingPolicy) -> dict[str, Any]:
    """A policy as a version stores it (``PolicyVersion.masking``)."""
    rules = [
        {
            "treatment": r.treatment.value,
            "labels": sorted(r.labels),
            "sensitivity": r.sensitivity,
            "roles": sorted(r.roles),
            "permission": r.permission,
            "domain": r.domain,
        }
        for r in policy.rules
    ]
    return {"rules": rules, "default": policy.default.value}


def from_document(doc: dict[str, Any], version: int = 0) -> MaskingPolicy:
    rules = tuple(
        MaskingRule(
            treatment=Treatment(r["treatment"]),
            labels=frozenset(r["labels"]),
            sensitivity=r["sensitivity"],
            roles=frozenset(r["roles"]),
            permission=r["permission"],
            domain=r["domain"],
        )
        for r in doc["rules"]
    )
    return MaskingPolicy(rules, Treatment(doc["default"]), version)


# -- editing -------------------------------------------------------------------------------------


def conflicts(rules: tuple[MaskingRule, ...]) -> list[RuleProblem]:
    """A rule with the conditions of an earlier one never decides: a contradiction or a copy."""
    first: dict[tuple[object, ...], int] = {}
    found = []
    for i, rule in enumerate(rules):
        j = first.setdefault(rule.condition, i)
        if j != i:
            how = "contradicts" if rules[j].treatment != rule.treatment else "repeats"
            message = f"rule {i} {how} rule {j}: same conditions, so it never applies"
            found.append(RuleProblem(i, "rules", Problem.CONFLICT, message, conflicts_with=j))
    return found


async def check(state: AppState, policy: MaskingPolicy) -> list[RuleProblem]:
    """Every problem of the rules: names nothing knows, and rules that never apply."""
    names = sorted({n for r in policy.rules for n in r.labels})
    domains = sorted({r.domain for r in policy.rules if r.domain})
    labels, known_domains = await stored.known(
        state.neo4j, state.settings.neo4j.database, names, domains
    )
    labels |= {d.name for d in BUILTIN} | {d.category for d in BUILTIN}
    found = []
    for i, rule in enumerate(policy.rules):
        found += [
            RuleProblem(i, "labels", Problem.UNKNOWN_LABEL, f"rule {i}: no label or category {n!r}")
            for n in sorted(rule.labels - labels)
        ]
        found += [
            RuleProblem(i, "roles", Problem.UNKNOWN_ROLE, f"rule {i}: no role {r!r}")
            for r in sorted(rule.roles - ROLES.keys())
        ]
        if rule.permission is not None and rule.permission not in PERMISSIONS:
            message = f"rule {i}: no permission {rule.permission!r}"
            found.append(RuleProblem(i, "permission", Problem.UNKNOWN_PERMISSION, message))
        if rule.domain is not None and rule.domain not in known_domains:
            message = f"rule {i}: no domain {rule.domain!r}"
            found.append(RuleProblem(i, "domain", Problem.UNKNOWN_DOMAIN, message))
    return found + conflicts(policy.rules)


async def set_rules(state: AppState, actor: str, policy: MaskingPolicy) -> PolicyVersion:
    """Check the rules, then make them the masking policy's draft (created with the policy at
    first, copied from the latest version after)."""
    if problems := await check(state, policy):
        raise InvalidRules(problems)
    database = state.settings.neo4j.database
    try:
        holder = await policies.get_policy(policies.MASKING)
    except policies.NotFound:
        description = "Which roles see which labels in clear, and how others see them."
        holder = await policies.create_policy(
            database, actor, policies.MASKING_NAME, description, None, masking=True
        )
    draft = await policies.editable(database, holder, actor)
    draft.masking = document(policy)
    return await draft.save()


# -- in force ------------------------------------------------------------------------------------


async def in_force() -> MaskingPolicy | None:
    """The active version's rules; None: none is active (the shipped default masks)."""
    active = await PolicyVersion.nodes.filter(
        policy=policies.MASKING, state=policies.State.ACTIVE.value
    ).first_or_none()
    if active is None or active.masking is None:
        return None
    return from_document(active.masking, active.version)


async def refresh(state: AppState) -> None:
    """Load the version in force into this process."""
    state.masker.use(await in_force())


async def announce(state: AppState) -> None:
    """Load it here now, and have every other process load it (or reload it within
    ``REFRESH_S`` if Redis did not pass the word)."""
    await refresh(state)
    try:
        await publish(state.redis, CHANNEL, {"version": state.masker.policy.version})
    except (RedisError, OSError) as err:
        log.warning("masking version %d not announced: %s", state.masker.policy.version, err)


async def follow(state: AppState) -> None:
    """Keep this process's masking policy current until cancelled (the app's lifespan)."""
    async with state.broadcast.subscribe(CHANNEL, resumed=True) as sub:
        while True:
            try:
                await refresh(state)
            except (Neo4jError, DriverError, OSError, KeyError, ValueError) as err:
                log.warning("masking policy not reloaded (%s); keeping version %d", err,
                            state.masker.policy.version)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(sub), REFRESH_S)
