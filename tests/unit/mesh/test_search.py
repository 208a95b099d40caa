"""A product's search document: what its live contracts say is searchable, retired ones not."""

from __future__ import annotations

from mesh import search
from tests.unit.mesh.odcs import contract


def record(*versions: tuple[str, str]) -> dict[str, object]:
    return {
        "props": {"urn": "urn:dw:product:sales/orders", "name": "orders", "domain": "sales",
                  "description": "Every order, as sold", "tags": ["gold"]},
        "versions": [{"status": status, "odcs": odcs} for status, odcs in versions],
    }  # fmt: skip


def test_the_document_holds_the_live_contracts_words_and_a_digest_of_its_text() -> None:
    live = contract({"amount_due": {"description": "what is still owed"}}, purpose="billing")
    gone = contract({"legacy_code": {}}, table="old_orders")
    doc = search.document(record(("published", live), ("retired", gone)))
    assert doc["contract"] == "billing orders amount_due what is still owed"
    assert "legacy_code" not in doc["text"] and "gold" in doc["text"]
    assert doc["domain"] == "sales"
    again = search.document(record(("published", live)))
    assert again["digest"] == doc["digest"]
    other = search.document(record(("published", gone)))
    assert other["digest"] != doc["digest"]
