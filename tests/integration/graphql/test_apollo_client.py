"""What Apollo Client 4, the client most web UIs use, shows when the API refuses a request.

Apollo surfaces the GraphQL errors of a non-2xx response only when it is sent as
``application/graphql-response+json`` (the GraphQL over HTTP media type, which it asks for);
for ``application/json`` a UI would only see "Received status code 401" (issue 12, 6).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.integration.graphql.conftest import JS


async def apollo(node: str, api: str, token: str) -> dict[str, Any]:
    """Run ``tests/js/apollo.mjs`` against the API and return what it printed."""
    process = await asyncio.create_subprocess_exec(
        node, "apollo.mjs", f"{api}/graphql", token, cwd=JS, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_apollo_shows_why_a_request_was_unauthenticated(node: str, api: str) -> None:
    refused = await apollo(node, api, "not-a-token")
    assert refused["name"] == "CombinedGraphQLErrors", refused
    assert refused["codes"] == ["UNAUTHENTICATED"]
    assert "authentication failed" in refused["message"]
    missing = await apollo(node, api, "-")
    assert missing["codes"] == ["UNAUTHENTICATED"]
    assert "missing bearer token" in missing["message"]


async def test_apollo_reads_data_with_a_valid_token(node: str, api: str, token: str) -> None:
    # serverInfo needs system:admin: a steward gets a typed FORBIDDEN error, not a transport one.
    answered = await apollo(node, api, token)
    assert answered.get("codes") == ["FORBIDDEN"], answered


async def test_a_legacy_client_still_gets_plain_json(api: str) -> None:
    for accept in (None, "application/json", "*/*"):
        headers = {"accept": accept} if accept else {}
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{api}/graphql", json={"query": "{ __typename }"}, headers=headers
            )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json", accept
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
