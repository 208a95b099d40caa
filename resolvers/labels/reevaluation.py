"""The re-evaluation report as GraphQL types: after the classifier's model changes, what the
stored evidence gives now (labels new, lost, or moved between suggested, review and candidate).
"""

from __future__ import annotations

from enum import Enum

import strawberry

from ml.service import Reevaluation
from resolvers.common import MAX_ANSWERED, UserError


@strawberry.enum(description="Where the machine put a label on a column (decisions excluded).")
class MachineStanding(Enum):
    SUGGESTED = "suggested"
    REVIEW = "review"
    CANDIDATE = strawberry.enum_value("candidate", description="A near-miss, not applied.")


@strawberry.enum(description="How re-evaluation changed a label on a column.")
class LabelChangeKind(Enum):
    NEW = "new"
    LOST = "lost"
    MOVED = "moved"


@strawberry.type(description="One label on one column that re-evaluation changed.")
class LabelChange:
    column: strawberry.ID
    label: str
    kind: LabelChangeKind
    before: MachineStanding | None
    after: MachineStanding | None


def changes_of(report: Reevaluation) -> list[LabelChange]:
    def standing(status: str | None) -> MachineStanding | None:
        return MachineStanding(status) if status else None

    new = [(u, lab, LabelChangeKind.NEW, None, s) for u, lab, s in report.new]
    lost = [(u, lab, LabelChangeKind.LOST, s, None) for u, lab, s in report.lost]
    moved = [(u, lab, LabelChangeKind.MOVED, b, a) for u, lab, b, a in report.moved]
    return [
        LabelChange(
            column=strawberry.ID(urn),
            label=label,
            kind=kind,
            before=standing(before),
            after=standing(after),
        )
        for urn, label, kind, before, after in sorted(new + lost + moved, key=lambda c: c[:2])
    ]


@strawberry.type(
    description="What re-scoring the stored evidence with the active model changed; steward "
    "decisions are never re-scored."
)
class ReevaluationPayload:
    model: str | None = strawberry.field(
        default=None, description="The model version that re-scored (registry:version)."
    )
    previous_models: list[str] = strawberry.field(
        default_factory=list, description="The versions that had scored those columns."
    )
    columns: int = strawberry.field(default=0, description="Columns re-scored.")
    new_count: int = 0
    lost_count: int = 0
    moved_count: int = 0
    change_count: int = strawberry.field(
        default=0, description="All changes of this run (newCount + lostCount + movedCount)."
    )
    changes: list[LabelChange] = strawberry.field(
        default_factory=list,
        description=f"The first {MAX_ANSWERED} changes of this run, by column and label (the "
        "counts above are of all of them).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, report: Reevaluation) -> ReevaluationPayload:
        return cls(
            model=report.model,
            previous_models=report.previous,
            columns=report.columns,
            new_count=len(report.new),
            lost_count=len(report.lost),
            moved_count=len(report.moved),
            change_count=len(report.new) + len(report.lost) + len(report.moved),
            changes=changes_of(report)[:MAX_ANSWERED],
        )
