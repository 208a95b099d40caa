"""URNs of every registered kind format and parse back; malformed ones say what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kinds import KINDS, Kind
from core.urns import (
    InvalidUrn,
    Urn,
    ancestors,
    column_urn,
    column_urns,
    contract_urn,
    control_urn,
    domain_urn,
    product_urn,
    source_urn,
    table_urn,
    version_urn,
)

SEGMENT = st.text(min_size=1, max_size=12)


@st.composite
def urns(draw: st.DrawFn, kind: Kind) -> Urn:
    count = kind.segments or draw(st.integers(min_value=1, max_value=6))
    return Urn.of(kind.name, *draw(st.lists(SEGMENT, min_size=count, max_size=count)))


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.name)
@given(data=st.data())
def test_every_kind_round_trips(kind: Kind, data: st.DataObject) -> None:
    urn = data.draw(urns(kind))
    text = str(urn)
    assert Urn.parse(text) == urn
    assert text.startswith(f"urn:dw:{kind.name}:")
    assert text.count("/") == len(urn.segments) - 1  # a '/' inside a name stays encoded
    assert urn.name == urn.segments[-1]
    assert (urn.source is not None) == kind.sourced


def test_source_scoped_urns_keep_their_form() -> None:
    table = table_urn("pg-sales", "sales", "public", "order lines")
    assert table == "urn:dw:table:pg-sales/sales/public/order%20lines"
    parsed = Urn.parse(table)
    assert (parsed.source, parsed.path, parsed.name) == (
        "pg-sales",
        ("sales", "public", "order lines"),
        "order lines",
    )
    column = "urn:dw:column:pg-sales/sales/public/order%20lines/e%2Fmail"
    assert column_urn(table, "e/mail") == column
    assert column_urns(table, ["a", "e/mail"]) == [
        column_urn(table, "a"),
        column_urn(table, "e/mail"),
    ]
    assert version_urn(table, 2) == "urn:dw:version:pg-sales/sales/public/order%20lines/2"
    assert Urn.parse(source_urn("pg/sales")).source == "pg/sales"


def test_urns_without_a_source() -> None:
    product = Urn.parse(product_urn("sales", "orders"))
    assert (product.source, product.path, product.name) == (None, ("sales", "orders"), "orders")
    assert domain_urn("sales & marketing") == "urn:dw:domain:sales%20%26%20marketing"
    assert contract_urn("sales", "orders", "1.2.0") == "urn:dw:contract:sales/orders/1.2.0"
    assert Urn.parse(control_urn("gdpr", "art-5")).segments == ("gdpr", "art-5")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("urn:x:table:a/b/c/d", "not a DataWave URN"),
        ("urn:dw:table", "without a kind or segments"),
        ("urn:dw:table:", "without a kind or segments"),
        ("urn:dw:scan:pg", "unknown URN kind 'scan'"),
        ("urn:dw:table:pg/sales/orders", "table URNs have 4 segments, the first a data source"),
        ("urn:dw:column:pg/db/s/t", "column URNs have 5 segments"),
        ("urn:dw:product:orders", "product URNs have 2 segments, got 1"),
        ("urn:dw:contract:sales/orders/1/2", "contract URNs have 3 segments, got 4"),
        ("urn:dw:table:pg/db//t", "empty segment"),
        ("urn:dw:job:pg/", "empty segment"),
    ],
)
def test_malformed_urns_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidUrn, match=reason) as err:
        Urn.parse(text)
    assert repr(text) in str(err.value)


def test_a_source_is_given_exactly_when_the_kind_has_one() -> None:
    with pytest.raises(InvalidUrn, match="the first a data source"):
        Urn("table", None, ("pg", "db", "s", "t"))
    with pytest.raises(InvalidUrn, match="domain URNs have 1 segment:"):
        Urn("domain", "pg", ("sales",))


def test_a_sourced_urn_knows_what_contains_it() -> None:
    column = "urn:dw:column:pg/shop/public/orders/email"
    assert ancestors(column) == [
        column,
        "urn:dw:table:pg/shop/public/orders",
        "urn:dw:schema:pg/shop/public",
        "urn:dw:database:pg/shop",
        "urn:dw:source:pg",
    ]
    assert ancestors("urn:dw:source:pg") == ["urn:dw:source:pg"]
    assert ancestors("urn:dw:product:sales/orders") == ["urn:dw:product:sales/orders"]
