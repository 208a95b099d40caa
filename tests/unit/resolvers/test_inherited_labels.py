"""Which inherited labels a column shows beside its own, and how an INHERITS edge reads."""

from __future__ import annotations

from typing import Any

from graph.records import NodeRecord, Related
from resolvers.catalog.types import LabelInheritance, LabelStatus, visible_inherited

EMAIL, UP, MID, HERE = (
    "PII.Email",
    "urn:dw:column:s/up",
    "urn:dw:column:s/mid",
    "urn:dw:column:s/here",
)


def label(name: str, **rel: Any) -> Related:
    return Related(node=NodeRecord(labels=["Label"], props={"name": name}), rel=rel)


def inherits(name: str, path: list[str]) -> Related:
    return label(
        name, status="inherited", source=path[0], sourceStatus="confirmed", path=path,
        via=[None] * (len(path) - 1), column=path[-1],
    )  # fmt: skip


def test_a_label_the_column_holds_itself_wins_over_the_inherited_one() -> None:
    own = [label(EMAIL, status="rejected", column=HERE)]
    found = [inherits(EMAIL, [UP, HERE]), inherits("PII.Phone", [UP, HERE])]
    shown = visible_inherited(own, found, {UP, HERE})
    assert [r.node.props["name"] for r in shown] == ["PII.Phone"]


def test_an_inherited_label_whose_path_leaves_the_callers_scope_is_not_shown() -> None:
    found = [inherits(EMAIL, [UP, MID, HERE])]
    assert visible_inherited([], found, {MID, HERE}) == []
    assert visible_inherited([], found, {UP, MID, HERE}) == found


def test_an_inherits_edge_reads_as_its_provenance_and_other_edges_as_none() -> None:
    edge = inherits(EMAIL, [UP, MID, HERE]).rel
    assert LabelInheritance.of(edge) == LabelInheritance(
        from_=UP, status=LabelStatus.CONFIRMED, path=[UP, MID, HERE], via=[None, None]
    )
    assert LabelInheritance.of({"status": "confirmed", "column": HERE}) is None
