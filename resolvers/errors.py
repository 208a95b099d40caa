"""Errors a client caused, and which errors production hides.

A resolver raises ``ClientError`` for a bad argument (page size, depth, cursor): the message is
meant for the caller and survives masking. Security refusals are GraphQL errors with an
``extensions.code`` (``coded``) and survive too, as do validation and limit errors, which carry
no original exception; anything else is an internal failure, masked outside development.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

BAD_USER_INPUT = "BAD_USER_INPUT"
# How graphql-core begins the message of a variable value it could not coerce.
VARIABLE_VALUE = "Variable '$"


class ClientError(Exception):
    """A request the server understood but refuses; the message says what to change.
    graphql-core copies ``extensions`` onto the GraphQL error it reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.extensions = {"code": BAD_USER_INPUT}


def coded(code: str, message: str, **extensions: Any) -> GraphQLError:
    """A refusal the client can act on: UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, ..."""
    return GraphQLError(message, extensions={"code": code, **extensions})


def not_found(urn: str, what: str) -> GraphQLError:
    """A query argument names something that does not exist, or that the caller may not see
    (the same answer, so it reveals nothing): ``NOT_FOUND`` with the ``urn``."""
    return coded("NOT_FOUND", f"no {what} {urn!r} (or not one you may see)", urn=urn)


def code_input_errors(errors: list[GraphQLError]) -> None:
    """Give a variable value that did not fit its type (found while executing, not validating)
    the code of every argument error."""
    for error in errors:
        if error.message.startswith(VARIABLE_VALUE) and not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ClientError | GraphQLError)
