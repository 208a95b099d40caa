"""The gate mesh steps pass (mesh/policy.py): the governance engine's operation check.

The step's arguments go to OPA as ``input.operation`` with the product or version as its asset
(its domain, and the labels the product exposes, so rules scoped by domain or label category
apply); a refusal is a ``PolicyViolation`` naming the rules and noted as denied in the audit
trail, like a governed mutation's (resolvers/governance/governed.py). With rules in force and
OPA unreachable the step fails closed.
"""

from __future__ import annotations

from typing import Any

from governance import operations
from governance.opa import PolicyEngineUnavailable
from mesh import errors
from mesh.policy import Gate
from resolvers.context import Info
from resolvers.mesh.types import domain_of


def gate(info: Info, urn: str) -> Gate:
    """The gate for a step on ``urn`` (a domain, product or version) by the caller."""
    guard = info.context.guard

    async def check(action: str, args: dict[str, Any], labels: list[dict[str, Any]]) -> None:
        actor = guard.principal.subject if guard.principal else ""
        asset = {"urn": urn, "source": None, "domains": [domain_of(urn)], "labels": labels}
        try:
            refusals = await operations.check(info.context.state, action, actor, args, asset)
        except PolicyEngineUnavailable as err:
            guard.audit.note(action, urn, "denied", "policy engine unavailable")
            raise errors.PolicyUnavailable(
                f"the policy engine did not answer, so {action} was not done (fail closed)"
            ) from err
        if refusals:
            rules = sorted({r.rule for r in refusals})
            guard.audit.note(action, urn, "denied", "policy: " + ", ".join(rules))
            message = "; ".join(f"{r.rule}: {r.message}" for r in refusals)
            raise errors.PolicyViolation(f"refused by policy: {message}", rules)

    return check
