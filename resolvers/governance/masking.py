"""The masking policy through GraphQL: the rules in force, and editing its draft.

Submitting, approving, activating and rolling back go through the policy mutations with the
masking policy's URN (``urn:dw:policy:masking``), so a masking change is reviewed, audited and
announced like any other policy change.
"""

from __future__ import annotations

from typing import Any

import strawberry

from governance import masking, policies
from resolvers.audited import guarded
from resolvers.context import Info
from resolvers.errors import coded
from resolvers.governance.mutations import PolicyPayload, attempt
from resolvers.governance.types import MaskedSensitivity, MaskingRules, PolicyVersion
from resolvers.permissions import FORBIDDEN, needs
from security.masking import MaskingPolicy, MaskingRule, Treatment


@strawberry.input(description="A masking rule; omitted conditions match anything.")
class MaskingRuleInput:
    treatment: Treatment
    labels: list[str] = strawberry.field(
        default_factory=list, description="Label names (PII.Email) or categories (PII)."
    )
    sensitivity: MaskedSensitivity | None = None
    roles: list[str] = strawberry.field(
        default_factory=list, description="The caller has one of these roles."
    )
    permission: str | None = strawberry.field(
        default=None, description="The caller holds it (e.g. pii:read) in the column's scope."
    )
    domain: str | None = strawberry.field(default=None, description="The column is in it.")

    def rule(self) -> MaskingRule:
        return MaskingRule(
            treatment=self.treatment,
            labels=frozenset(self.labels),
            sensitivity=self.sensitivity.value if self.sensitivity else None,
            roles=frozenset(self.roles),
            permission=self.permission,
            domain=self.domain,
        )


@strawberry.input(description="All masking rules, in order (the first that matches decides).")
class MaskingRulesInput:
    rules: list[MaskingRuleInput]
    default: Treatment = Treatment.REDACT


@strawberry.type
class MaskingQuery:
    @strawberry.field(
        description="The masking rules in force (the active version of the masking policy, "
        "or the shipped default).",
        extensions=needs("compliance:read"),
    )
    def masking_rules(self, info: Info) -> MaskingRules:
        return MaskingRules.of(info.context.state.masker.policy)


@strawberry.type
class MaskingMutation:
    @strawberry.mutation(
        description="Make these the masking policy's draft (created at first from nothing, "
        "then from the latest version); submit, approve and activate it as any policy.",
        extensions=guarded("policy:write", lambda **_: policies.MASKING),
    )
    async def set_masking_rules(self, info: Info, input: MaskingRulesInput) -> PolicyPayload:
        guard = info.context.guard
        if not guard.unrestricted:
            raise coded(FORBIDDEN, "forbidden: masking rules need policy:write everywhere")
        policy = MaskingPolicy(tuple(r.rule() for r in input.rules), input.default)
        principal = guard.principal
        assert principal is not None  # the permission check ran first

        async def work() -> dict[str, Any]:
            draft = await masking.set_rules(info.context.state, principal.subject, policy)
            return {"version": PolicyVersion.of(draft)}

        return await attempt(PolicyPayload, work)
