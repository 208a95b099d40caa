"""Document limits (depth, aliases), checked before the standard validation rules.

Some standard rules cost time quadratic in a document's size (overlapping fields), so a
document over a limit is refused for the limit alone, in a millisecond or two. Strawberry's
limiter rules also stumble over an unknown fragment (``KeyError``); the standard rules then
report it properly, so such a document is left to them.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import validate
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

MAX_DEPTH = 12
MAX_ALIASES = 30
LIMIT_RULES = (depth_rule(MAX_DEPTH, None, None), alias_rule(MAX_ALIASES))


class LimitsFirst(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        try:
            errors = validate(context.schema._schema, context.graphql_document, LIMIT_RULES)
        except KeyError:  # an unknown fragment, which the standard rules name
            errors = []
        if errors:
            context.pre_execution_errors = errors  # Strawberry then skips the standard rules
        yield
