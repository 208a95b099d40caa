"""Columns of a document collection, inferred from a bounded sample of its documents.

Nested fields are named with dots (``address.city``); an array field is named with ``[]`` and
typed by its elements (``tags[]``: string), so an array of documents yields ``items[]``
(object) and ``items[].sku``. A field present in only some documents, or sometimes null, is
nullable; a field seen with several types has them joined (``int|string``). A top-level field
named by the empty string (a CSV imported with an empty header) is no column: a column's name
is the last segment of its URN, and URN segments are never empty.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bson import Binary, Code, Decimal128, ObjectId, Regex, Timestamp

from core.events import ColumnInfo
from ingest.connectors.profiling import profile_values

INT32 = range(-(2**31), 2**31)
# BSON type names as MongoDB's $type spells them, most specific class first (bool is an int).
TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"),
    (int, "int"),
    (float, "double"),
    ((Decimal128, Decimal), "decimal"),
    (str, "string"),
    (dt.datetime, "date"),
    (ObjectId, "objectId"),
    (uuid.UUID, "uuid"),
    ((Binary, bytes), "binData"),
    (Timestamp, "timestamp"),
    (Regex, "regex"),
    (Code, "javascript"),
    (Mapping, "object"),
    (list, "array"),
)


def bson_type(value: object) -> str:
    if value is None:
        return "null"
    for cls, name in TYPE_NAMES:
        if isinstance(value, cls):
            if name == "int" and value not in INT32:
                return "long"
            return name
    return type(value).__name__


def _paths(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every (path, value) in a value: containers first, then what they contain."""
    if isinstance(value, list):
        for item in value:
            yield from _paths(item, f"{path}[]")
        return
    yield path, value
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _paths(child, f"{path}.{key}")


@dataclass
class _Field:
    types: set[str] = field(default_factory=set)
    values: list[Any] = field(default_factory=list)
    present: int = 0  # documents with at least one non-null value here


def infer_columns(documents: Sequence[Mapping[str, Any]], sample_size: int) -> list[ColumnInfo]:
    """Columns in first-seen order, each profiled over the sampled documents."""
    fields: dict[str, _Field] = {}
    for doc in documents:
        seen: set[str] = set()
        for key, value in doc.items():
            if not key:
                continue
            for path, item in _paths(value, key):
                info = fields.setdefault(path, _Field())
                info.types.add(bson_type(item))
                if item is not None:
                    info.values.append(item)
                    seen.add(path)
        for path in seen:
            fields[path].present += 1
    columns = []
    for ordinal, (path, info) in enumerate(fields.items(), start=1):
        profile, samples = profile_values(info.values, len(documents), info.present, sample_size)
        columns.append(
            ColumnInfo(
                name=path,
                data_type="|".join(sorted(info.types - {"null"})) or "null",
                nullable=info.present < len(documents),
                ordinal=ordinal,
                profile=profile,
                samples=samples,
            )
        )
    return columns
