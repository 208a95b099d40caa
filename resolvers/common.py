"""Building blocks every area shares: the Node interface, connections, errors, scalars."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, NewType, TypeVar

import strawberry

T = TypeVar("T")
E = TypeVar("E", bound=Enum)
log = logging.getLogger("datawave.api")

# What a mutation's answer lists of what it touched: the first, with a count of all. A new model
# can move labels on every column of the estate, an assignment reach every table of a source;
# one answer must not run to megabytes (the review queue, the catalogue page through the rest).
MAX_ANSWERED = 500

# GraphQL's Int is 32-bit; row counts and sizes are not. Registered in the schema's scalar_map.
BigInt = NewType("BigInt", int)


def utc_moment(value: object) -> datetime:
    """A DateTime argument: ISO-8601, and a time without an offset is UTC. One rule for every
    argument (``asOf``, ``since``, ``sunset``, ...): Strawberry's scalar passed such a time on
    without a zone, which Neo4j stored as a local time (no moment) and compared with stored
    times as null, and Python could not compare at all (an internal error)."""
    if not isinstance(value, str):
        raise ValueError(f"DateTime cannot represent a non-string value: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise ValueError(f"DateTime cannot represent {value!r}: {err}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


SCALARS: dict[object, Any] = {
    datetime: strawberry.scalar(
        name="DateTime",
        serialize=datetime.isoformat,
        parse_value=utc_moment,
        description="A moment, ISO-8601 (`2026-12-01T09:30:00+01:00`, `...Z`). Answers carry "
        "their offset; an argument without one is read as UTC.",
    ),
    BigInt: strawberry.scalar(
        name="BigInt",
        serialize=int,
        parse_value=int,
        description="An integer that may exceed 32 bits (row counts, sizes in bytes), sent as a "
        "JSON number; JavaScript reads it exactly up to 2^53 - 1 (Number.MAX_SAFE_INTEGER, 9 "
        "peta-rows or bytes). As an argument, a number or a string of digits.",
    ),
}


@strawberry.enum(description="What a dataset is: a table, a view or a document collection.")
class TableKind(Enum):
    TABLE = "table"
    VIEW = "view"
    COLLECTION = "collection"


def member(enum: type[E], value: str | None) -> E | None:
    """The member of ``enum`` a graph property holds (``None`` for none). A value this version
    does not know (written by a newer one) also reads as ``None``, logged, rather than failing
    the whole response."""
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        log.warning("unknown %s value in the graph: %r", enum.__name__, value)
        return None


def timestamp(props: dict[str, Any], key: str) -> datetime | None:
    """A timestamp property (ISO text from graph/records.py) as a datetime."""
    value = props.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@strawberry.interface(description="Anything with a global ID, which is always its URN.")
class Node:
    id: strawberry.ID


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    # Encoded only when asked for: most clients page with ``pageInfo.endCursor`` alone.
    position: strawberry.Private[Callable[[], str]]

    @strawberry.field(description="Where this edge sits: pass it as `after`.")
    def cursor(self) -> str:
        return self.position()


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items match in all (one extra query, if asked).")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.interface(description="An expected failure of a mutation, meant for the caller.")
class UserError:
    message: str


@strawberry.type(description="The mutation names something that does not exist.")
class NotFoundError(UserError):
    urn: strawberry.ID


@strawberry.type(description="An argument is invalid; `field` names it.")
class InvalidInputError(UserError):
    field: str
