"""What graph reads return: plain, JSON-ready node and edge records.

Neo4j temporal values become ISO-8601 strings here, so a record can be cached in Redis and read
back unchanged, and resolvers see one representation whatever the writer stored.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any, LiteralString

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

# Most property values, returned at once: the checks below cost four times as much per value,
# and a cold page of 100 columns converts 1,100 values.
_AS_IS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """A property value as JSON-ready Python: temporals to ISO strings, recursively."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):  # the type test inline: a call per value cost more than it
        return {k: v if type(v) in _AS_IS else plain(v) for k, v in value.items()}
    if hasattr(value, "to_native"):  # neo4j.time.DateTime, Date, Time
        value = value.to_native()
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if hasattr(value, "iso_format"):  # neo4j.time.Duration
        return value.iso_format()
    return value


# The temporal properties hot reads return as ISO-8601 text, by kind of node or relationship
# (a label's edge: ``LABEL_EDGE`` below).
ASSET_TIMES: tuple[LiteralString, ...] = ("firstSeenAt", "lastSeenAt", "removedAt")
FEEDS_TIMES: tuple[LiteralString, ...] = ("since", "until", "lastSeenAt")


def text_times(variable: LiteralString, names: tuple[LiteralString, ...]) -> LiteralString:
    """A Cypher map: the properties of ``variable``, with ``names`` as ISO-8601 text by
    Neo4j's ``toString`` (null where absent), which ``datetime.fromisoformat`` reads back as
    the datetime of ``plain``'s text (``Z`` for ``+00:00``; to the microsecond, as we write
    them). The driver builds a Python object per temporal value it receives (~25 µs each): a
    fifth of a cold lineage read's CPU (docs/benchmarks.md, issue 17). A name not listed is
    still read as a temporal and converted by ``plain``."""
    times = ", ".join(n + ": toString(" + variable + "." + n + ")" for n in names)
    return variable + " {.*, " + times + "}"  # type: ignore[return-value]


# A label's ``LABELED`` or ``INHERITS`` edge ``r`` on column ``c``, as every label read returns
# it (graph/catalog.py ``LABELS_OF``, the detail of graph/projections.py, which primes the
# loaders in its place): with the column it is on, its ``at`` as text.
LABEL_EDGE: LiteralString = "r {.*, column: c.urn, at: toString(r.at)}"


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)


# Labels, properties and domains come from Neo4j's own lists and maps (through ``plain``) or
# from their JSON in the cache, never from a caller, so they are not validated again: two thirds
# of a cold page's validation (226 to 76 us for 100 columns; docs/benchmarks.md, issue 17).
class NodeRecord(Record):
    labels: SkipValidation[list[str]]
    props: SkipValidation[dict[str, Any]]
    # Data-mesh domains (graph/domains.py), read with the node so RBAC needs no extra query.
    domains: SkipValidation[list[str]] = Field(default_factory=list)

    @property
    def urn(self) -> str:
        return self.props["urn"]

    @classmethod
    def of(cls, row: dict[str, Any]) -> NodeRecord:
        """From a row holding ``labels``, ``props`` and ``domains`` (the shape reads return)."""
        return cls(**node_fields(row))


def node_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A ``NodeRecord``'s fields from a row, to validate inside a larger record: one validation
    of a page of 100 costs about a quarter less than 200 small ones (docs/benchmarks.md)."""
    props, domains = plain(row["props"]), row.get("domains") or []
    return {"labels": row["labels"], "props": props, "domains": domains}


class EdgeRecord(Record):
    """A relationship between two nodes named by URN, with its properties."""

    from_urn: str
    to_urn: str
    props: SkipValidation[dict[str, Any]] = Field(default_factory=dict)  # as NodeRecord's
    # An end is a placeholder no scan has found (``:Unresolved``, graph/assets.py).
    unresolved: bool = False

    @classmethod
    def of(cls, row: dict[str, Any]) -> EdgeRecord:
        return cls(
            from_urn=row["from"],
            to_urn=row["to"],
            props=plain(row["props"] or {}),
            unresolved=bool(row.get("unresolved")),
        )


class Related(Record):
    """A node reached from a key node, with the properties of the relationship that led there."""

    node: NodeRecord
    rel: SkipValidation[dict[str, Any]] = Field(default_factory=dict)  # as NodeRecord's

    @classmethod
    def of(cls, row: dict[str, Any]) -> Related:
        """From a row holding the node (as ``NodeRecord.of`` reads it) and ``rel``."""
        return cls(**related_fields(row))


def related_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A ``Related``'s fields from a row, to validate inside a larger record (``node_fields``)."""
    return {"node": node_fields(row), "rel": plain(row["rel"] or {})}
