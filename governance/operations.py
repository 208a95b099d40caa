"""Operation checks: governed mutations ask the policy engine before they change anything.

The mutation's arguments, its caller and the asset it changes (source, domains) go to OPA as
``input.operation``; rules of ``operation`` templates (governance/templates.py) in force refuse
it by name. With a rule set in force and OPA unreachable the check fails closed; before any rule
set was activated nothing is governed and OPA is not asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from governance.opa import FINDINGS, PolicyEngine
from governance.policies import ensure_version
from live.state import AppState


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


async def check(
    state: AppState, action: str, actor: str, args: dict[str, Any], asset: dict[str, Any]
) -> list[Refusal]:
    """The rules in force that refuse ``action``; raises ``PolicyEngineUnavailable``."""
    engine = PolicyEngine(state.opa)
    if not await ensure_version(engine):
        return []
    operation = {"action": action, "actor": actor, "args": args, "asset": asset}
    found = await engine.decide(f"{FINDINGS}/refusals", {"operation": operation}) or []
    return sorted((Refusal(r["rule"], r["message"]) for r in found), key=lambda r: r.rule)
