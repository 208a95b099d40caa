"""OpenLineage events as real integrations emit them, built with ``openlineage-python``'s
models: a job reading PostgreSQL tables and writing one, with schema, column lineage, data
quality and error facets, the way the Airflow and dbt integrations send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_metrics_input_dataset,
    error_message_run,
    job_type_job,
    schema_dataset,
    sql_job,
)
from openlineage.client.serde import Serde

PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3"
PG = "postgres://127.0.0.1:5432"
T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
INPUT_FACETS = {"dataQualityMetrics"}  # facets of an input dataset's ``inputFacets``


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def table(name: str, *columns: str, **facets: Any) -> dict[str, Any]:
    """The facets of a dataset: its schema, and any others given."""
    fields = [schema_dataset.SchemaDatasetFacetFields(name=c, type="text") for c in columns]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields), **facets}


def derived(*mappings: tuple[str, str, str, str, str, bool]) -> dict[str, Any]:
    """``columnLineage``: (output field, input namespace, input name, input field,
    transformation "TYPE/SUBTYPE", masking)."""
    fields: dict[str, column_lineage_dataset.Fields] = {}
    for out, ns, name, field, how, masking in mappings:
        kind, subtype = how.split("/")
        fields.setdefault(out, column_lineage_dataset.Fields(inputFields=[]))
        fields[out].inputFields.append(
            column_lineage_dataset.InputField(
                namespace=ns,
                name=name,
                field=field,
                transformations=[
                    column_lineage_dataset.Transformation(
                        type=kind, subtype=subtype, masking=masking
                    )
                ],
            )
        )
    return {"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)}


def metrics(rows: int) -> dict[str, Any]:
    facet = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet
    return {"dataQualityMetrics": facet(rowCount=rows, columnMetrics={})}


def run_event(
    state: RunState,
    run_id: str,
    job: tuple[str, str],
    minutes: float,
    inputs: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    outputs: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    error: str | None = None,
    sql: str | None = None,
) -> RunEvent:
    run_facets: dict[str, Any] = {}
    if error:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", stackTrace="Traceback ..."
        )
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="AIRFLOW", jobType="TASK"
        )
    }
    if sql:
        job_facets["sql"] = sql_job.SQLJobFacet(query=sql)
    return RunEvent(
        eventType=state,
        eventTime=at(minutes),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=job[0], name=job[1], facets=job_facets),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                namespace=ns,
                name=n,
                facets={k: v for k, v in f.items() if k not in INPUT_FACETS},
                inputFacets={k: v for k, v in f.items() if k in INPUT_FACETS},
            )
            for ns, n, f in inputs
        ],
        outputs=[OutputDataset(namespace=ns, name=n, facets=f) for ns, n, f in outputs],
    )


def raw(event: RunEvent) -> bytes:
    """The bytes the OpenLineage Kafka transport writes."""
    return Serde.to_json(event).encode()
