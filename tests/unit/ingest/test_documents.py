"""MongoDB field inference and the shared column profile."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from ingest.connectors.documents import bson_type, infer_columns
from ingest.connectors.profiling import MAX_VALUE_CHARS, profile_values


def test_bson_type_names() -> None:
    assert [bson_type(v) for v in (True, 1, 2**40, 1.5, "s", None, {}, [], ObjectId())] == [
        "bool", "int", "long", "double", "string", "null", "object", "array", "objectId",
    ]  # fmt: skip
    assert bson_type(datetime(2026, 1, 1)) == "date"


def test_nested_fields_arrays_and_nullability() -> None:
    docs = [
        {
            "_id": 1,
            "address": {"city": "Oslo", "geo": {"lat": 59.9}},
            "tags": ["a", "b"],
            "items": [{"sku": "S1", "qty": 2}, {"sku": "S2"}],
            "score": 1,
        },
        {"_id": 2, "address": {"city": None}, "tags": [], "score": "high"},
    ]
    cols = {c.name: c for c in infer_columns(docs, sample_size=10)}
    assert list(cols) == [
        "_id", "address", "address.city", "address.geo", "address.geo.lat",
        "tags[]", "items[]", "items[].sku", "items[].qty", "score",
    ]  # fmt: skip
    assert cols["address"].data_type == "object" and not cols["address"].nullable
    assert cols["address.city"].data_type == "string" and cols["address.city"].nullable
    assert cols["address.city"].profile.null_ratio == 0.5
    assert cols["address.geo.lat"].data_type == "double"
    assert cols["tags[]"].data_type == "string" and cols["tags[]"].samples == ["a", "b"]
    assert cols["items[]"].data_type == "object" and cols["items[]"].samples == []
    assert cols["items[].sku"].samples == ["S1", "S2"]
    assert cols["score"].data_type == "int|string" and not cols["score"].nullable
    assert cols["score"].profile.min is None  # mixed types have no order
    assert [c.ordinal for c in cols.values()] == list(range(1, 11))


def test_profile_values() -> None:
    profile, samples = profile_values([3, 1, 3, 2], rows=5, present=4, sample_size=2)
    assert profile.null_ratio == 0.2 and profile.distinct_count == 3
    assert (profile.min, profile.max) == ("1", "3")
    assert samples == ["3", "1"]
    assert profile_values([], rows=0, present=0, sample_size=5) == (None, [])
    blob, none = profile_values([b"\x00"], rows=2, present=1, sample_size=5)
    assert blob.null_ratio == 0.5 and blob.distinct_count is None and none == []
    _, long = profile_values(["x" * 1000], rows=1, present=1, sample_size=5)
    assert len(long[0]) == MAX_VALUE_CHARS
