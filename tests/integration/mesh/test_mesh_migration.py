"""Consumer migration: publishing a new major version tells the consumers bound to the old one,
the provider sees who still uses version 1, and a member of the consumer team moves its binding
to version 2 (same grant, same reach), after which version 1 can be deprecated and retired."""

from __future__ import annotations

from typing import Any

from tests.integration.mesh.flow import (
    ADVANCE,
    DECIDE,
    IMPORT,
    REQUEST,
    mesh_steps,
    published,
)
from tests.unit.mesh.odcs import contract

CONSUMERS = """
query($product: ID!, $version: ID) { productConsumers(product: $product, version: $version) {
  totalCount edges { node { request name version semver latest migration migratedFrom notice } } } }
"""
MIGRATE = """
mutation($request: ID!, $version: ID!) { migrateAccess(request: $request, version: $version) {
  request { status version boundTo migratedFrom migratedAt }
  errors { __typename message } } }
"""
TABLE = "query($id: ID!) { node(id: $id) { id } }"
V1 = {"id": {"logicalType": "string"}, "total": {"logicalType": "number"}}
V2 = {"id": {"logicalType": "string"}}  # drops total: a breaking change, a new major version


def nodes(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in found["productConsumers"]["edges"]]


async def test_consumers_are_told_of_a_new_major_and_migrate(mesh: dict[str, Any]) -> None:
    m = mesh
    olga, pat, carl = m["owner"], m["second"], m["consumer"]
    urns = await published(m, contract(V1))
    product, v1 = urns["product"], urns["version"]
    ask = {"version": v1, "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
    await pat(DECIDE, request=request["id"], approve=True)
    [bound] = nodes(await olga(CONSUMERS, product=product))
    assert (bound["semver"], bound["migration"], bound["notice"]) == ("1.0.0", "CURRENT", None)

    # Version 2.0.0 breaks 1.0.0; publishing it tells the consumer bound to 1.0.0.
    taken = await olga(IMPORT, product=product, version="2.0.0", odcs=contract(V2))
    v2 = taken["importContract"]["version"]["id"]
    assert (await olga(ADVANCE, version=v2, step="PUBLISH"))["advanceVersion"]["errors"] == []
    [behind] = nodes(await olga(CONSUMERS, product=product, version=v1))
    assert (behind["name"], behind["migration"], behind["latest"]) == (
        f"{m['name']}-analysts",
        "BEHIND",
        "2.0.0",
    )
    assert behind["notice"] == "version 2.0.0 is published, a new major version: migrate to it"

    # Only a member of the consumer team moves the binding, and only forward.
    by_owner = (await olga(MIGRATE, request=request["id"], version=v2))["migrateAccess"]
    assert [e["__typename"] for e in by_owner["errors"]] == ["InvalidInputError"]
    backwards = (await carl(MIGRATE, request=request["id"], version=v1))["migrateAccess"]
    assert [e["__typename"] for e in backwards["errors"]] == ["InvalidInputError"]
    moved = (await carl(MIGRATE, request=request["id"], version=v2))["migrateAccess"]
    assert moved["errors"] == []
    assert (moved["request"]["version"], moved["request"]["boundTo"]) == (v1, v2)
    assert moved["request"]["migratedFrom"] == v1

    # Nobody uses 1.0.0 any more; the consumer is on 2.0.0 and still reads what it exposes.
    assert (await olga(CONSUMERS, product=product, version=v1))["productConsumers"] == {
        "totalCount": 0, "edges": []
    }  # fmt: skip
    [now] = nodes(await olga(CONSUMERS, product=product))
    assert (now["version"], now["migration"], now["migratedFrom"]) == (v2, "MIGRATED", v1)
    assert (await carl(TABLE, id=m["table"]))["node"] == {"id": m["table"]}
    deprecated = await olga(ADVANCE, version=v1, step="DEPRECATE", notice="use 2.0.0")
    assert deprecated["advanceVersion"]["errors"] == []
    retired = (await olga(ADVANCE, version=v1, step="RETIRE"))["advanceVersion"]
    assert (retired["errors"], retired["version"]["status"]) == ([], "RETIRED")

    steps = await mesh_steps(m["settings"], request["correlationId"], 4)
    assert sorted((s["data"]["action"], s["subject"]) for s in steps) == [
        ("access.approved", v1), ("access.requested", v1), ("consumer.migrated", v2),
        ("consumer.notified", v2),
    ]  # fmt: skip


async def test_a_deprecation_notice_reaches_the_consumers_of_that_version(
    mesh: dict[str, Any],
) -> None:
    m = mesh
    olga, pat, carl = m["owner"], m["second"], m["consumer"]
    urns = await published(m, contract(V1))
    ask = {"version": urns["version"], "team": urns["analysts"],
           "purpose": "churn model for the retention team", "days": 30}  # fmt: skip
    request = (await carl(REQUEST, input=ask))["requestAccess"]["request"]
    await pat(DECIDE, request=request["id"], approve=True)
    note = "moving to a stream port on 2026-12-31"
    await olga(ADVANCE, version=urns["version"], step="DEPRECATE", notice=note)
    [told] = nodes(await olga(CONSUMERS, product=urns["product"]))
    assert (told["notice"], told["migration"]) == (note, "CURRENT")
    refused = (await olga(ADVANCE, version=urns["version"], step="RETIRE"))["advanceVersion"]
    assert [e["__typename"] for e in refused["errors"]] == ["WrongStateError"]
