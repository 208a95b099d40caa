"""Errors a client caused, and which errors production hides.

A resolver raises ``ClientError`` for a bad argument (page size, depth, cursor): the message is
meant for the caller and survives masking. Security refusals are GraphQL errors with an
``extensions.code`` (``coded``) and survive too, as do validation and limit errors, which carry
no original exception; anything else is an internal failure, masked outside development.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ClientError(Exception):
    """A request the server understood but refuses; the message says what to change."""


def coded(code: str, message: str, **extensions: Any) -> GraphQLError:
    """A refusal the client can act on: UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, ..."""
    return GraphQLError(message, extensions={"code": code, **extensions})


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ClientError | GraphQLError)
