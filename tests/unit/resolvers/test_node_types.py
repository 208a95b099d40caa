"""Every kind the registry serves through ``node(id:)`` has its GraphQL type, and back."""

from __future__ import annotations

from core.kinds import ASSET, KINDS
from graph.records import NodeRecord
from resolvers.catalog.types import NODE_TYPES, Table, asset_from_record, node_from_record
from resolvers.mesh.types import DataProduct


def test_every_served_kind_has_its_graphql_type() -> None:
    assert {k.graphql for k in KINDS.served()} == set(NODE_TYPES)


def test_a_record_becomes_the_type_of_its_kind() -> None:
    props = {"urn": "urn:dw:table:pg/db/public/orders", "name": "orders", "source": "pg"}
    table = node_from_record(NodeRecord(labels=[ASSET, "Table"], props=props))
    assert isinstance(table, Table) and table.id == props["urn"]
    assert asset_from_record(NodeRecord(labels=["Table", ASSET], props=props)) == table
    product = {"urn": "urn:dw:product:sales/orders", "name": "orders"}
    found = node_from_record(NodeRecord(labels=["DataProduct"], props=product))
    assert isinstance(found, DataProduct) and found.domain == "sales"
    assert asset_from_record(NodeRecord(labels=["DataProduct"], props=product)) is None
    policy = {"urn": "urn:dw:policy:pii-owners", "name": "pii-owners"}
    assert node_from_record(NodeRecord(labels=["Policy"], props=policy)) is None
    job = {"urn": "urn:dw:job:pg/db/public/report", "name": "report"}
    assert asset_from_record(NodeRecord(labels=["Job"], props=job)) is None
