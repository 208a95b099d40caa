"""The demo estate loads into the real engines and discovery finds its sensitive columns."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.events import TABLE_DISCOVERED, TableDiscovered
from core.settings import Settings
from devstack.demo import PASSWORD_ENV, demo_sources, drop_demo, load_demo
from devstack.demo_estate import luhn_valid
from ingest.connectors.base import connector_for
from ingest.source_access import SourceAccess


@pytest.fixture
async def prefix(unique: str, settings: Settings) -> AsyncIterator[str]:
    """Load the estate under databases named ``<unique>_shop`` ...; drop them afterwards."""
    password = settings.source_password.get_secret_value()
    name = f"{unique}_"
    try:
        yield name
    finally:
        await drop_demo(password, name)


async def test_demo_estate_loads_with_sensitive_and_decoy_columns(
    prefix: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = await load_demo(settings.source_password.get_secret_value(), prefix=prefix)
    assert sum(db.tables + db.views + db.collections for db in loaded) == 50
    monkeypatch.setenv(PASSWORD_ENV, settings.source_password.get_secret_value())

    tables: dict[str, TableDiscovered] = {}
    for cfg in demo_sources(prefix):
        async with connector_for(cfg, SourceAccess.from_settings(settings)) as connector:
            async for event in connector.discover():
                if event.type == TABLE_DISCOVERED:
                    database = event.subject.split("/")[1]
                    tables[f"{database.removeprefix(prefix)}.{event.data.name}"] = event.data
            assert connector.report.failures == []
    assert len(tables) == 50
    assert sum(len(t.columns) for t in tables.values()) > 450

    def samples(table: str, column: str) -> list[str]:
        found = {c.name: c.samples for c in tables[table].columns}
        assert found[column], f"{table}.{column} has no samples"
        return found[column]

    assert all(luhn_valid(s) for s in samples("shop.payments", "card_number"))
    assert not any(luhn_valid(s) for s in samples("shop.gift_cards", "card_code"))
    assert all("@" in s for s in samples("shop.customers", "email"))
    assert all(s.startswith("ORD-") for s in samples("shop.orders", "order_ref"))
    assert all(len(s) == 11 and s[3] == "-" for s in samples("billing.account_owners", "ssn"))
    assert all(s[:2].isalpha() for s in samples("billing.bank_accounts", "iban"))
    samples("billing.ledger_entries", "checksum")
    samples("crm.contacts", "address.city")
    samples("crm.contacts", "phones[].number")
    samples("crm.tickets", "items[].sku")
    assert tables["billing.payments"].foreign_keys
    assert len(tables["analytics.high_value_customers"].lineage) == 4
