"""Governed mutations: ``extensions=[*governed("describeAsset", resource), *guarded(...)]``.

Innermost, so it runs after the permission check and the audited attempt: the policy engine is
asked with the mutation's arguments and the asset it changes; a refusal is a POLICY_VIOLATION
error naming the rules (``extensions.rules``), noted as denied in the audit trail, and an
unreachable engine with rules in force is POLICY_ENGINE_UNAVAILABLE (fail closed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from core.urns import InvalidUrn, Urn
from governance import operations
from governance.opa import PolicyEngineUnavailable
from resolvers.context import Info
from resolvers.errors import coded


def _plain(value: Any) -> Any:
    """Strawberry inputs, enums and lists as JSON values for OPA."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in strawberry.asdict(value).items()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Governed(FieldExtension):
    def __init__(self, action: str, resource: Callable[..., str]) -> None:
        self.action, self.resource = action, resource

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], root: Any, info: Info, /, **kwargs: Any
    ) -> Any:
        guard = info.context.guard
        urn = self.resource(**kwargs)
        asset = await self._asset(info, urn)
        actor = guard.principal.subject if guard.principal else ""
        # A mutation's ``input`` object is its arguments (decideLabel, describeAsset).
        args = _plain(kwargs["input"]) if set(kwargs) == {"input"} else _plain(kwargs)
        try:
            refusals = await operations.check(info.context.state, self.action, actor, args, asset)
        except PolicyEngineUnavailable as err:
            guard.audit.note(self.action, urn, "denied", "policy engine unavailable")
            raise coded(
                "POLICY_ENGINE_UNAVAILABLE", f"the policy engine did not answer, so {self.action} "
                "was not done (governed mutations fail closed)",
            ) from err  # fmt: skip
        if refusals:
            rules = [r.rule for r in refusals]
            guard.audit.note(self.action, urn, "denied", "policy: " + ", ".join(rules))
            message = "; ".join(f"{r.rule}: {r.message}" for r in refusals)
            raise coded("POLICY_VIOLATION", f"refused by policy: {message}", rules=rules)
        return await next_(root, info, **kwargs)

    @staticmethod
    async def _asset(info: Info, urn: str) -> dict[str, Any]:
        try:
            source = Urn.parse(urn).source
        except InvalidUrn:
            source = None
        # ``node``, not ``find``: what the caller may not see is the mutation's to refuse (and
        # audit); here it only has no domains.
        record = await info.context.loaders.node(urn)
        domains = list(record.domains) if record is not None else []
        return {"urn": urn, "source": source, "domains": domains, "labels": []}


def governed(action: str, resource: Callable[..., str]) -> list[FieldExtension]:
    return [Governed(action, resource)]
