"""Document limits (depth, aliases, repeated fields, cost) checked before the standard
validation rules, and both cached per document.

Some standard rules cost time quadratic in a document's size (overlapping fields), so a
document over a limit is refused for the limit alone, in a millisecond or two. The limits
measure each fragment once, however often it is spread (Strawberry's own depth and alias rules
walked it at every spread: exponential in a few hundred bytes), and skip an unknown fragment,
which the standard rules then name.

Clients send the same few documents again and again, and validating one took a third of the
API's CPU time (docs/benchmarks.md, GraphQL): the outcome depends only on the schema, the
document, the rules and whether errors may suggest names (production: not, unless
``DATAWAVE_SUGGESTIONS``: a "did you mean" names fields a caller did not know), so it is kept
in a bounded LRU, as is the parsed document (Strawberry's ``ParserCache``, keyed by the query
text).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValuesOfCorrectTypeRule,
    get_named_type,
    get_nullable_type,
    is_list_type,
    validate,
)
from graphql.language.visitor import SKIP
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from resolvers.errors import BAD_USER_INPUT, coded
from resolvers.pagination import MAX_PAGE_SIZE

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_REPEATS = 100
# What an unpaged list of objects (``Table.columns``, ``labels``, ``owners``) is assumed to
# hold: nothing bounds them; the default page size, a wide table's columns.
ASSUMED_LIST_SIZE = 50
# The most a document may be estimated to produce (``CostRule``). The repo's heaviest, a page of
# 100 tables with their columns, labels and lineage (tests/integration/graphql/test_loaders.py),
# costs 1.06 million (its real lists are far shorter than 50); nesting unpaged lists costs 50 a
# level: the 270-byte attack of five ``columns { table { ...`` levels costs 325 million (25 MB,
# 7.7 s of a blocked event loop at 13 columns a table), four levels 6.5 million.
MAX_COST = 1_500_000
PAGE_ARGUMENTS = ("first", "last")


class _PerFragment(ASTValidationRule):
    """A measure of each operation with its fragments expanded, each fragment measured once:
    Strawberry's depth and alias rules walked a fragment again at every spread, so twenty
    fragments each spreading the one before twice (a few hundred bytes) took half a second and
    thirty took minutes. ``measure`` combines a field's own value with its selections'."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, int] = {}

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
        self.judge(node, self.selections(node.selection_set, ()))
        return SKIP

    def selections(self, node: SelectionSetNode | None, spreading: tuple[str, ...]) -> list[int]:
        """The measure of each selection in ``node``, fragments expanded."""
        out = []
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                out.append(
                    self.field(selection, self.selections(selection.selection_set, spreading))
                )
            elif isinstance(selection, InlineFragmentNode):
                out.append(self.combine(self.selections(selection.selection_set, spreading)))
            else:
                out.append(self.spread(selection.name.value, spreading))
        return out

    def spread(self, name: str, spreading: tuple[str, ...]) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in spreading:
            return 0  # unknown or cyclic: the standard rules name it
        if name not in self.measured:
            inner = self.selections(fragment.selection_set, (*spreading, name))
            self.measured[name] = self.combine(inner)
        return self.measured[name]

    def field(self, node: FieldNode, inner: list[int]) -> int:
        raise NotImplementedError

    def combine(self, values: list[int]) -> int:
        raise NotImplementedError

    def judge(self, node: OperationDefinitionNode, values: list[int]) -> None:
        raise NotImplementedError


class DepthRule(_PerFragment):
    """Fields nested in fields, at most ``MAX_DEPTH`` (introspection fields do not count), as
    Strawberry's depth limiter measures and words it."""

    def field(self, node: FieldNode, inner: list[int]) -> int:
        if node.name.value.startswith("__") or not node.selection_set:
            return 0
        return 1 + self.combine(inner)

    def combine(self, values: list[int]) -> int:
        return max(values, default=0)

    def judge(self, node: OperationDefinitionNode, values: list[int]) -> None:
        if self.combine(values) > MAX_DEPTH:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", [node])
            )


class AliasRule(_PerFragment):
    """Aliased fields, at most ``MAX_ALIASES`` in a document, a fragment's at every spread, as
    Strawberry's alias limiter counts and words it."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.total = 0

    def field(self, node: FieldNode, inner: list[int]) -> int:
        return (1 if node.alias else 0) + self.combine(inner)

    def combine(self, values: list[int]) -> int:
        return sum(values)

    def judge(self, node: OperationDefinitionNode, values: list[int]) -> None:
        self.total += self.combine(values)

    def leave_document(self, *_: Any) -> None:
        if self.total > MAX_ALIASES:
            self.report_error(GraphQLError(f"{self.total} aliases found. Allowed: {MAX_ALIASES}"))


class RepeatedFieldsRule(ASTValidationRule):
    """Counts the fields asked again in one selection set (``{ a a a }``, inline fragments
    included; the same fragment spread again): GraphQL merges them, so they pass every other
    limit, but the standard overlap rule compares them pairwise (1,900 of them took 70 ms).
    More than ``MAX_REPEATS`` in a document is an error."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.repeats = 0

    def enter_selection_set(self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any) -> None:
        if isinstance(parent, InlineFragmentNode):
            return  # counted within the selection set that holds the fragment
        names, pending = [], list(node.selections)
        while pending:
            selection = pending.pop()
            if isinstance(selection, FieldNode):
                names.append((selection.alias or selection.name).value)
            elif isinstance(selection, InlineFragmentNode):
                pending.extend(selection.selection_set.selections)
            else:  # a fragment spread
                names.append("..." + selection.name.value)
        self.repeats += len(names) - len(set(names))

    def leave_document(self, *_: Any) -> None:
        if self.repeats > MAX_REPEATS:
            self.report_error(
                GraphQLError(f"{self.repeats} repeated fields found. Allowed: {MAX_REPEATS}")
            )


class CostRule(ASTValidationRule):
    """Estimates the fields an operation can produce, and refuses more than ``MAX_COST`` (coded
    ``REQUEST_TOO_LARGE``, like a document or variables over their size): depth and aliases
    let ``columns { table { columns { ... } } }`` multiply a table's columns at every level.
    A field costs 1 for each object holding it: the product of the sizes of the lists above
    it. A list's size is its field's ``first``/``last`` (a connection's applies to its
    ``edges``), at most ``MAX_PAGE_SIZE`` as the resolvers allow, else ``ASSUMED_LIST_SIZE``.
    A variable counts as ``MAX_PAGE_SIZE``, whatever its default: the outcome is cached per
    document, and variables are not part of it. Fragments count at each spread; introspection
    costs 1 (bounded by the schema, not the data)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.schema = context.schema
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        # A fragment's cost on one object, by fragment and page: a fragment spread twice in
        # fragments spread twice ... would otherwise be walked exponentially often.
        self.spread_costs: dict[tuple[str, int | None], int] = {}

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
        cost = self.cost(node.selection_set, self.schema.get_root_type(node.operation), None, ())
        if cost > MAX_COST:
            self.report_error(
                coded(
                    "REQUEST_TOO_LARGE",
                    f"estimated cost {cost:,} exceeds the maximum of {MAX_COST:,}: ask for "
                    "smaller pages (first) or fewer nested lists",
                    cost=cost,
                    maxCost=MAX_COST,
                )
            )
        return SKIP

    def cost(
        self,
        selections: SelectionSetNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        spreading: tuple[str, ...],
    ) -> int:
        """The cost of ``selections`` on one object of type ``parent``; ``page``: the size of
        its lists when a paged field returned it (a connection)."""
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent, page, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, kind, page, spreading)
            else:
                total += self.spread_cost(selection, page, spreading)
        return total

    def field_cost(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        spreading: tuple[str, ...],
    ) -> int:
        field = getattr(parent, "fields", {}).get(node.name.value)  # a union has none
        if field is None or node.selection_set is None:
            return 1  # a leaf, introspection, or unknown (the standard rules name it)
        size = _page_size(node, field)
        child = get_named_type(field.type)
        if is_list_type(get_nullable_type(field.type)):
            each = size or page or ASSUMED_LIST_SIZE
            return 1 + each * self.cost(node.selection_set, child, None, spreading)
        return 1 + self.cost(node.selection_set, child, size, spreading)

    def spread_cost(
        self, node: FragmentSpreadNode, page: int | None, spreading: tuple[str, ...]
    ) -> int:
        name = node.name.value
        fragment = self.fragments.get(name)
        if fragment is None or name in spreading:
            return 0  # unknown or cyclic: the standard rules name it
        if (name, page) not in self.spread_costs:
            kind = self.schema.get_type(fragment.type_condition.name.value)
            cost = self.cost(fragment.selection_set, kind, page, (*spreading, name))
            self.spread_costs[name, page] = cost
        return self.spread_costs[name, page]


def _page_size(node: FieldNode, field: GraphQLField) -> int | None:
    """The page a field asks for with ``first`` or ``last`` (given, else its default), or
    None if it takes neither."""
    name = next((n for n in PAGE_ARGUMENTS if n in field.args), None)
    if name is None:
        return None
    given = next((a.value for a in node.arguments or () if a.name.value == name), None)
    value = field.args[name].default_value if given is None else given
    if isinstance(value, IntValueNode):
        value = int(value.value)
    return max(1, min(value, MAX_PAGE_SIZE)) if isinstance(value, int) else MAX_PAGE_SIZE


class ArgumentValuesRule(ValuesOfCorrectTypeRule):
    """The standard rule for literal argument values (an enum spelt as a string, a string for
    an Int), its errors coded ``BAD_USER_INPUT`` like every argument error."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        super().report_error(error)


LIMIT_RULES = (DepthRule, AliasRule, RepeatedFieldsRule, CostRule)
# What Strawberry adds to the standard rules (its ``validate_document``).
STRAWBERRY_RULES = (MaybeNullValidationRule, OneOfInputValidationRule)
# Distinct documents kept parsed and validated; bounded so unique texts cannot grow memory.
DOCUMENT_CACHE = 256


@lru_cache(maxsize=DOCUMENT_CACHE)
def document_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """The limits' errors if any, else the standard rules' (``[]``: the document is valid)."""
    errors = validate(schema, document, LIMIT_RULES)
    rules = (
        *(ArgumentValuesRule if r is ValuesOfCorrectTypeRule else r for r in rules),
        *STRAWBERRY_RULES,
    )
    return errors or validate(schema, document, rules, hide_suggestions=hide_suggestions)


class CachedValidation(SchemaExtension):
    """Validation through ``document_errors``; ``suggestions`` False: errors name no field,
    argument, type or value the document did not (graphql-core's ``hide_suggestions``)."""

    def __init__(self, *, suggestions: bool = True) -> None:
        super().__init__()
        self.suggestions = suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        # Set, even to []: Strawberry then skips its own (uncached) run of the rules.
        context.pre_execution_errors = document_errors(
            context.schema._schema,
            context.graphql_document,
            tuple(context.validation_rules),
            not self.suggestions,
        )
        yield
