"""The kinds registry: one entry per kind, refusing what would make two layers disagree."""

from __future__ import annotations

import pytest

from core.kinds import ASSET, KINDS, DuplicateKind, Kind, Kinds, Scope


def test_a_node_kind_is_found_by_its_labels() -> None:
    assert KINDS.of_labels([ASSET, "Table"]) is KINDS["table"]
    assert KINDS.of_labels(["Column", ASSET]) is KINDS["column"]
    assert KINDS.of_labels(["DataSource"]) is KINDS["source"]
    assert KINDS.of_labels([ASSET]) is None
    assert KINDS.of_labels(["Label"]) is None


def test_assets_are_looked_up_under_one_label() -> None:
    assets = {k.name for k in KINDS if k.key_label == ASSET}
    assert assets == {"database", "schema", "table", "column", "dataset"}
    assert KINDS["source"].key_label == "DataSource"  # defaults to its own label


@pytest.mark.parametrize(
    ("second", "clash"),
    [
        (Kind("table", 1, False), "URN kind 'table'"),
        (Kind("tabular", 1, False, "Table"), "label 'Table'"),
        (
            Kind("view", 1, True, "View", graphql="Table", read="asset:read", scope=Scope.DOMAIN),
            "GraphQL type 'Table'",
        ),
        (Kind("view", 1, True, "View", ASSET, scope=Scope.SOURCE), "differ in scope"),
    ],
)
def test_the_registry_refuses_duplicates(second: Kind, clash: str) -> None:
    table = Kind("table", 4, True, "Table", ASSET, "Table", "asset:read", Scope.DOMAIN)
    with pytest.raises(DuplicateKind, match=clash):
        Kinds(table, second)


def test_inconsistent_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="served kinds need a label, read and scope"):
        Kind("product", 2, False, "DataProduct", graphql="DataProduct")
    with pytest.raises(ValueError, match="scoped by source but its URN names none"):
        Kind("policy", 1, False, "Policy", scope=Scope.SOURCE)
    with pytest.raises(ValueError, match="at least one segment"):
        Kind("nothing", 0, False)
