"""Per-operation security that every transport shares, as a schema extension.

Before execution: the caller must be authenticated with a token still valid (a WebSocket
outlives tokens), within its rate limit (per WebSocket operation; HTTP requests were counted
at the gateway) and within the variables size. After it: a response holding sensitive values,
or a subscription's event, does not leave unless their reads are recorded. The operation's
other events (denials, mutation outcomes) are recorded right after the response, so that its
timing does not tell a hidden asset from a missing one (a loss is logged). Documents refused
before execution (syntax, depth, aliases, tokens, introspection, the checks here) are audited
as denied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.context import Context
from resolvers.errors import code_input_errors, coded
from security.audit import AuditUnavailable
from security.gateway import Refusal, throttle_principal


class OperationSecurity(SchemaExtension):
    @property
    def context(self) -> Context:
        return self.execution_context.context

    async def on_operation(self) -> AsyncIterator[None]:
        if isinstance(self.context.request, WebSocket):
            # Strawberry hands every operation on a socket the connection's context; it reads
            # this one when it executes.
            self.execution_context.context = self.context.next_operation()
        try:
            yield
        except GraphQLError as refusal:  # raised by on_execute, over HTTP
            self._note_refusal([refusal])
            raise
        finally:  # also when a WebSocket handler closes the stream after its first result
            if refused := _refused(self.execution_context.result):
                code_input_errors(refused)
                self._note_refusal(refused)
            self.context.guard.audit.flush_later()

    async def on_execute(self) -> AsyncIterator[None]:
        await self._admit()
        yield
        self._refuse_if_too_large(self.execution_context.result)
        if self.context.guard.audit.holds_sensitive:
            await self._record_sensitive_reads(self.execution_context.result)

    async def on_stream_result(self, result: ExecutionResult) -> AsyncIterator[None]:
        """Each event of a subscription is held to the same rule as a query's response
        (``on_execute`` ends before the first event: a subscription's reads were recorded
        only when it ended, and sent even with the audit trail down)."""
        self._refuse_if_too_large(result)
        self.context.loaders.next_event()
        if self.context.guard.audit.holds_sensitive:
            await self._record_sensitive_reads(result)
        yield

    async def _admit(self) -> None:
        context = self.context
        principal = context.guard.principal
        if principal is None:
            raise coded("UNAUTHENTICATED", "authentication required: send a bearer token")
        if principal.expired(context.state.settings.auth.clock_skew_s):
            raise coded("UNAUTHENTICATED", "token expired: reconnect with a new one")
        limit = context.state.settings.limits.max_variables_bytes
        try:
            variables = json.dumps(self.execution_context.variables or {}, ensure_ascii=False)
            size = len(variables.encode())
        except UnicodeEncodeError as err:
            raise coded(
                "BAD_REQUEST", "variables must be Unicode text (no lone surrogates)"
            ) from err
        if size > limit:
            raise coded("REQUEST_TOO_LARGE", f"variables larger than {limit} bytes")
        if len(self.execution_context.query or "") > context.state.settings.limits.max_body_bytes:
            raise coded("REQUEST_TOO_LARGE", "document too large")
        over_websocket = isinstance(context.request, WebSocket)
        if (
            self.execution_context.operation_type is OperationType.SUBSCRIPTION
            and not over_websocket
        ):
            raise coded("BAD_REQUEST", "subscriptions run over WebSocket (graphql-transport-ws)")
        if over_websocket:
            try:
                await throttle_principal(context.state, principal)
            except Refusal as refusal:
                raise GraphQLError(refusal.message, extensions=refusal.extensions()) from refusal

    def _refuse_if_too_large(self, result: ExecutionResult | None) -> None:
        """One error instead of the partial answer and an error for every field the budget
        of related objects (resolvers/loaders.py) stopped. A mutation's write is done by then:
        its answer keeps what the payload held when the budget stopped it (bounded by the budget)
        and says it was applied, or a client reading ``data: null`` as a failure would write
        again (a second access request, a second scan)."""
        if result is None or (too_large := self.context.loaders.too_large) is None:
            return
        if self.execution_context.operation_type is OperationType.MUTATION:
            result.errors = [
                GraphQLError(
                    f"{too_large.message}; the mutation was applied, only its answer was cut",
                    extensions={**(too_large.extensions or {}), "applied": True},
                )
            ]
            return
        result.data = None
        result.errors = [too_large]

    async def _record_sensitive_reads(self, result: ExecutionResult | None) -> None:
        """Record before the response leaves; if that fails, withhold the values."""
        try:
            await self.context.guard.audit.flush()
        except AuditUnavailable:
            assert result is not None  # sensitive values were read into one
            result.data = None
            result.errors = [
                coded(
                    "AUDIT_UNAVAILABLE",
                    "sensitive values were withheld: the audit trail is unavailable",
                )
            ]

    def _note_refusal(self, errors: Sequence[GraphQLError]) -> None:
        first = errors[0]
        code = (first.extensions or {}).get("code", "INVALID_DOCUMENT")
        self.context.guard.audit.note("graphql", "/graphql", "denied", f"{code}: {first.message}")


def _refused(result: ExecutionResult | None) -> list[GraphQLError]:
    """The errors of a document refused before execution (none has a path), or []."""
    errors = (result.errors if result else None) or []
    return errors if all(e.path is None for e in errors) else []
