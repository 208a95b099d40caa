"""A label's evidence examples as the caller may see them.

Examples are stored sealed next to their shapes (ml/evidence.py). Whoever may see the label's
values in clear (resolvers/masking.label_in_clear: the masking policy in force says ``clear``
for the caller and this label, or the label does not mask) gets them opened, and the read is
audited; everyone else gets the shapes, masked further like the column's values. Evidence
stored before examples were sealed has shapes only, for everyone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ml.evidence import examples
from resolvers.context import Info
from resolvers.masking import label_in_clear, reveal
from security.masking import SENSITIVE


@dataclass(frozen=True)
class Shown:
    """One stored finding with the examples this caller sees."""

    summary: dict[str, Any]
    examples: list[str]
    sealed: bool
    in_clear: bool


async def shown_evidence(
    info: Info,
    column: str,
    label: str,
    sensitivity: str | None,
    evidence_json: str | None,
    field: str = "evidence",
) -> list[Shown]:
    """Each stored finding with its examples as this caller sees them; a read in clear is
    noted for the audit trail as a read of ``field``."""
    found: list[dict[str, Any]] = json.loads(evidence_json or "[]")
    sealed = [e for e in found if e.get("sealed")]
    opened = bool(sealed) and await label_in_clear(info, column, label, sensitivity)
    if opened and sensitivity in SENSITIVE:
        info.context.guard.audit.note_sensitive_read(column, field)
    cipher = info.context.state.classifier.cipher
    shown = []
    for e in found:
        clear = examples(e, cipher, column, label) if opened else None
        if clear is None:
            clear_or_masked = await reveal(info, column, field, e.get("examples") or [])
            shown.append(Shown(e, clear_or_masked, bool(e.get("sealed")), False))
        else:
            shown.append(Shown(e, clear, True, True))
    return shown


async def shown_explanation(
    info: Info,
    column: str,
    label: str,
    sensitivity: str | None,
    text: str | None,
    evidence_json: str | None,
) -> str | None:
    """The explanation with the examples it quotes (their shapes) as the caller sees them."""
    if text is None:
        return None
    for s in await shown_evidence(info, column, label, sensitivity, evidence_json, "explanation"):
        shapes = s.summary.get("examples") or []
        if shapes:
            quoted = f"(e.g. {', '.join(shapes)})"
            text = text.replace(quoted, f"(e.g. {', '.join(s.examples)})", 1)
    return text
