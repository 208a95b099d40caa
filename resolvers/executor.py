"""The executor of every operation, with per-event memo caches for subscriptions.

graphql-core 3.3 (3.3.2, the latest) runs each subscription event on a shallow copy of the
subscription's executor (``build_per_event_executor``), so the copies share its memo of
collected subfields, keyed by the identity of field lists that each event builds anew: the memo
never hits, and every event adds entries (lists of ``FieldDetails``, ``CollectedFields``) that
stay until the subscription ends. With 1,000 subscribers, each event left ~20,000 objects
behind, and the cyclic collector's full passes over them grew to 0.5 s, stalling every
subscriber (docs/benchmarks.md). Each event gets fresh caches here, as a query does.
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class DataWaveExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> DataWaveExecutor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor  # type: ignore[return-value]


class QuietExecutor(DataWaveExecutor):
    """Production's executor: errors about variables suggest no names (``did you mean``)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
