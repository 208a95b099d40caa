"""Errors a client caused, and which errors production hides.

A resolver raises ``ClientError`` for a bad argument (page size, depth, cursor): the message is
meant for the caller and survives masking. Validation and limit errors carry no original
exception and survive too; anything else is an internal failure, masked outside development.
"""

from __future__ import annotations

from graphql import GraphQLError


class ClientError(Exception):
    """A request the server understood but refuses; the message says what to change."""


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)
