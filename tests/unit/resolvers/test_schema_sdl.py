"""schema.graphql is the exported SDL; it must match the code (run `make schema` to refresh)."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from resolvers.schema import schema

SDL = Path(__file__).resolve().parents[3] / "schema.graphql"


def test_schema_graphql_is_in_sync_with_the_code() -> None:
    exported = SDL.read_text().strip()
    assert exported == print_schema(schema).strip(), "schema.graphql is stale: run `make schema`"
