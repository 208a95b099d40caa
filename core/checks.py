"""What the payload models cannot check alone: that the URNs in an event have the right kinds
and name the subject's own container.

The graph writer derives labels, names and parents from these URNs, so an event whose table
subject is really a column URN must be dead-lettered instead of written. A table filed under
another source's schema would take that schema's domains (RBAC walks up ``CONTAINS``), and the
pages of a schema's tables rely on its tables being of its source (graph/catalog.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from core.events import (
    CONTAINER_DISCOVERED,
    CONTAINER_SCANNED,
    OPENLINEAGE,
    SOURCE_CHECKED,
    TABLE_DISCOVERED,
    ContainerDiscovered,
    ContainerScanned,
    Event,
    InvalidEvent,
    TableDiscovered,
)
from core.urns import InvalidUrn, Urn, ancestors

SUBJECT_KINDS = {
    SOURCE_CHECKED: {"source"},
    CONTAINER_DISCOVERED: {"database", "schema"},
    TABLE_DISCOVERED: {"table"},
    CONTAINER_SCANNED: {"source", "database", "schema"},
    OPENLINEAGE: {"job", "dataset"},
}
CONTAINER_PARENTS = {"database": "source", "schema": "database"}
CONTAINER_CHILDREN = {"source": "database", "database": "schema", "schema": "table"}
LINEAGE_KINDS = {"table", "column"}


def kind_of(urn: str, field: str, allowed: Iterable[str]) -> str:
    """The URN's kind if it is one of ``allowed``; otherwise the event is invalid."""
    try:
        kind = Urn.parse(urn).kind
    except InvalidUrn as err:
        raise InvalidEvent(f"{field}: {err}") from err
    if kind not in allowed:
        raise InvalidEvent(f"{field}: expected a {'/'.join(sorted(allowed))} URN, got {urn!r}")
    return kind


def check_parent(urn: str, field: str, parent: str) -> None:
    """``parent`` must be the container ``urn`` names (its URN minus the last segment)."""
    if ancestors(urn)[1] != parent:
        raise InvalidEvent(f"{field}: {parent!r} does not contain {urn!r}")


def check_event(event: Event) -> None:
    """Raise ``InvalidEvent`` if a URN in the event has the wrong kind for its place."""
    subject_kind = kind_of(event.subject, "subject", SUBJECT_KINDS[event.type])
    data = event.data
    if isinstance(data, ContainerDiscovered):
        if data.kind != subject_kind:
            raise InvalidEvent(f"subject is a {subject_kind} URN but data.kind is {data.kind!r}")
        kind_of(data.parent_urn, "data.parent_urn", {CONTAINER_PARENTS[data.kind]})
        check_parent(event.subject, "data.parent_urn", data.parent_urn)
    elif isinstance(data, TableDiscovered):
        kind_of(data.schema_urn, "data.schema_urn", {"schema"})
        check_parent(event.subject, "data.schema_urn", data.schema_urn)
        for fk in data.foreign_keys:
            kind_of(fk.ref_table_urn, f"foreign key {fk.name}", {"table"})
            if len(fk.columns) != len(fk.ref_columns):
                raise InvalidEvent(
                    f"foreign key {fk.name}: columns and ref_columns differ in length"
                )
        for edge in data.lineage:
            kind_of(edge.upstream_urn, "lineage upstream", LINEAGE_KINDS)
            kind_of(edge.downstream_urn, "lineage downstream", LINEAGE_KINDS)
    elif isinstance(data, ContainerScanned):
        for child in data.children:
            kind_of(child, "data.children", {CONTAINER_CHILDREN[subject_kind]})
            check_parent(child, "data.children", event.subject)
            if (data.after is not None and child <= data.after) or (
                data.until is not None and child > data.until
            ):
                raise InvalidEvent(f"data.children: {child} is outside the listed range")
