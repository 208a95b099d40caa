"""Anomalies across scans: a null-ratio jump, a row-count drop, a new sensitive column.

Each table's last profile is kept as a ``:ProfileSnapshot`` (graph/anomalies.py); a new scan is
compared with it. Detection is pure, so thresholds are tested without services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["null_ratio_jump", "row_count_drop", "new_sensitive_column"]
ANOMALY_EVENT = "datawave.anomaly.detected.v1"


@dataclass(frozen=True)
class TableProfile:
    urn: str
    row_count: int | None
    null_ratios: Mapping[str, float]  # column URN -> null ratio
    columns: frozenset[str]  # column URNs
    sensitive: frozenset[str]  # column URNs with a sensitive label

    @classmethod
    def from_snapshot(cls, snap: Mapping[str, Any]) -> TableProfile:
        return cls(
            snap["urn"],
            snap.get("rowCount"),
            dict(zip(snap.get("nullColumns", []), snap.get("nullRatios", []), strict=True)),
            frozenset(snap.get("columns", [])),
            frozenset(snap.get("sensitive", [])),
        )


@dataclass(frozen=True)
class Anomaly:
    kind: Kind
    subject: str  # the table or column URN
    table: str
    detail: str
    severity: Literal["warning", "critical"]

    def id(self, event_id: str) -> str:
        """Stable per (scan event, kind, subject): replaying an event finds the same anomaly."""
        return hashlib.sha256(f"{event_id}|{self.kind}|{self.subject}".encode()).hexdigest()[:32]


def detect(
    previous: TableProfile | None,
    current: TableProfile,
    *,
    null_ratio_jump: float,
    row_count_drop: float,
) -> list[Anomaly]:
    """What changed beyond the thresholds since ``previous`` (nothing on a first scan)."""
    if previous is None:
        return []
    found = []
    before, now = previous.row_count, current.row_count
    if before and now is not None and (before - now) / before >= row_count_drop:
        found.append(
            Anomaly(
                "row_count_drop",
                current.urn,
                current.urn,
                f"row count fell from {before} to {now} ({(before - now) / before:.0%})",
                "critical",
            )
        )
    for column, ratio in current.null_ratios.items():
        old = previous.null_ratios.get(column)
        if old is not None and ratio - old >= null_ratio_jump:
            found.append(
                Anomaly(
                    "null_ratio_jump",
                    column,
                    current.urn,
                    f"null ratio rose from {old:.2f} to {ratio:.2f}",
                    "warning",
                )
            )
    for column in sorted(current.sensitive - previous.columns):
        found.append(
            Anomaly(
                "new_sensitive_column",
                column,
                current.urn,
                "a column that did not exist before holds sensitive data",
                "critical",
            )
        )
    return found
