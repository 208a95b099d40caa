"""Values of sensitive columns as the caller may see them, by the masking policy in force.

A column's labels, its own and those its values inherit along lineage (graph/inheritance.py: a
view's copy of an e-mail column is masked as the column is), come from the batched loaders
behind ``Column.labels``, its scope and domains
from the batched node loader, and the policy from the process (``Masker.policy``, kept current
by governance/masking.py), so masking a page costs no query and no OPA call per column. A read
in clear is noted for the audit trail, and the response waits until it is recorded
(resolvers/security.py).
"""

from __future__ import annotations

import asyncio

from graph.catalog import Relation
from resolvers.context import Info
from security.masking import SENSITIVE, Caller, Label, Treatment
from security.rbac import permission

PII_READ = permission("pii:read")


async def _caller(info: Info, column: str) -> Caller:
    """The caller as the policy sees them for ``column``: permissions held in its scope."""
    guard = info.context.guard
    record = await info.context.loaders.node(column)
    principal = guard.principal
    return Caller(
        roles=principal.roles if principal else frozenset(),
        holds=lambda p: record is not None and guard.reaches(record, permission(p)),
        domains=frozenset(record.domains) if record else frozenset(),
    )


async def treatment(info: Info, column: str) -> Treatment | None:
    """How the caller sees ``column``'s values; None if no label (not rejected), its own or
    inherited, masks it. Inherited labels count whether or not the caller may see the path
    they came along: who may not see where values came from still may not read them."""
    loaders = info.context.loaders
    own, inherited = await asyncio.gather(
        loaders.related(Relation.LABELS, column),
        loaders.related(Relation.INHERITED_LABELS, column),
    )
    labels = [
        Label.of(props["name"], props["sensitivity"], props.get("category"))
        for props, status in ((r.node.props, r.rel.get("status")) for r in [*own, *inherited])
        if status != "rejected" and props.get("sensitivity") in SENSITIVE
    ]
    if not labels:  # then who asks does not matter
        return None
    return info.context.state.masker.policy.decide(labels, await _caller(info, column))


async def label_in_clear(info: Info, column: str, label: str, sensitivity: str | None) -> bool:
    """Whether values a label was given for (its evidence examples) show as read."""
    policy = info.context.state.masker.policy
    decided = policy.decide([Label.of(label, sensitivity)], await _caller(info, column))
    return decided in (None, Treatment.CLEAR)


async def reveal(info: Info, column: str, field: str, values: list[str]) -> list[str]:
    """``values`` read from ``column`` (its ``field``) as this caller may see them."""
    decided = await treatment(info, column) if values else None
    if decided is None:
        return values
    if decided is Treatment.CLEAR:
        info.context.guard.audit.note_sensitive_read(column, field)
        return values
    return [info.context.state.masker.apply(v, decided) for v in values]


async def reveal_one(info: Info, column: str, field: str, value: str | None) -> str | None:
    return None if value is None else (await reveal(info, column, field, [value]))[0]
