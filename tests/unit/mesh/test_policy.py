"""What a contract shows the policy engine: its owners (the contract's team and the product's
owner team), SLA property names and purpose."""

from __future__ import annotations

from mesh import contracts
from mesh.policy import contract_facts
from tests.unit.mesh.odcs import contract

COLUMNS = {"id": {"logicalType": "string"}}


def test_a_bare_contract_has_no_owner_sla_or_purpose() -> None:
    facts = contract_facts(contracts.parse(contract(COLUMNS)), None)
    assert facts == {"owners": [], "sla": [], "purpose": ""}


def test_owners_come_from_the_contract_team_and_the_product() -> None:
    odcs = contract(
        COLUMNS,
        team=["olga", "pat"],
        sla=[
            {"property": "freshness", "value": 1, "unit": "d"},
            {"property": "latency", "value": 4, "unit": "h"},
        ],
        purpose="order analytics",
    )
    facts = contract_facts(contracts.parse(odcs), "urn:dw:team:orders")
    assert facts == {
        "owners": ["olga", "pat", "urn:dw:team:orders"],
        "sla": ["freshness", "latency"],
        "purpose": "order analytics",
    }
