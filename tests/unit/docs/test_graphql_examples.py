"""Every GraphQL example in the README and docs/ is valid against the schema the code builds:
a renamed field or argument, or a list that became a connection, breaks the example a user
copies, and this test, not the user."""

from __future__ import annotations

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, validate

from resolvers.schema import schema
from tests.unit.docs.blocks import fenced

EXAMPLES = fenced("graphql")


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_graphql_example_is_valid(example: str) -> None:
    """Each operation of a block on its own (a block may show several steps, each anonymous),
    with the block's fragments."""
    document = parse(example)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    others = [d for d in document.definitions if not isinstance(d, OperationDefinitionNode)]
    assert operations, "a block of fragments only"
    for operation in operations:
        errors = validate(schema._schema, DocumentNode(definitions=(operation, *others)))
        assert [e.message for e in errors] == []
