"""Contracts that would have slipped through, refused through GraphQL: a minor version that
changes the published key, renames a physical column or drops a nested property cannot be
published; a contract whose YAML aliases expand, or too large once stored, is refused and
leaves no version behind, while a plain one still imports."""

from __future__ import annotations

from typing import Any

import yaml

from graph.driver import write
from tests.integration.mesh.flow import ADVANCE, DOMAIN, IMPORT, PRODUCT, published, versions_of
from tests.unit.mesh.odcs import META, alias_bomb, contract, swelling

COMPATIBILITY = """
query($version: ID!) { compatibility(version: $version) { baseline compatible breakingChanges } }
"""
V1 = {
    "id": {"logicalType": "string", "primaryKey": True},
    "email": {"logicalType": "string", "physicalName": "email"},
    "meta": META,
}
MINOR = {
    "id": V1["id"],
    "tenant": {"logicalType": "string", "primaryKey": True},
    "email": {"logicalType": "string", "physicalName": "email_address"},
    "meta": {**META, "properties": META["properties"][:1]},
}


async def test_a_minor_version_breaking_key_columns_or_nested_properties_is_refused(
    mesh: dict[str, Any],
) -> None:
    olga = mesh["owner"]
    product = (await published(mesh, contract(V1)))["product"]
    minor = await olga(IMPORT, product=product, version="1.1.0", odcs=contract(MINOR))
    v11 = minor["importContract"]["version"]["id"]
    breaking = [
        "orders: primary key changed from (id) to (id, tenant)",
        "orders.email: column removed",
        "orders.meta.utm: property removed",
    ]
    seen = (await olga(COMPATIBILITY, version=v11))["compatibility"]
    assert seen == {"baseline": "1.0.0", "compatible": False, "breakingChanges": breaking}
    refused = (await olga(ADVANCE, version=v11, step="PUBLISH"))["advanceVersion"]
    assert refused["errors"][0]["__typename"] == "IncompatibleVersionError"
    assert refused["errors"][0]["changes"] == breaking
    assert await versions_of(olga, product) == [
        {"version": "1.0.0", "status": "PUBLISHED"},
        {"version": "1.1.0", "status": "DRAFT"},
    ]


async def test_a_contract_that_expands_past_its_limit_leaves_no_version(
    mesh: dict[str, Any],
) -> None:
    ada, olga = mesh["admin"], mesh["owner"]
    sales = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    created = await olga(PRODUCT, input={"domain": sales, "name": "orders"})
    product = created["createDataProduct"]["product"]["id"]
    for odcs in (alias_bomb(5), swelling()):
        refused = await olga(IMPORT, product=product, version="1.0.0", odcs=odcs)
        assert refused["importContract"]["version"] is None
        assert refused["importContract"]["errors"][0]["__typename"] == "InvalidContractError"
        assert refused["importContract"]["errors"][0]["path"] == "yaml"
        assert await versions_of(olga, product) == []
    plain = await olga(IMPORT, product=product, version="1.0.0", odcs=contract(V1))
    assert plain["importContract"]["errors"] == []
    assert await versions_of(olga, product) == [{"version": "1.0.0", "status": "DRAFT"}]


# What an earlier release accepted and stored before the standard's formats were checked: a
# date-time with a space for its T (the contract parser quoted it on export).
EARLIER = "MATCH (c:Contract {urn: $version}) SET c.odcs = c.odcs + $extra"


async def test_a_contract_stored_before_formats_were_checked_is_still_read(
    mesh: dict[str, Any],
) -> None:
    """Stored contracts are parsed again to compare, publish, gate and check drift: one that an
    earlier release accepted, refused by today's stricter import, made its version unusable
    (compatibility an InvalidContract error, every next version unpublishable)."""
    ada, olga = mesh["admin"], mesh["owner"]
    sales = (await ada(DOMAIN, input={"name": mesh["sales"]}))["createDomain"]["domain"]["id"]
    created = await olga(PRODUCT, input={"domain": sales, "name": "orders"})
    product = created["createDataProduct"]["product"]["id"]
    v1 = await olga(IMPORT, product=product, version="1.0.0", odcs=contract(V1))
    v1 = v1["importContract"]["version"]["id"]
    assert (await olga(ADVANCE, version=v1, step="PUBLISH"))["advanceVersion"]["errors"] == []
    extra = "contractCreatedTs: '2024-01-01 10:00:00'\n"
    await write(mesh["neo4j"], mesh["settings"].neo4j.database, EARLIER, version=v1, extra=extra)
    minor = await olga(IMPORT, product=product, version="1.1.0", odcs=contract(V1))
    v11 = minor["importContract"]["version"]["id"]
    seen = await olga.raw(COMPATIBILITY, version=v11)
    assert seen == {"data": {"compatibility": {
        "baseline": "1.0.0", "compatible": True, "breakingChanges": []}}}  # fmt: skip
    assert (await olga(ADVANCE, version=v11, step="PUBLISH"))["advanceVersion"]["errors"] == []


async def test_a_contract_says_the_version_it_was_imported_as(mesh: dict[str, Any]) -> None:
    """A copy of 1.0.0's YAML imported as 1.1.0 is stored saying 1.1.0: whoever downloads the
    version's contract for their own tools reads the version they asked for."""
    olga = mesh["owner"]
    product = (await published(mesh, contract(V1)))["product"]
    copied = await olga(IMPORT, product=product, version="1.1.0", odcs=contract(V1))
    stored = yaml.safe_load(copied["importContract"]["version"]["contract"])
    assert stored["version"] == "1.1.0"
