"""Builds the Strawberry schema with its safety limits.

``schema`` (development limits, introspection on) is what ``schema.graphql`` is exported from;
the app builds its own with ``build_schema(settings)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from resolvers.audit.queries import AuditQuery
from resolvers.catalog.curation import CurationMutation
from resolvers.catalog.queries import CatalogQuery
from resolvers.catalog.search import SearchQuery
from resolvers.catalog.types import NODE_TYPES
from resolvers.common import SCALARS, InvalidInputError, NotFoundError
from resolvers.errors import should_mask
from resolvers.executor import DataWaveExecutor, QuietExecutor
from resolvers.governance.masking import MaskingMutation, MaskingQuery
from resolvers.governance.mutations import GovernanceMutation
from resolvers.governance.queries import GovernanceQuery
from resolvers.governance.types import ERROR_TYPES as GOVERNANCE_ERRORS
from resolvers.labels.mutations import (
    ClassifyMutation,
    LabelMutation,
    LabelQuery,
    UnmaskingRefusedError,
)
from resolvers.labels.registry import ModelRegistryQuery
from resolvers.limits import DOCUMENT_CACHE, CachedValidation
from resolvers.lineage.queries import LineageQuery
from resolvers.live.subscriptions import LiveSubscription
from resolvers.mesh.mutations import MeshMutation
from resolvers.mesh.queries import MeshQuery
from resolvers.mesh.subscriptions import MeshSubscription
from resolvers.mesh.types import ERROR_TYPES as MESH_ERRORS
from resolvers.quality.queries import QualityQuery
from resolvers.responses import CachedResponses
from resolvers.security import OperationSecurity
from resolvers.server.queries import ServerQuery
from resolvers.sources.breakers import CircuitOpenError
from resolvers.sources.mutations import (
    BusyError,
    ConnectionFailedError,
    RefusedError,
    SourceBusyError,
    SourceMutation,
)
from resolvers.sources.scans import ScanQuery

MAX_TOKENS = 2000


@strawberry.type
class Query(
    CatalogQuery,
    LineageQuery,
    SearchQuery,
    LabelQuery,
    ServerQuery,
    AuditQuery,
    ScanQuery,
    GovernanceQuery,
    MaskingQuery,
    MeshQuery,
    QualityQuery,
    ModelRegistryQuery,
):
    pass


@strawberry.type
class Mutation(
    CurationMutation,
    SourceMutation,
    LabelMutation,
    ClassifyMutation,
    GovernanceMutation,
    MaskingMutation,
    MeshMutation,
):
    pass


@strawberry.type
class Subscription(LiveSubscription, MeshSubscription):
    pass


class DataWaveSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log internal failures only: refused documents and requests are the client's doing,
        and the audit trail records them (resolvers/security.py)."""
        super().process_errors([e for e in errors if should_mask(e)], execution_context)


def build_schema(
    *, development: bool = True, introspection: bool = True, suggestions: bool = True
) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions for every request.
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE),
        lambda: CachedValidation(suggestions=suggestions),
        OperationSecurity,
        CachedResponses,  # after OperationSecurity: only admitted operations are served
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    if not development:
        extensions.append(lambda: MaskErrors(should_mask_error=should_mask))
    return DataWaveSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        # reached only as a UserError
        types=[
            NotFoundError,
            InvalidInputError,
            BusyError,
            RefusedError,
            ConnectionFailedError,
            SourceBusyError,
            CircuitOpenError,
            UnmaskingRefusedError,
            *GOVERNANCE_ERRORS,
            *MESH_ERRORS,
            # and what ``node(id:)`` serves, some only as a Node or an Asset (Dataset)
            *NODE_TYPES.values(),
        ],
        config=StrawberryConfig(scalar_map=SCALARS),
        execution_context_class=DataWaveExecutor if suggestions else QuietExecutor,
    )


schema = build_schema()
