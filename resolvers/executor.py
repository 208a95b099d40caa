"""The executor of every operation: per-event memo caches for subscriptions, and values a root
field read whole completed without a resolver call per field.

graphql-core 3.3 (3.3.2, the latest) runs each subscription event on a shallow copy of the
subscription's executor (``build_per_event_executor``), so the copies share its memo of
collected subfields, keyed by the identity of field lists that each event builds anew: the memo
never hits, and every event adds entries (lists of ``FieldDetails``, ``CollectedFields``) that
stay until the subscription ends. With 1,000 subscribers, each event left ~20,000 objects
behind, and the cyclic collector's full passes over them grew to 0.5 s, stalling every
subscriber (docs/benchmarks.md). Each event gets fresh caches here, as a query does.

A root field that read everything its selection asks for in one query (an asset with its
columns and labels, a page of assets, a lineage graph) returns it as ``Prefetched``. Completing
such a value field by field through graphql-core cost more than the read (an awaited resolver,
an info object and a permission check per column and label; docs/benchmarks.md, GraphQL), so it
is completed here directly: plain fields by attribute, fields without arguments whose resolver
is a plain method of the object by calling it, the relationships the root field read by the
readers it hands over; every leaf through the schema's own serialisation. A selection that asks
for anything else (a field with its own resolver, ``@defer``), or any value the fast path would
not complete the way graphql-core does, is completed the usual way, over loaders the root field
primed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import RefMap
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQL field's own field
# (type name, field name) -> what the field holds for an object, given the field's arguments
Reader = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Prefetched:
    """A root field's value with what its selection needs already read, and ``readers`` for
    the relationships that were read with it (they check their own permissions)."""

    value: Any
    readers: Mapping[tuple[str, str], Reader] = field(default_factory=dict)


class _Unsupported(Exception):
    """The selection asks for something only the usual completion provides."""


def _plain_method(definition: StrawberryField) -> Callable[[Any], Any] | None:
    """The method behind a field whose resolver takes only ``self``, is synchronous and has no
    extensions (``Edge.cursor``): calling it is what Strawberry's resolver call does."""
    resolver = definition.base_resolver
    if resolver is None or definition.extensions or resolver.is_async:
        return None
    func = resolver.wrapped_func
    if not callable(func) or len(inspect.signature(func).parameters) != 1:
        return None
    return func


class DataWaveExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> DataWaveExecutor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor  # type: ignore[return-value]

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if type(result) is Prefetched:
            try:
                return self._complete(return_type, field_details_list, result.value, result.readers)
            except Exception:  # the usual completion says what was wrong, if anything
                result = result.value
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _complete(
        self, type_: GraphQLOutputType, details: Any, value: Any, readers: Mapping
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            completed = self._complete(type_.of_type, details, value, readers)
            if completed is None:
                raise _Unsupported("null for a non-null field")
            return completed
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            return [self._complete(type_.of_type, details, v, readers) for v in value]
        if is_leaf_type(type_):
            return self.complete_leaf_value(type_, value)  # type: ignore[arg-type]
        if is_abstract_type(type_):
            definition = getattr(type(value), "__strawberry_definition__", None)
            found = self.schema.get_type(definition.name) if definition else None
            if not (isinstance(found, GraphQLObjectType) and self.schema.is_sub_type(type_, found)):
                raise _Unsupported(f"no runtime type for {type(value).__name__}")
            type_ = found
        assert isinstance(type_, GraphQLObjectType)
        grouped, deferred, _ = self.collect_subfields(type_, details)
        if deferred:
            raise _Unsupported("@defer")
        out: dict[str, Any] = {}
        for key, field_details in grouped.items():
            node = field_details[0].node
            name = node.name.value
            if name == "__typename":
                out[key] = type_.name
                continue
            field_def = type_.fields[name]
            reader = readers.get((type_.name, name))
            if reader is not None:
                args = get_argument_values(field_def, node, self.variable_values)
                item = reader(value, args)
            else:
                definition = field_def.extensions.get(DEFINITION)
                if not isinstance(definition, StrawberryField) or node.arguments:
                    raise _Unsupported(f"{type_.name}.{name}")
                if definition.is_basic_field:
                    item = getattr(value, definition.python_name)
                elif (method := _plain_method(definition)) is not None:
                    item = method(value)
                else:
                    raise _Unsupported(f"{type_.name}.{name} has its own resolver")
            out[key] = self._complete(field_def.type, field_details, item, readers)
        return out


class QuietExecutor(DataWaveExecutor):
    """Production's executor: errors about variables suggest no names (``did you mean``)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
