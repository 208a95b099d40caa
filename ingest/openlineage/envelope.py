"""OpenLineage events in DataWave's CloudEvents envelope, from either door.

``POST /api/v1/lineage`` wraps what a client's HTTP transport sends; pipelines using the
OpenLineage Kafka transport write the bare event to ``datawave.lineage.v1``, and the ingest
worker wraps it the same way (``parse_record``). The envelope's id is derived from the run id,
event time and event type (from the whole event for dataset and job events), so an event sent
twice, through either door, is one event.
"""

from __future__ import annotations

import uuid
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


def wrap(event: Any) -> Event:
    """The CloudEvent of a valid OpenLineage event; ``InvalidOpenLineage`` names what the
    schema refused."""
    validate(event)
    try:
        time = parse_time(event["eventTime"])
    except ValueError as err:
        raise InvalidOpenLineage("$.eventTime", str(err)) from err
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
            validate(event.data.event)
        except InvalidOpenLineage as err:
            raise InvalidEvent(f"invalid OpenLineage event: {err}") from err
    return event
