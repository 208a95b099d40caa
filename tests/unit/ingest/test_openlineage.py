"""OpenLineage without services: what the schema refuses and where, how the naming spec places
a dataset, which registered source's table it becomes, and what an event's facets map to."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.events import InvalidEvent
from graph.datasets import dataset_urn, locate
from graph.runs import pick, rows
from ingest.openlineage.envelope import parse_record, wrap
from ingest.openlineage.schema import InvalidOpenLineage, validate
from tests.integration.lineage.producers import PG, derived, raw, run_event, table


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-01T06:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "airflow", "name": "dag.task"},
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"eventType": "DONE"}, "$.eventType"),
        ({"run": {"runId": "42"}}, "$.run.runId"),
        ({"job": {"name": "no namespace"}}, "$.job"),
        ({"inputs": [{"namespace": "n"}]}, "$.inputs[0]"),
        (
            {"outputs": [{"namespace": "n", "name": "t", "facets": {"columnLineage": {
                "_producer": "p", "_schemaURL": "s", "fields": {"c": {"inputFields": [
                    {"namespace": "n", "name": "u"}]}}}}}]},
            "$.outputs[0].facets.columnLineage.fields.c.inputFields[0]",
        ),
    ],
)  # fmt: skip
def test_the_schema_names_the_path_that_failed(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidOpenLineage) as refused:
        validate(event(**changes))
    assert refused.value.path == path


LINEAGE = {"_producer": "p", "_schemaURL": "s"}


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"job": {"namespace": "airflow", "name": ""}}, "$.job.name"),
        ({"job": {"namespace": "", "name": "dag.task"}}, "$.job.namespace"),
        ({"inputs": [{"namespace": "s3://lake", "name": ""}]}, "$.inputs[0].name"),
        (
            {"outputs": [{"namespace": "n", "name": "t", "facets": {"columnLineage": {
                **LINEAGE, "fields": {"": {"inputFields": [
                    {"namespace": "n", "name": "u", "field": "c"}]}}}}}]},
            "$.outputs[0].facets.columnLineage.fields['']",
        ),
        (
            {"outputs": [{"namespace": "n", "name": "t", "facets": {"columnLineage": {
                **LINEAGE, "fields": {"c": {"inputFields": [
                    {"namespace": "n", "name": "u", "field": ""}]}}}}}]},
            "$.outputs[0].facets.columnLineage.fields['c'].inputFields[0].field",
        ),
    ],
)  # fmt: skip
def test_names_the_graph_keys_nodes_on_must_not_be_empty(
    changes: dict[str, Any], path: str
) -> None:
    """The schema allows them; a URN does not (an empty dataset name stopped the worker)."""
    validate(event(**changes))
    with pytest.raises(InvalidOpenLineage) as refused:
        wrap(event(**changes))
    assert (refused.value.path, refused.value.message) == (path, "must not be empty")


@pytest.mark.parametrize("nominal", ["tomorrow", "2026-13-01T00:00:00Z", 5])
def test_a_nominal_time_that_does_not_parse_is_refused_where_it_is(nominal: Any) -> None:
    """It is kept on the run; one that did not parse stopped the ingest worker."""
    facets = {"nominalTime": {**LINEAGE, "nominalStartTime": nominal}}
    with pytest.raises(InvalidOpenLineage) as refused:
        wrap(event(run={"runId": str(uuid.uuid4()), "facets": facets}))
    assert refused.value.path == "$.run.facets.nominalTime.nominalStartTime"


def test_event_types_are_told_apart() -> None:
    assert validate(event()) == "RunEvent"
    job = {k: v for k, v in event().items() if k not in ("run", "eventType")}
    assert validate(job) == "JobEvent"
    static = {k: v for k, v in job.items() if k != "job"} | {
        "dataset": {"namespace": "s3://lake", "name": "a/b"}
    }
    assert validate(static) == "DatasetEvent"
    assert wrap(static).subject == dataset_urn("s3://lake", "a/b")


@pytest.mark.parametrize(
    ("namespace", "name", "where"),
    [
        ("postgres://db.example:5432", "sales.public.orders", ("sales", "public", "orders", 5432)),
        ("postgres://db.example", "sales.public.orders", ("sales", "public", "orders", 5432)),
        ("mysql://db.example:3307", "shop.customers", ("shop", "shop", "customers", 3307)),
        ("mongodb://db.example:27017", "app.users", ("app", "app", "users", 27017)),
        ("postgres://db.example:5432", "orders", None),  # not database.schema.table
        ("s3://bucket", "path/to/file", None),
        ("kafka://broker:9092", "topic", None),
    ],
)
def test_the_naming_spec_places_a_dataset(namespace: str, name: str, where: Any) -> None:
    location = locate(namespace, name)
    found = location and (location.database, location.schema, location.table, location.port)
    assert found == where


def test_loopback_names_match_each_other() -> None:
    location = locate("postgres://localhost:5432", "db.public.t")
    assert location is not None and "127.0.0.1" in location.hosts


def test_a_dataset_becomes_the_table_of_the_source_that_holds_it() -> None:
    location = locate(PG, "sales.public.orders")
    assert location is not None
    every, named = ("pg-all", []), ("pg-sales", ["sales"])
    # A table some scan discovered wins.
    found = {location.table_urn("pg-all")}
    assert pick(location, [every, named], found) == location.table_urn("pg-all")
    # Else the one source naming the database, else the one scanning every database.
    assert pick(location, [every, named], set()) == location.table_urn("pg-sales")
    assert pick(location, [every], set()) == location.table_urn("pg-all")
    # Two sources that could hold it, or none: the dataset stays a node of its own.
    assert pick(location, [every, ("pg-other", [])], set()) is None
    assert pick(location, [], set()) is None


def test_facets_map_to_runs_and_column_lineage() -> None:
    run_id = str(uuid.uuid4())
    orders = "sales.public.orders"
    ol = run_event(
        "FAIL",  # type: ignore[arg-type]
        run_id,
        ("airflow", "dag.task"),
        5,
        inputs=[(PG, orders, table("orders", "email"))],
        outputs=[(PG, "sales.public.daily", derived(
            ("email_hash", PG, orders, "email", "DIRECT/TRANSFORMATION", True)))],
        error="division by zero",
    )  # fmt: skip
    mapped = rows(parse_record(raw(ol)))
    assert mapped["run"]["urn"] == f"urn:dw:run:airflow/dag.task/{run_id}"
    assert (mapped["run"]["type"], mapped["run"]["rank"]) == ("FAIL", 3)
    assert mapped["run"]["errorMessage"] == "division by zero"
    assert mapped["job"]["integration"] == "AIRFLOW"
    source, output = mapped["datasets"]
    assert source["fields"] and '"email"' in source["fields"]
    (column,) = output["columns"]
    assert (column["from"], column["to"]) == ("email", "email_hash")
    assert (column["transformations"], column["masking"]) == (["DIRECT/TRANSFORMATION"], True)


def test_one_event_sent_twice_is_one_event() -> None:
    ol = raw(run_event("START", str(uuid.uuid4()), ("a", "b"), 0))  # type: ignore[arg-type]
    assert parse_record(ol).id == parse_record(ol).id
    with pytest.raises(InvalidEvent, match=r"\$\.run\.runId"):
        parse_record(ol.replace(b'"runId": "', b'"runId": "x'))
