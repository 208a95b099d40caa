"""Document limits (depth, aliases) checked before the standard validation rules, and both
cached per document.

Some standard rules cost time quadratic in a document's size (overlapping fields), so a
document over a limit is refused for the limit alone, in a millisecond or two. Strawberry's
limiter rules also stumble over an unknown fragment (``KeyError``); the standard rules then
report it properly, so such a document is left to them.

Clients send the same few documents again and again, and validating one took a third of the
API's CPU time (docs/benchmarks.md, GraphQL): the outcome depends only on the schema, the
document and the rules, so it is kept in a bounded LRU, as is the parsed document
(Strawberry's ``ParserCache``, keyed by the query text).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.schema import validate_document

MAX_DEPTH = 12
MAX_ALIASES = 30
LIMIT_RULES = (depth_rule(MAX_DEPTH, None, None), alias_rule(MAX_ALIASES))
# Distinct documents kept parsed and validated; bounded so unique texts cannot grow memory.
DOCUMENT_CACHE = 256


@lru_cache(maxsize=DOCUMENT_CACHE)
def document_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The limits' errors if any, else the standard rules' (``[]``: the document is valid)."""
    try:
        errors = validate(schema, document, LIMIT_RULES)
    except KeyError:  # an unknown fragment, which the standard rules name
        errors = []
    return errors or validate_document(schema, document, list(rules))


class CachedValidation(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        # Set, even to []: Strawberry then skips its own (uncached) run of the rules.
        context.pre_execution_errors = document_errors(
            context.schema._schema, context.graphql_document, tuple(context.validation_rules)
        )
        yield
