"""Every kind the registry serves through ``node(id:)`` has its GraphQL type, and back, and
every ``Node`` type of the schema is one of them."""

from __future__ import annotations

from graphql import GraphQLObjectType

from core.kinds import ASSET, KINDS
from graph.records import NodeRecord
from resolvers.catalog.types import (
    NODE_TYPES,
    Dataset,
    Run,
    Table,
    asset_from_record,
    node_from_record,
)
from resolvers.governance.types import Control, Finding, Framework, Policy, Waiver, WaiverStatus
from resolvers.mesh.types import DataProduct
from resolvers.schema import schema


def test_every_served_kind_has_its_graphql_type() -> None:
    assert {k.graphql for k in KINDS.served()} == set(NODE_TYPES)


def test_every_node_type_of_the_schema_is_refetchable() -> None:
    """Relay refetches any ``Node`` through ``node(id:)``: policies, findings and runs were
    Nodes that it answered null for, even to an admin."""
    sdl = schema._schema
    nodes = {
        t.name
        for t in sdl.type_map.values()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }
    assert nodes == set(NODE_TYPES)


def test_a_record_becomes_the_type_of_its_kind() -> None:
    props = {"urn": "urn:dw:table:pg/db/public/orders", "name": "orders", "source": "pg"}
    table = node_from_record(NodeRecord(labels=[ASSET, "Table"], props=props))
    assert isinstance(table, Table) and table.id == props["urn"]
    assert asset_from_record(NodeRecord(labels=["Table", ASSET], props=props)) == table
    product = {"urn": "urn:dw:product:sales/orders", "name": "orders"}
    found = node_from_record(NodeRecord(labels=["DataProduct"], props=product))
    assert isinstance(found, DataProduct) and found.domain == "sales"
    assert asset_from_record(NodeRecord(labels=["DataProduct"], props=product)) is None
    run = {"urn": "urn:dw:qualityrun:sales/orders/1.0.0/2026-01-01T00:00:00Z"}
    assert node_from_record(NodeRecord(labels=["QualityRun"], props=run)) is None  # not served
    job = {"urn": "urn:dw:job:pg/db/public/report", "name": "report"}
    assert asset_from_record(NodeRecord(labels=["Job"], props=job)) is None


def test_governance_records_become_their_types() -> None:
    """Policies, frameworks, controls, findings and waivers as a lookup by URN reads them
    (temporals as ISO text, graph/records.py), so ``node(id:)`` can refetch each."""
    policy = {"urn": "urn:dw:policy:pii-owners", "name": "pii-owners", "domain": "sales"}
    found = node_from_record(NodeRecord(labels=["Policy"], props=policy))
    assert isinstance(found, Policy) and (found.name, found.domain) == ("pii-owners", "sales")
    gdpr = {"urn": "urn:dw:framework:gdpr", "id": "gdpr", "name": "GDPR"}
    framework = node_from_record(NodeRecord(labels=["Framework"], props=gdpr))
    assert isinstance(framework, Framework) and "urn:dw:control:gdpr/art-30" in {
        c.id for c in framework.controls
    }  # the code's controls
    art30 = {"urn": "urn:dw:control:gdpr/art-30", "id": "art-30", "framework": "gdpr",
             "title": "Owned", "citation": "Art. 30"}  # fmt: skip
    control = node_from_record(NodeRecord(labels=["Control"], props=art30))
    assert isinstance(control, Control) and (control.id, control.code) == (art30["urn"], "art-30")
    at = "2026-01-01T10:00:00.123456+00:00"
    finding = {"urn": "urn:dw:finding:abc", "asset": "urn:dw:column:pg/db/s/t/email",
               "control": art30["urn"], "framework": "gdpr", "rule": "p/owner",
               "status": "waived", "severity": "high",
               "firstSeenAt": at, "lastSeenAt": at}  # fmt: skip
    read = node_from_record(NodeRecord(labels=["Finding"], props=finding))
    assert isinstance(read, Finding) and read.first_seen_at.isoformat() == at
    waiver = {"urn": "urn:dw:waiver:1f0c", "id": "1f0c", "finding": finding["urn"],
              "reason": "moving owners", "status": "approved", "requestedBy": "ada",
              "requestedAt": at, "expiresAt": at, "approvedBy": "bob", "source": "pg"}  # fmt: skip
    w = node_from_record(NodeRecord(labels=["Waiver"], props=waiver))
    assert isinstance(w, Waiver) and (w.id, w.status) == (waiver["urn"], WaiverStatus.APPROVED)
    assert w.expires_at.isoformat() == at


def test_openlineage_runs_and_datasets_are_served() -> None:
    """A run knows its job from its URN; a dataset no source holds is an asset whose source is
    its namespace, with the fields its schema facet gave."""
    run = {"urn": "urn:dw:run:airflow/export/r-1", "runId": "r-1", "state": "COMPLETE",
           "inputs": ["urn:dw:dataset:s3%3A%2F%2Flake/raw"]}  # fmt: skip
    found = node_from_record(NodeRecord(labels=["Run"], props=run))
    assert isinstance(found, Run) and found.job_urn == "urn:dw:job:airflow/export"
    assert found.input_urns == run["inputs"] and found.output_urns == []
    dataset = {"urn": "urn:dw:dataset:s3%3A%2F%2Flake/raw", "name": "raw", "source": "s3://lake",
               "namespace": "s3://lake", "fields": '[{"name": "id", "type": "int"}]'}  # fmt: skip
    asset = asset_from_record(NodeRecord(labels=[ASSET, "Dataset", "Unresolved"], props=dataset))
    assert isinstance(asset, Dataset) and (asset.source, asset.namespace) == ("s3://lake",) * 2
    assert [(f.name, f.type, f.description) for f in asset.schema_fields()] == [("id", "int", None)]
