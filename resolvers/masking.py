"""Values of sensitive columns, masked unless the caller holds ``pii:read`` in their scope.

A column's sensitivity comes from its labels (the batched loader behind ``Column.labels``), its
scope from its node (the batched node loader), so masking a page costs no query per column. A
permitted read is noted for the audit trail, and the response waits until it is recorded
(resolvers/security.py).
"""

from __future__ import annotations

from graph.catalog import Relation
from resolvers.context import Info
from security.masking import most_sensitive
from security.rbac import permission

PII_READ = permission("pii:read")


async def sensitivity(info: Info, column: str) -> str | None:
    """``confidential`` or ``restricted`` if a label (not rejected) makes the column so."""
    labels = await info.context.loaders.related(Relation.LABELS, column)
    return most_sensitive(
        r.node.props.get("sensitivity") for r in labels if r.rel.get("status") != "rejected"
    )


async def reveal(info: Info, column: str, field: str, values: list[str]) -> list[str]:
    """``values`` read from ``column`` (its ``field``) as this caller may see them."""
    level = await sensitivity(info, column) if values else None
    if level is None:
        return values
    guard = info.context.guard
    record = await info.context.loaders.node(column)
    if record is not None and guard.reaches(record, PII_READ):
        guard.audit.note_sensitive_read(column, field)
        return values
    return [info.context.state.masker.mask(v, level) for v in values]


async def reveal_quoted(
    info: Info, column: str, field: str, text: str | None, examples: list[str]
) -> str | None:
    """``text`` (the classifier's words) with the ``examples`` it quotes from ``column`` as this
    caller may see them: only the quoted values are masked, the sentence stays readable."""
    if text is None or not examples:
        return text
    # Longest first: an example that contains another is replaced whole.
    quoted = sorted(set(examples), key=len, reverse=True)
    for value, shown in zip(quoted, await reveal(info, column, field, quoted), strict=True):
        text = text.replace(value, shown)
    return text


async def reveal_one(info: Info, column: str, field: str, value: str | None) -> str | None:
    return None if value is None else (await reveal(info, column, field, [value]))[0]
