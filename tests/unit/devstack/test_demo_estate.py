"""The demo estate's shape and data, without loading it."""

from __future__ import annotations

from devstack.demo import demo_sources, generate, rows_per_table
from devstack.demo_estate import ESTATE, luhn_valid


def test_about_fifty_tables_at_scale_one() -> None:
    total = sum(len(db.tables) + len(db.views) + len(db.collections) for db in ESTATE)
    assert 45 <= total <= 55
    assert rows_per_table(1) == 200 and rows_per_table(100) == 10


def test_generation_is_deterministic_with_valid_and_decoy_numbers() -> None:
    data = generate(10)
    assert data == generate(10)
    cards = [row[3] for row in data["shop", "payments"]]  # id, order_id, card_holder, number
    assert all(luhn_valid(c) for c in cards)
    gift = [row[1] for row in data["shop", "gift_cards"]]
    assert all(len(g) == 16 and not luhn_valid(g) for g in gift)


def test_demo_sources_reference_a_secret_never_hold_it() -> None:
    sources = {s.name: s for s in demo_sources("t_")}
    assert set(sources) == {"acme-mariadb", "acme-postgres", "acme-mongo"}
    assert sources["acme-postgres"].databases == ["t_billing", "t_analytics"]
    assert sources["acme-mariadb"].secret_ref == "env:DATAWAVE_SOURCE_PASSWORD"
