"""The CloudEvents 1.0 envelope and one pydantic model per event type.

Connectors build these; the worker parses raw Kafka values back with ``parse_event``, which
raises ``InvalidEvent`` with a reason the dead-letter record keeps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.urns import InvalidUrn, Urn

MAX_EVENT_BYTES = 1_048_576  # one table's columns with bounded samples fit well inside this

SOURCE_CHECKED = "datawave.source.checked.v1"
CONTAINER_DISCOVERED = "datawave.container.discovered.v1"
TABLE_DISCOVERED = "datawave.table.discovered.v1"
CONTAINER_SCANNED = "datawave.container.scanned.v1"
ASSET_CHANGED = "datawave.asset.changed.v1"
MESH_STEP = "datawave.mesh.step.v1"
OPENLINEAGE = "datawave.openlineage.event.v1"


class InvalidEvent(ValueError):
    """The raw record is not a valid DataWave event; ``str()`` is the reason."""


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceChecked(Payload):
    """A connector's ``validate()`` result: reachable or not, and what it saw."""

    name: str
    kind: str
    host: str
    port: int
    status: Literal["reachable", "unreachable"]
    server_version: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    scan_id: str | None = None


class ContainerDiscovered(Payload):
    """A database or schema; ``parent_urn`` is the source or the database."""

    kind: Literal["database", "schema"]
    name: str
    parent_urn: str
    scan_id: str | None = None


class ColumnProfile(Payload):
    null_ratio: float | None = None
    distinct_count: int | None = None
    min: str | None = None
    max: str | None = None


class SealedSamples(Payload):
    """The columns' samples of a ``TableDiscovered``, AES-256-GCM encrypted for the classifier
    under key ``kid`` and bound to the event's subject (core/sample_cipher.py); base64."""

    kid: str
    nonce: str
    ciphertext: str


class ColumnInfo(Payload):
    name: str
    data_type: str
    nullable: bool = True
    default: str | None = None
    ordinal: int
    profile: ColumnProfile | None = None
    # Bounded raw samples for classification only: the graph never stores them, and on Kafka
    # they travel sealed (``TableDiscovered.sealed_samples``), never in clear.
    samples: list[str] = Field(default_factory=list)


class ForeignKey(Payload):
    name: str
    columns: list[str]
    ref_table_urn: str
    ref_columns: list[str]


class Index(Payload):
    name: str
    columns: list[str]
    unique: bool = False


class LineageEdge(Payload):
    """Upstream feeds downstream; table or column URNs (column edges name both columns)."""

    upstream_urn: str
    downstream_urn: str
    kind: str = "view"


class TableDiscovered(Payload):
    """One table, view or collection with everything discovered about it."""

    name: str
    kind: Literal["table", "view", "collection"]
    schema_urn: str
    row_count: int | None = None
    row_count_exact: bool = False
    size_bytes: int | None = None
    description: str | None = None
    view_sql: str | None = None
    columns: list[ColumnInfo]
    primary_key: list[str] = Field(default_factory=list)
    foreign_keys: list[ForeignKey] = Field(default_factory=list)
    indexes: list[Index] = Field(default_factory=list)
    lineage: list[LineageEdge] = Field(default_factory=list)
    scan_id: str | None = None
    sealed_samples: SealedSamples | None = None


# URNs a container listing carries in one event: 18,000 tables of one schema made a 1.3 MB
# event, over MAX_EVENT_BYTES, and the listing would have been dead-lettered (docs/ingest.md).
LISTING_PART_BYTES = 256 * 1024


class ContainerScanned(Payload):
    """A complete listing of a schema (its tables), a database (its schemas) or a source (its
    selected databases) saw exactly ``children``; the tables of the others are soft-deleted.

    A listing too large for one event comes in parts (``listing_parts``), each complete for the
    children whose URNs sort after ``after`` and up to ``until`` (``None``: unbounded). Each
    part stands alone: applied in any order, or one without the others, it removes only what
    is missing from its own range."""

    children: list[str]
    scan_id: str | None = None
    after: str | None = None
    until: str | None = None


def listing_parts(
    children: list[str], scan_id: str | None, budget: int = LISTING_PART_BYTES
) -> list[ContainerScanned]:
    """``children`` as listings of consecutive URN ranges that together cover every URN, each
    holding at most ``budget`` bytes of URNs (one part if they fit)."""
    parts: list[list[str]] = [[]]
    size = 0
    for child in sorted(children):
        if parts[-1] and size + len(child) > budget:
            parts.append([])
            size = 0
        parts[-1].append(child)
        size += len(child)
    bounds = [None, *(part[-1] for part in parts[:-1]), None]
    return [
        ContainerScanned(children=part, scan_id=scan_id, after=bounds[i], until=bounds[i + 1])
        for i, part in enumerate(parts)
    ]


class AssetChanged(Payload):
    """The graph changed for the subject asset (published on ``datawave.changes.v1`` after the
    write committed); readers refresh caches, search and live subscribers from it."""

    change: Literal["added", "changed", "removed"]
    fields: list[str] = Field(default_factory=list)
    # A removed OpenLineage dataset a scan found as a table: that table (graph/adoption.py).
    replaced_by: str | None = None


class MeshStep(Payload):
    """A step of a data-mesh workflow (mesh/events.py), on ``datawave.mesh.v1``: what happened
    to the subject (domain, product, version or access request), by whom, with what."""

    action: str  # e.g. product.created, version.published, access.approved, gate.failed
    actor: str
    product: str | None = None
    version: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class OpenLineageEvent(Payload):
    """An OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2.x) as its producer sent it,
    on ``datawave.lineage.v1``; ingest/openlineage validates it against the official schema
    and graph/runs.py maps it. The subject is the job's URN (a dataset's for a DatasetEvent)."""

    event: dict[str, Any]


PAYLOADS: dict[str, type[Payload]] = {
    SOURCE_CHECKED: SourceChecked,
    CONTAINER_DISCOVERED: ContainerDiscovered,
    TABLE_DISCOVERED: TableDiscovered,
    CONTAINER_SCANNED: ContainerScanned,
    ASSET_CHANGED: AssetChanged,
    MESH_STEP: MeshStep,
    OPENLINEAGE: OpenLineageEvent,
}


class Event(BaseModel):
    """The CloudEvents 1.0 envelope with a typed ``data``."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: Any

    @field_validator("source", "subject")
    @classmethod
    def _urn(cls, v: str) -> str:
        try:
            Urn.parse(v)
        except InvalidUrn as err:
            raise ValueError(str(err)) from err
        return v

    @property
    def key(self) -> bytes:
        """Kafka key: the subject, so one asset's events stay ordered in one partition."""
        return self.subject.encode()

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


class CorrelatedEvent(Event):
    """An event of a workflow: ``correlationid`` (a CloudEvents extension attribute) is the
    same for every step of one workflow (a product's life, one access request)."""

    correlationid: str


def make_event(event_type: str, source: str, subject: str, data: Payload) -> Event:
    if PAYLOADS.get(event_type) is not type(data):
        raise TypeError(f"{type(data).__name__} is not the payload of {event_type}")
    return Event(source=source, type=event_type, subject=subject, data=data)


def parse_event(raw: bytes | None) -> Event:
    """Validate a raw Kafka value into an Event with its typed payload."""
    if raw is None:
        raise InvalidEvent("empty record (no value)")
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"oversized event: {len(raw)} bytes > {MAX_EVENT_BYTES}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:  # also raised for invalid UTF-8
        raise InvalidEvent(f"invalid JSON: {err}") from err
    if not isinstance(doc, dict):
        raise InvalidEvent("event is not a JSON object")
    if doc.get("specversion") != "1.0":
        raise InvalidEvent(f"unsupported specversion {doc.get('specversion')!r} (expected '1.0')")
    payload_type = PAYLOADS.get(doc.get("type", ""))
    if payload_type is None:
        raise InvalidEvent(f"unknown event type {doc.get('type')!r}")
    if not doc.get("subject"):
        raise InvalidEvent("missing subject")
    try:
        event = Event.model_validate(doc)
        return event.model_copy(update={"data": payload_type.model_validate(doc.get("data"))})
    except ValidationError as err:
        details = "; ".join(
            ".".join(map(str, e["loc"])) + ": " + e["msg"] for e in err.errors()[:5]
        )
        raise InvalidEvent(f"invalid {doc['type']} event: {details}") from err
