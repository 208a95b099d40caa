"""Validation of OpenLineage events against the official JSON Schema, vendored in ``spec/``.

The root schema is a ``oneOf`` of the three event types, whose failures all say "not valid
under any of the given schemas"; so the event's shape picks its type first (``run``: a
RunEvent, ``dataset``: a DatasetEvent, else a JobEvent) and the error names the path that
failed in that type. The facets DataWave maps are checked against their own schemas too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

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
RUN_FACETS = ("ErrorMessageRunFacet",)


class InvalidOpenLineage(ValueError):
    """An event the schema refuses; ``path`` is the JSON path of the offending value."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


@cache
def _registry() -> Registry:
    resources = []
    for file in sorted(SPEC.glob("*.json")):
        doc = json.loads(file.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    return Registry().with_resources(resources)


@cache
def _validator(ref: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": ref},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _facets_validator(names: tuple[str, ...]) -> list[Draft202012Validator]:
    return [_validator(json.loads((SPEC / f"{name}.json").read_text())["$id"]) for name in names]


def kind_of(event: dict[str, Any]) -> Kind:
    if "run" in event:
        return "RunEvent"
    return "DatasetEvent" if "dataset" in event else "JobEvent"


def _check(validator: Draft202012Validator, value: Any, prefix: str) -> None:
    error = best_match(validator.iter_errors(value))
    if error is not None:
        path = prefix + error.json_path[1:]  # json_path starts with "$"
        raise InvalidOpenLineage(path, error.message)


def validate(event: Any) -> Kind:
    """The event's type if the schema accepts it; ``InvalidOpenLineage`` otherwise."""
    if not isinstance(event, dict):
        raise InvalidOpenLineage("$", "an OpenLineage event is a JSON object")
    kind = kind_of(event)
    _check(_validator(f"{CORE}#/$defs/{kind}"), event, "$")
    datasets = [
        *((f"$.inputs[{i}]", d) for i, d in enumerate(event.get("inputs") or [])),
        *((f"$.outputs[{i}]", d) for i, d in enumerate(event.get("outputs") or [])),
        *([("$.dataset", event["dataset"])] if "dataset" in event else []),
    ]
    for where, dataset in datasets:
        for v in _facets_validator(DATASET_FACETS):
            _check(v, dataset.get("facets") or {}, f"{where}.facets")
        for v in _facets_validator(INPUT_FACETS):
            _check(v, dataset.get("inputFacets") or {}, f"{where}.inputFacets")
    if "run" in event:
        for v in _facets_validator(RUN_FACETS):
            _check(v, event["run"].get("facets") or {}, "$.run.facets")
    return kind
