"""A table's column layout: the signature a schema version records, its fingerprint and diff.

Pure functions over discovered columns, shared by snapshot preparation (before a transaction)
and by the lineage and version reads that compare layouts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.events import ColumnInfo

Signature = list[dict[str, Any]]
COMPARED = ("dataType", "nullable", "ordinal")


@dataclass(frozen=True)
class Layout:
    """A snapshot's column layout, its fingerprint and the JSON a version stores."""

    signature: Signature
    fingerprint: str
    columns: str


def signature(columns: Sequence[ColumnInfo]) -> Signature:
    """The layout a version records: what a consumer of the table depends on, in order."""
    ordered = sorted(columns, key=lambda c: (c.ordinal, c.name))
    return [
        {"name": c.name, "dataType": c.data_type, "nullable": c.nullable, "ordinal": c.ordinal}
        for c in ordered
    ]


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal layouts give equal text and fingerprints."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(sig: Signature) -> str:
    return _sha256(dumps(sig))


def layout(columns: Sequence[ColumnInfo]) -> Layout:
    sig = signature(columns)
    text = dumps(sig)
    return Layout(sig, _sha256(text), text)


def diff(old: Signature, new: Signature) -> dict[str, Any]:
    """Columns added and removed by name; for kept ones, the attributes that changed."""
    before = {c["name"]: c for c in old}
    after = {c["name"]: c for c in new}
    changed = []
    for name in sorted(before.keys() & after.keys()):
        keys = [k for k in COMPARED if before[name][k] != after[name][k]]
        if keys:
            changed.append(
                {
                    "name": name,
                    "from": {k: before[name][k] for k in keys},
                    "to": {k: after[name][k] for k in keys},
                }
            )
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": changed,
    }
