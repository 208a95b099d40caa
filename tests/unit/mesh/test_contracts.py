"""ODCS contracts: validated with the bad field's path, compared for breaking changes, checked
against what the scans discovered."""

from __future__ import annotations

import pytest

from mesh import contracts
from mesh.contracts import Discovered
from mesh.errors import InvalidContract
from tests.unit.mesh.odcs import contract

BASE = {
    "id": {"logicalType": "integer", "required": True, "primaryKey": True},
    "email": {"logicalType": "string"},
    "total": {"logicalType": "number"},
}


def test_a_contract_round_trips_through_odcs_yaml() -> None:
    parsed = contracts.parse(contract(BASE))
    again = contracts.parse(contracts.export(parsed))
    assert contracts.tables(again) == contracts.tables(parsed)
    assert set(contracts.tables(parsed)["orders"]) == {"id", "email", "total"}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("a: [unclosed", "yaml"),
        ("- just a list", "yaml"),
        (contract({"id": {"logicalType": "integr"}}), "schema.0.properties.0.logicalType"),
        (contract(BASE).replace("kind: DataContract", "kind: Contract"), "kind"),
        (contract(BASE).replace("apiVersion: v3.0.2", "apiVersion: v2.2.2"), "apiVersion"),
        (contract(BASE) + "contractCreatedTs: yesterday\n", "contractCreatedTs"),
        (contract(BASE) + "contractCreatedTs: 2026-12-01\n", "contractCreatedTs"),
        (contract(BASE) + "description: {purpose: !!binary aGVsbG8=}\n", "yaml"),
    ],
)
def test_an_invalid_contract_names_the_bad_field(text: str, path: str) -> None:
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(text)
    assert refused.value.field == path


def test_an_unquoted_date_time_is_the_standards_text() -> None:
    """YAML reads ``2026-12-01T10:00:00Z`` as a timestamp: it was a ValueError no JSON Schema
    could check (an unexpected error for the caller), not a contract."""
    parsed = contracts.parse(contract(BASE) + "contractCreatedTs: 2026-12-01T10:00:00Z\n")
    assert parsed.contractCreatedTs == "2026-12-01T10:00:00Z"
    assert contracts.parse(contracts.export(parsed)).contractCreatedTs == "2026-12-01T10:00:00Z"


def nested(depth: int, leaf: str = "string") -> str:
    """A contract whose column ``deep`` nests object properties ``depth`` levels deep."""
    prop: dict = {"name": "leaf", "logicalType": leaf}
    for i in range(depth):
        prop = {"name": f"n{i}", "logicalType": "object", "properties": [prop]}
    return contract({"id": {"logicalType": "string"}, "deep": {k: v for k, v in prop.items()
                                                               if k != "name"}})  # fmt: skip


def test_deeply_nested_properties_are_checked_and_a_bad_one_named() -> None:
    """The pure-Python schema check cost three times more per level of nested properties
    (minutes at ten: the API's event loop blocked, the suite's timeout hit)."""
    assert "deep" in contracts.tables(contracts.parse(nested(12)))["orders"]
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(nested(12, leaf="strng"))
    assert refused.value.field == "schema.0.properties.1" + ".properties.0" * 12 + ".logicalType"
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(nested(3, leaf="strng"))  # shallow: the most relevant error, as before
    assert refused.value.field == "schema.0.properties.1" + ".properties.0" * 3 + ".logicalType"


def test_a_table_or_column_named_twice_is_refused() -> None:
    """The second was silently the only one compatibility, drift and quality read."""
    twice = contract({"id": {"logicalType": "string"}, "ident": {"physicalName": "id"}})
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(twice)
    assert (refused.value.field, refused.value.message) == (
        "schema.0.properties.1",
        "schema.0.properties.1: a second column or property named 'id'",
    )


def test_yaml_nested_past_any_contract_is_refused() -> None:
    """It raised RecursionError (an internal error) at a few hundred levels."""
    value = "[" * 2000 + "]" * 2000
    with pytest.raises(InvalidContract) as refused:
        contracts.parse(contract(BASE) + f"customProperties:\n- property: x\n  value: {value}\n")
    assert refused.value.field == "yaml"


def test_removed_retyped_narrowed_and_rekeyed_columns_break_consumers() -> None:
    old = contracts.parse(contract(BASE))
    new = contracts.parse(
        contract(
            {
                "id": {"logicalType": "integer", "required": True},  # no longer the key
                "email": {"logicalType": "string", "required": True},  # narrowed
                "total": {"logicalType": "string"},  # retyped
            }
        )
    )
    assert contracts.breaking_changes(old, new) == [
        "orders: primary key changed from (id) to ()",
        "orders.email: nullability narrowed (now required)",
        "orders.total: logical type changed from number to string",
    ]
    gone = contracts.parse(contract({"id": BASE["id"]}))
    assert contracts.breaking_changes(old, gone) == [
        "orders.email: column removed",
        "orders.total: column removed",
    ]
    other = contracts.parse(contract(BASE, table="customers"))
    assert contracts.breaking_changes(old, other) == ["orders: table removed"]


def test_added_columns_and_widened_nullability_are_compatible() -> None:
    old = contracts.parse(contract(BASE))
    new = contracts.parse(
        contract(
            {
                "id": {"logicalType": "integer", "required": True, "primaryKey": True},
                "email": {"logicalType": "string"},
                "total": {"logicalType": "number"},
                "currency": {"logicalType": "string", "required": True},
            }
        )
    )
    assert contracts.breaking_changes(old, new) == []


def _scanned(**columns: dict[str, object]) -> Discovered:
    return Discovered(urn="urn:dw:table:pg/db/public/orders", name="orders", columns=columns)


def test_drift_is_where_the_source_no_longer_matches_the_contract() -> None:
    doc = contracts.parse(contract({**BASE, "email": {"physicalType": "varchar(255)"}}))
    same = _scanned(
        id={"dataType": "integer", "nullable": False},
        email={"dataType": "VARCHAR", "nullable": True},
        total={"dataType": "numeric(10,2)", "nullable": True},
        extra={"dataType": "text", "nullable": True},
    )
    assert contracts.drift(doc, [same]) == []
    changed = _scanned(
        id={"dataType": "integer", "nullable": True},
        email={"dataType": "text", "nullable": True},
    )
    assert [m for _, m in contracts.drift(doc, [changed])] == [
        "orders.id: required by the contract, nullable in source",
        "orders.email: source type text, contract varchar(255)",
        "orders.total: column missing from the source",
    ]
    assert [m for _, m in contracts.drift(doc, [])] == ["orders: no output port exposes this table"]


def test_a_stored_contract_is_read_without_checking_its_formats_again() -> None:
    """Earlier releases stored contracts without checking the standard's formats: one with a
    date-time written with a space is refused at import now, yet its version must stay
    readable (compared, gated, published, checked for drift)."""
    text = contract(BASE) + "contractCreatedTs: '2024-01-01 10:00:00'\n"
    with pytest.raises(InvalidContract):
        contracts.parse(text)
    assert contracts.parse(text, stored=True).contractCreatedTs == "2024-01-01 10:00:00"
