"""A domain's products page like every list that can grow: ``Domain.products`` was a plain list
cut silently at 500, so a domain's 501st product was nowhere on its page."""

from __future__ import annotations

from typing import Any

from tests.integration.mesh.flow import DOMAIN, PRODUCT

PRODUCTS = """
query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Domain {
  products(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } } } } } }
"""


async def test_a_domains_products_page_two_by_two(mesh: dict[str, Any]) -> None:
    ada, m = mesh["admin"], mesh
    domain = (await ada(DOMAIN, input={"name": m["sales"]}))["createDomain"]["domain"]["id"]
    other = (await ada(DOMAIN, input={"name": m["mkt"]}))["createDomain"]["domain"]["id"]
    made = []
    for name, where in (("orders", domain), ("refunds", domain), ("carts", domain), ("ads", other)):
        spec = {"domain": where, "name": name}
        made.append((await ada(PRODUCT, input=spec))["createDataProduct"]["product"]["id"])
    seen, after, pages = [], None, 0
    while True:
        found = (await ada(PRODUCTS, id=domain, first=2, after=after))["node"]["products"]
        assert found["totalCount"] == 3
        seen += [e["node"]["id"] for e in found["edges"]]
        pages += 1
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert seen == sorted(made[:3]) and pages == 2, "once each, by URN, not the other domain's"
    refused = await ada.raw(PRODUCTS, id=domain, first=2, after="not a cursor")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
