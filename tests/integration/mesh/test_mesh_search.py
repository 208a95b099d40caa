"""Product search in OpenSearch: by meaning, a question sharing no word with a product finds it
first (the classifier's sentence encoder re-ranks), and by full text only matching products
come back; both scoped to a domain, paged as Relay connections."""

from __future__ import annotations

from typing import Any

from tests.integration.mesh.flow import DOMAIN, IMPORT, PRODUCT
from tests.unit.mesh.odcs import contract

SEARCH = """
query($text: String!, $domain: ID, $mode: ProductSearchMode, $first: Int, $after: String) {
  searchProducts(text: $text, domain: $domain, mode: $mode, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { score product { name } } } } }
"""
PRODUCTS = {
    "invoices": ("Bills sent to customers, with the amounts they owe and when payment is due",
                 {"invoice_id": "", "amount_due": "what the customer still has to pay"}),
    "web-sessions": ("Clickstream of visits to our website: pages viewed and time spent",
                     {"session_id": "", "page_url": "the page the visitor opened"}),
    "shipments": ("Parcels handed to carriers, with tracking numbers and delivery dates",
                  {"tracking_number": "", "delivered_at": "when the parcel arrived"}),
}  # fmt: skip


async def test_products_are_found_by_meaning_and_by_words(mesh: dict[str, Any]) -> None:
    m = mesh
    ada = m["admin"]
    domain = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    for name, (description, columns) in PRODUCTS.items():
        spec = {"domain": domain, "name": name, "description": description}
        product = (await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"]
        props = {c: {"logicalType": "string", "description": d} for c, d in columns.items()}
        odcs = contract(props, table=name.replace("-", "_"))
        assert (await ada(IMPORT, product=product, version="1.0.0", odcs=odcs))["importContract"][
            "errors"
        ] == []

    async def ranked(text: str, mode: str = "SEMANTIC", **more: Any) -> list[str]:
        found = (await ada(SEARCH, text=text, domain=domain, mode=mode, **more))["searchProducts"]
        return [e["node"]["product"]["name"] for e in found["edges"]]

    # No word in common with the product that answers each question.
    assert (await ranked("which pages did people browse online"))[0] == "web-sessions"
    assert (await ranked("money our clients still have to pay us"))[0] == "invoices"
    assert (await ranked("where is my package"))[0] == "shipments"
    # By words: only matching products, typos tolerated; the contract's columns count.
    assert await ranked("tracking", mode="FULL_TEXT") == ["shipments"]
    assert await ranked("invoise", mode="FULL_TEXT") == ["invoices"]
    assert await ranked("lost packages", mode="FULL_TEXT") == []
    assert (await ranked("lost packages"))[0] == "shipments"

    first = (await ada(SEARCH, text="customers", domain=domain, first=2))["searchProducts"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    rest = await ranked("customers", first=2, after=first["pageInfo"]["endCursor"])
    assert len(rest) == 1
    seen = [e["node"]["product"]["name"] for e in first["edges"]] + rest
    assert sorted(seen) == sorted(PRODUCTS)
