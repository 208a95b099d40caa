"""A value read whole (``Prefetched``) is serialised exactly as graphql-core serialises it field
by field (resolvers/executor.py), including the values its shortcut for built-in scalars must
leave to graphql-core: an int in a ``String``, a number in a ``Boolean``, an ``Int`` beyond 32
bits."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from resolvers.executor import DataWaveExecutor, Prefetched


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    size: int | None
    flag: bool | None


def item(**values: Any) -> Item:
    return Item(**{"id": "urn:dw:x", "name": "x", "size": 1, "flag": True, **values})


def schema(prefetched: bool, value: Item) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def items(self) -> list[Item]:
            values = [value, item()]
            return Prefetched(values) if prefetched else values  # type: ignore[return-value]

    return strawberry.Schema(Query, execution_context_class=DataWaveExecutor)


@pytest.mark.parametrize(
    "value",
    [
        item(),
        item(size=None, flag=None),
        item(name=7, id=12),  # serialised as text
        item(flag=0),  # serialised as false
        item(size=2**31 - 1),
        item(size=2**40),  # an error, the other item still served
        item(size=-(2**31) - 1),
    ],
)
async def test_a_prefetched_value_reads_as_field_by_field(value: Item) -> None:
    query = "{ items { id name size flag } }"
    whole = await schema(True, value).execute(query)
    by_field = await schema(False, value).execute(query)
    assert whole.data == by_field.data
    assert [e.message for e in whole.errors or []] == [e.message for e in by_field.errors or []]
    if value.size is not None and value.size > 2**31:
        assert whole.errors and "32-bit" in whole.errors[0].message
    if value.name == 7:
        assert whole.data == {"items": [
            {"id": "12", "name": "7", "size": 1, "flag": True},
            {"id": "urn:dw:x", "name": "x", "size": 1, "flag": True},
        ]}  # fmt: skip
