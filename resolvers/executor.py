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
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfoHelpers,
    GraphQLString,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
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


# Completes one value of a type for a selection, given the readers of the root field's value.
Completer = Callable[[Any, Mapping[tuple[str, str], Reader]], Any]

# Values the built-in scalars serialise as themselves: what graphql-core's ``serialize`` would
# return unchanged, told apart without its call (six leaves per item of a page of 100).
_SERIALIZED_AS_IS: dict[Any, Callable[[Any], bool]] = {
    GraphQLString: lambda v: type(v) is str,
    GraphQLID: lambda v: type(v) is str,
    GraphQLBoolean: lambda v: type(v) is bool,
    GraphQLInt: lambda v: type(v) is int and GRAPHQL_MIN_INT <= v <= GRAPHQL_MAX_INT,
}


def _constant(selection: SelectionSetNode | None, fragments: Mapping[str, Any]) -> bool:
    """Whether a selection, with the fragments it spreads, holds no variable and no directive:
    then the same fields, arguments and subfields are completed whatever the variables."""
    pending = [selection]
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        for node in current.selections if current else ():
            arguments = getattr(node, "arguments", None) or ()  # none on inline fragments
            if node.directives or any(_has_variable(a.value) for a in arguments):
                return False
            if isinstance(node, FragmentSpreadNode):
                if node.name.value not in seen:
                    seen.add(node.name.value)
                    fragment = fragments.get(node.name.value)  # graphql-core's FragmentDetails
                    if (
                        fragment is None
                        or fragment.variable_signatures
                        or fragment.definition.directives
                    ):
                        return False
                    pending.append(fragment.definition.selection_set)
            else:
                pending.append(node.selection_set)
    return True


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(f.value) for f in value.fields)
    return False


# Completers shared by the executions of a document (``DataWaveExecutor._shared``), keyed by
# return type and field nodes; cleared when full (documents come and go with the parser's cache).
_SHARED: dict[tuple[Any, tuple[int, ...]], tuple[tuple[Any, ...], Completer | None]] = {}
MAX_SHARED = 4096


def _weak_helpers(executor: DataWaveExecutor) -> GraphQLResolveInfoHelpers:
    """graphql-core's helpers for resolvers (``info.async_helpers``), holding the executor by
    a weak reference: its own are its bound methods, a cycle through the executor that kept
    each request's context, loaders and records alive until the cyclic collector ran (a
    tenth of a cold detail's CPU; docs/benchmarks.md). Resolvers call them only while the
    executor runs; a subscription's per-event copies share its helpers, as graphql-core's
    copies do, and the subscription's executor outlives its events."""
    ref = weakref.ref(executor)
    return GraphQLResolveInfoHelpers(
        gather=lambda work: ref().gather_async_work(work),  # type: ignore[union-attr]
        track=lambda work: ref().track_async_work(work),  # type: ignore[union-attr]
    )


class DataWaveExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _weak_helpers(self)

    def build_per_event_executor(self, payload: Any) -> DataWaveExecutor:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        executor._completers = {}
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
                complete = self._completer(return_type, field_details_list)
                return complete(result.value, result.readers)
            except Exception:  # the usual completion says what was wrong, if anything
                result = result.value
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _completer(self, type_: GraphQLOutputType, details: Any) -> Completer:
        """How to complete values of ``type_`` for the selection ``details``, worked out once
        per execution (a page's 100 items share their fields' lookups, arguments and
        serialisers: ``details`` are graphql-core's, the same objects for every item), and
        once for every execution of the document when the selection holds no variable and
        no directive (``_shared``)."""
        try:
            cache = self._completers
        except AttributeError:
            cache = self._completers = {}
        key = (type_, id(details))
        found = cache.get(key)
        if found is None:  # ``details`` are kept with it, so their id is not reused meanwhile
            found = cache[key] = (details, self._shared(type_, details))
        return found[1]

    def _shared(self, type_: GraphQLOutputType, details: Any) -> Completer:
        """The completer of every execution of the document for a selection whose completion
        no variable changes (compiling it was 8 % of a cold lineage read's CPU, py-spy;
        docs/benchmarks.md), else this execution's. The parser's cache hands every execution
        of a document the same nodes, so they key it, and are kept with it (so their ids are
        not reused while the entry lives)."""
        nodes = tuple(d.node for d in details)
        key = (type_, tuple(map(id, nodes)))
        found = _SHARED.get(key)
        if found is None:
            constant = all(
                d.defer_usage is None and d.fragment_variable_values is None for d in details
            ) and all(_constant(n.selection_set, self.fragments) for n in nodes)
            if len(_SHARED) >= MAX_SHARED:
                _SHARED.clear()
            found = _SHARED[key] = (nodes, self._compile(type_, details) if constant else None)
        return found[1] or self._compile(type_, details)

    def _compile(self, type_: GraphQLOutputType, details: Any) -> Completer:
        if isinstance(type_, GraphQLNonNull):
            inner = self._completer(type_.of_type, details)

            def non_null(value: Any, readers: Mapping) -> Any:
                completed = inner(value, readers)
                if completed is None:
                    raise _Unsupported("null for a non-null field")
                return completed

            return non_null
        if isinstance(type_, GraphQLList):
            item = self._completer(type_.of_type, details)
            return lambda value, readers: (
                None if value is None else [item(v, readers) for v in value]
            )
        if is_leaf_type(type_):
            leaf, as_is = type_, _SERIALIZED_AS_IS.get(type_)
            complete_leaf = self.complete_leaf_value  # a static method: no execution kept

            def serialize(value: Any, readers: Mapping) -> Any:
                if value is None or (as_is is not None and as_is(value)):
                    return value
                return complete_leaf(leaf, value)

            return serialize
        if is_abstract_type(type_):
            # Each possible type's completer, by the name Strawberry gives a value's class.
            by_name = {
                possible.name: self._completer(possible, details)
                for possible in self.schema.get_possible_types(type_)
            }

            def by_runtime_type(value: Any, readers: Mapping) -> Any:
                if value is None:
                    return None
                definition = getattr(type(value), "__strawberry_definition__", None)
                complete = by_name.get(definition.name) if definition else None
                if complete is None:
                    raise _Unsupported(f"no runtime type for {type(value).__name__}")
                return complete(value, readers)

            return by_runtime_type
        assert isinstance(type_, GraphQLObjectType)
        return self._compile_object(type_, details)

    def _compile_object(self, type_: GraphQLObjectType, details: Any) -> Completer:
        grouped, deferred, _ = self.collect_subfields(type_, details)
        if deferred:
            raise _Unsupported("@defer")
        fields: list[tuple[str, Callable[[Any, Mapping], Any], Completer]] = []
        for key, field_details in grouped.items():
            node = field_details[0].node
            name = node.name.value
            if name == "__typename":
                fields.append((key, lambda _v, _r, n=type_.name: n, lambda v, _r: v))
                continue
            field_def = type_.fields[name]
            args = get_argument_values(field_def, node, self.variable_values)
            fields.append(
                (
                    key,
                    self._getter(type_.name, name, field_def, node, args),
                    self._completer(field_def.type, field_details),
                )
            )

        def complete(value: Any, readers: Mapping) -> Any:
            if value is None:
                return None
            return {key: done(get(value, readers), readers) for key, get, done in fields}

        return complete

    @staticmethod
    def _getter(
        type_name: str, name: str, field_def: Any, node: Any, args: dict[str, Any]
    ) -> Callable[[Any, Mapping], Any]:
        """What the field holds for an object: by the reader the root field handed over for
        it, else by attribute or plain method; anything else raises ``_Unsupported`` when met,
        as a reader for it may come with another value."""
        definition = field_def.extensions.get(DEFINITION)
        own: Callable[[Any], Any] | None = None
        if isinstance(definition, StrawberryField) and not node.arguments:
            if definition.is_basic_field:
                own = attrgetter(definition.python_name)
            else:
                own = _plain_method(definition)
        key = (type_name, name)

        def get(value: Any, readers: Mapping) -> Any:
            reader = readers.get(key) if readers else None
            if reader is not None:
                return reader(value, args)
            if own is None:
                raise _Unsupported(f"{type_name}.{name} has its own resolver")
            return own(value)

        return get


class QuietExecutor(DataWaveExecutor):
    """Production's executor: errors about variables suggest no names (``did you mean``)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
