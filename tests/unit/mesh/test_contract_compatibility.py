"""What a minor version may not change of a published contract: the primary key as a whole,
columns by their physical name, nested properties and array items, and the bounds of a
physical type; and YAML aliases are refused, so a few bytes cannot expand into a contract
that is stored but never parses again."""

from __future__ import annotations

from typing import Any

import pytest

from mesh import contracts
from mesh.contracts import Discovered
from mesh.errors import InvalidContract
from tests.unit.mesh.odcs import META, alias_bomb, contract, swelling

PUBLISHED = {
    "id": {"logicalType": "integer", "primaryKey": True},
    "region": {"logicalType": "string", "physicalName": "region_code"},
    "meta": META,
}


def _breaks(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return contracts.breaking_changes(
        contracts.parse(contract(old)), contracts.parse(contract(new))
    )


def test_a_new_key_column_a_renamed_physical_column_and_a_removed_nested_property_break() -> None:
    minor = {
        "id": PUBLISHED["id"],
        "tenant": {"logicalType": "string", "primaryKey": True},
        "region": {"logicalType": "string", "physicalName": "region"},
        "meta": {**META, "properties": META["properties"][:1]},
    }
    assert _breaks(PUBLISHED, minor) == [
        "orders: primary key changed from (id) to (id, tenant)",
        "orders.region_code: column removed",
        "orders.meta.utm: property removed",
    ]


def _key(first: int, second: int) -> dict[str, Any]:
    return {
        "tenant": {"logicalType": "string", "primaryKey": True, "primaryKeyPosition": first},
        "id": {"logicalType": "integer", "primaryKey": True, "primaryKeyPosition": second},
    }


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        (_key(1, 2), _key(2, 1), "orders: primary key changed from (tenant, id) to (id, tenant)"),
        (
            {"tags": {"logicalType": "array", "items": {"logicalType": "string"}}},
            {"tags": {"logicalType": "array", "items": {"logicalType": "integer"}}},
            "orders.tags[]: logical type changed from string to integer",
        ),
        (
            {"meta": META},
            {"meta": {**META, "properties": [META["properties"][0], {"name": "utm"}]}},
            "orders.meta.utm: logical type changed from string to None",
        ),
        (  # as many digits, two more after the point: two fewer before it
            {"total": {"logicalType": "number", "physicalType": "decimal(10,2)"}},
            {"total": {"logicalType": "number", "physicalType": "decimal(10,4)"}},
            "orders.total: physical type narrowed from decimal(10,2) to decimal(10,4)",
        ),
    ],
)
def test_a_reordered_key_and_retyped_items_or_nested_properties_break(
    old: dict[str, Any], new: dict[str, Any], change: str
) -> None:
    assert _breaks(old, new) == [change]


@pytest.mark.parametrize(
    ("wide", "narrow"),
    [("varchar(10)", "varchar(5)"), ("decimal(10,2)", "decimal(5,0)"),
     ("numeric(12, 4)", "numeric(10, 2)"), ("varchar", "varchar(255)")],
)  # fmt: skip
def test_a_narrowed_physical_type_breaks_and_a_widened_one_does_not(wide: str, narrow: str) -> None:
    column = {"logicalType": "string"}
    before, after = (
        {"code": {**column, "physicalType": wide}},
        {"code": {**column, "physicalType": narrow}},
    )
    assert _breaks(before, after) == [
        f"orders.code: physical type narrowed from {wide} to {narrow}"
    ]
    assert _breaks(after, before) == []


def test_drift_matches_columns_by_their_physical_name() -> None:
    doc = contracts.parse(
        contract({"region": {"logicalType": "string", "physicalName": "region_code"}})
    )
    scanned = Discovered(
        urn="urn:dw:table:pg/db/public/orders",
        name="orders",
        columns={"region_code": {"dataType": "text", "nullable": True}},
    )
    assert contracts.drift(doc, [scanned]) == []


def test_yaml_aliases_are_refused_with_their_line() -> None:
    text = alias_bomb(5)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "*a0" in row)
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(text)
    assert (refused.value.field, refused.value.message) == (
        "yaml", f"YAML alias at line {line}: a contract has no aliases",
    )  # fmt: skip


def test_a_contract_too_large_as_stored_is_refused() -> None:
    parsed = contracts.parse(swelling())
    with pytest.raises(InvalidContract, match="at most 524288 bytes"):
        contracts.export(parsed)
