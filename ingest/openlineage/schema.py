"""Validation of OpenLineage events against the official JSON Schema, vendored in ``spec/``.

The root schema is a ``oneOf`` of the three event types, whose failures all say "not valid
under any of the given schemas"; so the event's shape picks its type first (``run``: a
RunEvent, ``dataset``: a DatasetEvent, else a JobEvent) and the error names the path that
failed in that type. The facets DataWave maps are checked against their own schemas too.

``jsonschema-rs`` decides (a hundredth of a millisecond per check, where pure-Python
``jsonschema`` takes a millisecond: an event holds dozens); ``jsonschema`` explains a refusal,
which it does best (the most relevant error, with its path).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

SPEC = Path(__file__).parent / "spec"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
Kind = Literal["RunEvent", "DatasetEvent", "JobEvent"]
# Where facets live in an event, and the schema files of the facets found there.
DATASET_FACETS = (
    "ColumnLineageDatasetFacet", "SchemaDatasetFacet", "DatasourceDatasetFacet",
    "DataQualityAssertionsDatasetFacet",
)  # fmt: skip
INPUT_FACETS = ("DataQualityMetricsInputDatasetFacet",)
RUN_FACETS = ("ErrorMessageRunFacet", "NominalTimeRunFacet")


class InvalidOpenLineage(ValueError):
    """An event the schema refuses; ``path`` is the JSON path of the offending value."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


@cache
def _schemas() -> dict[str, Any]:
    """The vendored schema documents by ``$id``."""
    docs = [json.loads(file.read_text()) for file in sorted(SPEC.glob("*.json"))]
    return {doc["$id"]: doc for doc in docs}


@cache
def _explainer(ref: str) -> Draft202012Validator:
    registry = Registry().with_resources(
        (uri, Resource.from_contents(doc)) for uri, doc in _schemas().items()
    )
    return Draft202012Validator(
        {"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _judge(ref: str) -> jsonschema_rs.Validator:
    registry = jsonschema_rs.Registry(list(_schemas().items()))
    return jsonschema_rs.Draft202012Validator(
        {"$ref": ref}, registry=registry, validate_formats=True
    )


@cache
def _facet_refs(names: tuple[str, ...]) -> list[str]:
    by_file = {uri.rsplit("/", 1)[-1]: uri for uri in _schemas()}
    return [by_file[f"{name}.json"] for name in names]


def kind_of(event: dict[str, Any]) -> Kind:
    if "run" in event:
        return "RunEvent"
    return "DatasetEvent" if "dataset" in event else "JobEvent"


def _check(ref: str, value: Any, prefix: str) -> None:
    if _judge(ref).is_valid(value):
        return
    error = best_match(_explainer(ref).iter_errors(value))
    if error is not None:
        path = prefix + error.json_path[1:]  # json_path starts with "$"
        raise InvalidOpenLineage(path, error.message)


def validate(event: Any) -> Kind:
    """The event's type if the schema accepts it; ``InvalidOpenLineage`` otherwise."""
    if not isinstance(event, dict):
        raise InvalidOpenLineage("$", "an OpenLineage event is a JSON object")
    kind = kind_of(event)
    _check(f"{CORE}#/$defs/{kind}", event, "$")
    datasets = [
        *((f"$.inputs[{i}]", d) for i, d in enumerate(event.get("inputs") or [])),
        *((f"$.outputs[{i}]", d) for i, d in enumerate(event.get("outputs") or [])),
        *([("$.dataset", event["dataset"])] if "dataset" in event else []),
    ]
    for where, dataset in datasets:
        for ref in _facet_refs(DATASET_FACETS):
            _check(ref, dataset.get("facets") or {}, f"{where}.facets")
        for ref in _facet_refs(INPUT_FACETS):
            _check(ref, dataset.get("inputFacets") or {}, f"{where}.inputFacets")
    if "run" in event:
        for ref in _facet_refs(RUN_FACETS):
            _check(ref, event["run"].get("facets") or {}, "$.run.facets")
    return kind
