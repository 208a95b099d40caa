"""Builds the Strawberry schema with its safety limits.

``schema`` (development limits, introspection on) is what ``schema.graphql`` is exported from;
the app builds its own with ``build_schema(settings)``.
"""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from resolvers.queries.server import ServerQuery

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 2000


@strawberry.type
class Query(ServerQuery):
    pass


def build_schema(*, development: bool = True, introspection: bool = True) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if not development:
        extensions.append(MaskErrors)
    return strawberry.Schema(query=Query, extensions=extensions)


schema = build_schema()
