"""A re-evaluation's answer lists a bounded number of changes: a new model may move labels on
every column of the estate, and one mutation's answer must not run to megabytes."""

from __future__ import annotations

from ml.service import Reevaluation
from resolvers.common import MAX_ANSWERED
from resolvers.labels.reevaluation import ReevaluationPayload


def test_the_answer_lists_the_first_changes_and_counts_them_all() -> None:
    new = [(f"urn:c{i:05}", "Email", "suggested") for i in range(MAX_ANSWERED)]
    report = Reevaluation(model="m:2", scored=[], new=new, lost=[("urn:c00000", "Phone", "review")])
    payload = ReevaluationPayload.of(report)
    assert (payload.new_count, payload.lost_count, payload.change_count) == (
        MAX_ANSWERED, 1, MAX_ANSWERED + 1
    )  # fmt: skip
    assert len(payload.changes) == MAX_ANSWERED
    assert [(c.column, c.label) for c in payload.changes[:2]] == [
        ("urn:c00000", "Email"), ("urn:c00000", "Phone")
    ]  # fmt: skip
