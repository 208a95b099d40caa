"""A subscription keeps no state per event (resolvers/executor.py)."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator

import strawberry
from graphql.execution.collect_fields import FieldDetails

from resolvers.executor import DataWaveExecutor


@strawberry.type
class Item:
    name: str
    tags: list[str]


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self) -> AsyncGenerator[Item, None]:
        while True:
            yield Item(name="x", tags=["a", "b"])


def field_details() -> int:
    return sum(type(o) is FieldDetails for o in gc.get_objects())


async def test_events_leave_nothing_behind_while_the_subscription_lives() -> None:
    schema = strawberry.Schema(
        Query, subscription=Subscription, execution_context_class=DataWaveExecutor
    )
    stream = await schema.subscribe("subscription { items { name tags } }")
    try:
        results = [await anext(stream) for _ in range(5)]
        before = field_details()
        for _ in range(200):
            result = await anext(stream)
            assert result.errors is None
            assert result.data == {"items": {"name": "x", "tags": ["a", "b"]}}
        assert field_details() - before < 10  # graphql-core's own executor: ~2 per event
        assert results[0].data == result.data
    finally:
        await stream.aclose()
