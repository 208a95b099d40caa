"""Policy decisions on mesh steps: what a step shows the governance engine, and where it asks.

Opening a product workspace, taking a contract into a version, publishing a version and
requesting access each pass a ``Gate`` after their own checks and before their one transaction,
so a refusal (``PolicyViolation``, naming the rules) leaves nothing written. The mesh does not
import ``governance/``: the resolvers pass a gate that asks it (resolvers/mesh/policy.py), and
the rules are the engine's operation templates ``mesh_*`` (docs/mesh.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from open_data_contract_standard.model import OpenDataContractStandard, Team

# (action, the step's arguments, labels of the columns the product exposes) -> None, or raises
# PolicyViolation / PolicyUnavailable.
Gate = Callable[[str, dict[str, Any], list[dict[str, Any]]], Awaitable[None]]

WORKSPACE = "createDataProduct"
CONTRACT = "importContract"
PUBLISH = "publishVersion"
ACCESS = "requestAccess"


def contract_facts(contract: OpenDataContractStandard, owner_team: str | None) -> dict[str, Any]:
    """Owners (the contract's team members and team name, and the product's owner team), SLA
    property names and purpose: what the contract rules read."""
    team = contract.team
    members = team.members if isinstance(team, Team) else team
    owners = [m.username for m in members or [] if m.username]
    if isinstance(team, Team) and team.name:
        owners.append(team.name)
    if owner_team:
        owners.append(owner_team)
    purpose = contract.description.purpose if contract.description else None
    return {
        "owners": sorted(set(owners)),
        "sla": sorted({p.property for p in contract.slaProperties or [] if p.property}),
        "purpose": purpose or "",
    }
