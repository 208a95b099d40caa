"""Every GraphQL example in the README and docs/ is valid against the schema the code builds:
a renamed field or argument, or a list that became a connection, breaks the example a user
copies, and this test, not the user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, validate

from resolvers.schema import schema

ROOT = Path(__file__).resolve().parents[3]
FENCE = re.compile(r"^```graphql\n(.*?)^```", re.S | re.M)
EXAMPLES = [
    pytest.param(block, id=f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for text in [path.read_text()]
    for m in FENCE.finditer(text)
    for block in [m.group(1)]
]


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
