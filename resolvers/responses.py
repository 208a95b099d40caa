"""Whole responses of catalog reads, kept in Redis per caller and request.

A frontend asks the same few questions again and again (a table's page, a lineage graph, the
first page of a source's columns), and with every part read from the cache, completing the
response still took most of a request's time (docs/benchmarks.md, issue 17). A response is
therefore kept whole, and served again without executing, when all of these hold:

- the operation is a query, and every field of its document is catalog data: the root fields
  ``asset``, ``assets`` and ``lineage``, on the asset, label, lineage and connection types of
  ``CATALOG_TYPES``. Anything else (a data source's health, teams, jobs, governance, mesh) is
  kept current by other events, and a response holding it is never kept;
- the caller's token does not restrict its scope: a scoped caller's view also depends on its
  teams' live access grants, and reading through a grant is counted (mesh/usage.py);
- executing it noted nothing for the audit trail (no denial, no value read in clear: those are
  recorded on every read) and raised no error;
- it is served to the same request only: the same document, operation and variables, from the
  same subject with the same roles, permissions and scopes, under the same masking policy
  version.

Entries live under the cache's *across* token, which every catalog change replaces
(live/cache.py), and are dropped after ``DATAWAVE_CACHE_TTL_S`` (0 turns them off with the rest
of the cache). A change that lands while a response is executed makes it stale at once: it is
stored with the token read before execution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from functools import lru_cache

from graphql import (
    BREAK,
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    visit,
)
from strawberry.extensions import SchemaExtension

from resolvers.context import Context
from resolvers.limits import DOCUMENT_CACHE

ROOT_FIELDS = frozenset({"asset", "assets", "lineage"})
# Types whose every field is kept current by catalog changes (live/changes.py), which replace
# the across token. Not here: DataSource (health), Team, Job, and everything governance or mesh.
# A Dataset is: OpenLineage batches announce the datasets they describe, read, write or stop
# writing, and a scan the dataset it adopts as a table (docs/lineage.md).
CATALOG_TYPES = frozenset({
    "Node", "Asset", "Database", "Schema", "Table", "Column", "SchemaVersion", "Dataset",
    "DatasetField",
    "Label", "LabelAssignment", "LabelContribution", "LabelInheritance",
    "LineageGraph", "LineageEdge", "PageInfo",
    "AssetConnection", "AssetEdge", "TableConnection", "TableEdge",
    "ColumnConnection", "ColumnEdge",
})  # fmt: skip
# Sensitive even when masked (evidence examples, explanations quoting them).
NEVER_KEPT = frozenset({("LabelAssignment", "evidence"), ("LabelAssignment", "explanation")})


class _CatalogOnly(Visitor):
    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo) -> None:
        super().__init__()
        self.schema, self.type_info, self.holds = schema, type_info, True

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> object:
        if node.operation is not OperationType.QUERY:
            self.holds = False
            return BREAK
        return None

    def enter_field(self, node: FieldNode, *_: object) -> object:
        name, parent = node.name.value, self.type_info.get_parent_type()
        if name == "__typename":
            return None
        if parent is self.schema.query_type:
            kept = name in ROOT_FIELDS
        else:
            kept = parent is not None and parent.name in CATALOG_TYPES
            kept = kept and (parent.name, name) not in NEVER_KEPT  # type: ignore[union-attr]
        if not kept:
            self.holds = False
            return BREAK
        return None

    def enter_directive(self, node: DirectiveNode, *_: object) -> object:
        if node.name.value in ("defer", "stream"):
            self.holds = False
            return BREAK
        return None


@lru_cache(maxsize=DOCUMENT_CACHE)
def reads_catalog_only(schema: GraphQLSchema, query: str) -> bool:
    """Whether every operation of the document is a query of catalog data only (see above);
    worked out once per document text."""
    try:
        document: DocumentNode = parse(query)
    except GraphQLError:  # the executor reports it
        return False
    type_info = TypeInfo(schema)
    check = _CatalogOnly(schema, type_info)
    visit(document, TypeInfoVisitor(type_info, check))
    return check.holds


def digest(context: Context, query: str, operation: str | None, variables: object) -> str:
    """What identifies a response: the request and everything about the caller that decides
    what it sees."""
    principal = context.guard.principal
    assert principal is not None  # OperationSecurity admitted the operation
    claims = (principal.roles, principal.permissions, principal.domains, principal.sources)
    parts = [
        query,
        operation,
        variables,
        principal.subject,
        *(sorted(c) for c in claims),
        context.state.masker.policy.version,
    ]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CachedResponses(SchemaExtension):
    """Serves a kept response instead of executing, and keeps what may be kept (see above).
    Runs after ``OperationSecurity`` has admitted the operation."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context: Context = execution.context
        cache = context.loaders.cache
        key = token = None
        if (
            cache.ttl_s
            and execution.query
            and context.guard.principal is not None
            and context.guard.unrestricted
            and reads_catalog_only(execution.schema._schema, execution.query)
        ):
            key = digest(context, execution.query, execution.operation_name, execution.variables)
            token, body = await cache.response(key)
            if body is not None:
                execution.result = ExecutionResult(data=json.loads(body))
                yield
                return
        yield
        result = execution.result
        if (
            key
            and token is not None
            and isinstance(result, ExecutionResult)
            and result.data is not None
            and not result.errors
            and context.guard.audit.quiet
        ):
            body = json.dumps(result.data, separators=(",", ":"), ensure_ascii=False)
            await cache.store_response(key, token, body)
