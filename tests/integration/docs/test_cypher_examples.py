"""Every Cypher example in the README and docs/ (docs/analysts.md: what analysts paste into Neo4j
Browser) compiles on the Neo4j the stack runs and only reads: ``EXPLAIN`` plans it without
running it, with the example's own ``:param`` values, so syntax the server no longer takes (or
does not take yet), an unknown function or a parameter the example forgets is caught here
rather than by an analyst. (Unknown labels and properties are only warnings to Neo4j, and
which exist depends on what the tests wrote before: not checked.)"""

from __future__ import annotations

import ast
import re

import pytest
from neo4j import AsyncDriver

from core.settings import Settings
from tests.unit.docs.blocks import fenced

PARAMETER_MISSING = "01N60"  # GQLSTATUS of the warning "parameter missing"
PARAM = re.compile(r"^:param\s+(\w+)\s*=>\s*(.+)$", re.M)
EXAMPLES = fenced("cypher")


def test_the_docs_have_examples() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES)
async def test_a_cypher_example_compiles_and_only_reads(
    example: str, neo4j: AsyncDriver, settings: Settings
) -> None:
    params = {name: ast.literal_eval(value) for name, value in PARAM.findall(example)}
    query = PARAM.sub("", example).strip()
    async with neo4j.session(database=settings.neo4j.database) as session:
        result = await session.run(f"EXPLAIN {query}", params)
        summary = await result.consume()
    assert summary.query_type == "r", "an analyst's example reads, never writes"
    statuses = [s.gql_status for s in summary.gql_status_objects]
    assert PARAMETER_MISSING not in statuses, "every parameter it uses has its :param line"
