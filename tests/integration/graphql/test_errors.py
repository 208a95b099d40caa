"""Argument errors say what to change and carry ``extensions.code`` (issue 12, 6): clients such
as Apollo branch on the code, not on the wording."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.settings import Settings
from security.auth import mint_token
from tests.integration.graphql.conftest import Served, bearer

BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("{ assets(first: 0) { totalCount } }", {}, "first must be between 1 and 100, got 0"),
    ("{ assets(first: 101) { totalCount } }", {}, "first must be between 1 and 100, got 101"),
    ('{ assets(after: "nope") { totalCount } }', {}, "invalid cursor"),
    ('{ search(text: "x", kind: "VIEW") { totalCount } }', {}, "TableKind"),
    ('{ search(text: "x", first: "many") { totalCount } }', {}, "Int cannot represent"),
    (
        'query ($k: TableKind) { search(text: "x", kind: $k) { totalCount } }',
        {"k": "view"},
        "Variable '$k' has invalid value: Value 'view' does not exist in 'TableKind' enum",
    ),
    ("{ auditEvents(first: 500) { totalCount } }", {}, "first must be between 1 and 100"),
    ('{ scans(source: "s", after: "x") { totalCount } }', {}, "invalid cursor"),
    # not base64 at all: read as an empty cursor, it served the first page again
    ('{ findings(after: "!!!") { edges { cursor } } }', {}, "invalid cursor"),
]


@pytest.mark.parametrize(("query", "variables", "message"), BAD_INPUT)
async def test_argument_errors_are_bad_user_input(
    served: Served, settings: Settings, query: str, variables: dict[str, Any], message: str
) -> None:
    token = mint_token(settings.auth, "errors", ["admin"])
    async with httpx.AsyncClient(base_url=served.url, headers=bearer(token)) as http:
        body = (
            await http.post("/graphql", json={"query": query,
                                              "variables": variables})
        ).json()  # fmt: skip
    (error,) = body["errors"]
    assert message in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
