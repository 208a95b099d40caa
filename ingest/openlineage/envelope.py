"""OpenLineage events in DataWave's CloudEvents envelope, from either door.

``POST /api/v1/lineage`` wraps what a client's HTTP transport sends; pipelines using the
OpenLineage Kafka transport write the bare event to ``datawave.lineage.v1``, and the ingest
worker wraps it the same way (``parse_record``). The envelope's id is derived from the run id,
event time and event type (from the whole event for dataset and job events), so an event sent
twice, through either door, is one event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from core.events import (
    MAX_EVENT_BYTES,
    OPENLINEAGE,
    Event,
    InvalidEvent,
    OpenLineageEvent,
    parse_event,
)
from core.urns import source_urn
from graph.datasets import dataset_urn
from graph.runs import job_urn, parse_time
from ingest.openlineage.schema import InvalidOpenLineage, validate

# uuid5 namespace of OpenLineage event ids (any fixed UUID would do; this one is DataWave's).
IDS = uuid.UUID("6f1d6c2e-3a43-5b52-9a0e-64617461776c")


def event_id(event: dict[str, Any]) -> str:
    if "run" in event:
        key = f"{event['run']['runId']}|{event['eventTime']}|{event.get('eventType') or 'OTHER'}"
    else:
        key = orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
    return str(uuid.uuid5(IDS, key))


def _named(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(JSON path, value) of every name the graph keys a node on: the job's and each dataset's
    namespace and name, and the fields of column lineage."""
    for place in ("job", "dataset"):
        if place in event:
            yield f"$.{place}.namespace", event[place]["namespace"]
            yield f"$.{place}.name", event[place]["name"]
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            yield f"$.{side}[{i}].namespace", dataset["namespace"]
            yield f"$.{side}[{i}].name", dataset["name"]
            facet = (dataset.get("facets") or {}).get("columnLineage") or {}
            for field, spec in (facet.get("fields") or {}).items():
                at = f"$.{side}[{i}].facets.columnLineage.fields[{field!r}]"
                yield at, field
                for j, source in enumerate(spec.get("inputFields") or []):
                    for key in ("namespace", "name", "field"):
                        yield f"{at}.inputFields[{j}].{key}", source[key]


def _times(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(JSON path, text) of the times the graph keeps. The schema gives them the date-time
    format, which the validator that explains a refusal cannot check."""
    yield "$.eventTime", event["eventTime"]
    nominal = ((event.get("run") or {}).get("facets") or {}).get("nominalTime")
    if nominal:
        yield "$.run.facets.nominalTime.nominalStartTime", nominal["nominalStartTime"]


def check(event: Any) -> None:
    """Raise ``InvalidOpenLineage`` naming what the schema refuses, a time that does not
    parse, or a name the graph cannot key a node on (the schema allows an empty dataset or
    job name; URNs do not)."""
    validate(event)
    for path, text in _times(event):
        try:
            parse_time(text)
        except ValueError as err:
            raise InvalidOpenLineage(path, str(err)) from err
    for path, name in _named(event):
        if not name:
            raise InvalidOpenLineage(path, "must not be empty")


def wrap(event: Any) -> Event:
    """The CloudEvent of a valid OpenLineage event (``check``)."""
    check(event)
    time = parse_time(event["eventTime"])
    if "dataset" in event:
        namespace = event["dataset"]["namespace"]
        subject = dataset_urn(namespace, event["dataset"]["name"])
    else:
        namespace = event["job"]["namespace"]
        subject = job_urn(namespace, event["job"]["name"])
    return Event(
        id=event_id(event),
        source=source_urn(namespace),
        type=OPENLINEAGE,
        time=time,
        subject=subject,
        data=OpenLineageEvent(event=event),
    )


def parse_record(raw: bytes | None) -> Event:
    """A record of the lineage or discovery topics: a CloudEvent, or a bare OpenLineage event
    as the OpenLineage Kafka transport writes it; ``InvalidEvent`` says why it is neither."""
    if raw is not None and len(raw) <= MAX_EVENT_BYTES and b'"specversion"' not in raw:
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise InvalidEvent(f"invalid JSON: {err}") from err
        try:
            return wrap(doc)
        except InvalidOpenLineage as err:
            raise InvalidEvent(f"invalid OpenLineage event: {err}") from err
    event = parse_event(raw)
    if event.type == OPENLINEAGE:
        try:
            check(event.data.event)
        except InvalidOpenLineage as err:
            raise InvalidEvent(f"invalid OpenLineage event: {err}") from err
    return event
