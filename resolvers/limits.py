"""Document limits (depth, aliases, repeated fields) checked before the standard validation
rules, and both cached per document.

Some standard rules cost time quadratic in a document's size (overlapping fields), so a
document over a limit is refused for the limit alone, in a millisecond or two. Strawberry's
limiter rules also stumble over an unknown fragment (``KeyError``); the standard rules then
report it properly, so such a document is left to them.

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
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    ValidationContext,
    ValuesOfCorrectTypeRule,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from resolvers.errors import BAD_USER_INPUT

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_REPEATS = 100


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


class ArgumentValuesRule(ValuesOfCorrectTypeRule):
    """The standard rule for literal argument values (an enum spelt as a string, a string for
    an Int), its errors coded ``BAD_USER_INPUT`` like every argument error."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        super().report_error(error)


LIMIT_RULES = (depth_rule(MAX_DEPTH, None, None), alias_rule(MAX_ALIASES), RepeatedFieldsRule)
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
    try:
        errors = validate(schema, document, LIMIT_RULES)
    except KeyError:  # an unknown fragment, which the standard rules name
        errors = []
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
