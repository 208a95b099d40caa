"""GraphiQL works offline in a real browser: headless Debian chromium opens the page of an API
in development mode and loads every script and style from the API itself (no CDN); a user
pastes the Authorization header, re-fetches the schema, and runs a query and a subscription.

Chromium must be installed (``infra/bootstrap.sh`` does it); without it the tests fail and
say how to install it, they do not skip.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from neo4j import AsyncDriver
from strawberry.http.ides import get_graphql_ide_html

from app.graphiql import STATIC_PATH, local_page
from core.settings import Mode, Settings
from core.urns import table_urn
from graph.driver import write
from live.changes import CATALOG_CHANNEL, ChangeType, catalog_change, publish_catalog_change
from security.auth import mint_token
from tests.integration.browser import BrowserError, Page, chromium
from tests.integration.graphql.conftest import Served, serve

RESPONSE_TEXT = """(() => {
    const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
    return cm ? cm.getValue() : null;
})()"""
FORGET = """
MATCH (e:AuditEvent) WHERE e.actor STARTS WITH $name OR e.requestId STARTS WITH $name DELETE e
"""
EXECUTE = ".graphiql-execute-button"


@pytest.fixture
async def served(neo4j: AsyncDriver, unique: str) -> AsyncIterator[Served]:
    """The API in development mode; the audit events of this test are deleted afterwards."""
    settings = Settings(_env_file=None, mode=Mode.DEVELOPMENT)
    async with serve(settings) as served:
        yield served
        await served.app.state.datawave.audit.drain()
    await write(neo4j, settings.neo4j.database, FORGET, name=unique)


@pytest.fixture
async def page(tmp_path: Path, unique: str) -> AsyncIterator[Page]:
    async with chromium(tmp_path / "chromium") as page:
        for domain in ("Network", "Runtime", "Log", "Page"):
            await page.send(f"{domain}.enable")
        # Tags the audit events of the page's requests (the first, unauthenticated schema
        # fetch is audited as a failed authentication) so the fixture can delete them.
        await page.send("Network.setExtraHTTPHeaders", headers={"X-Request-ID": unique})
        yield page


def events(page: Page, method: str) -> list[dict[str, Any]]:
    return [e["params"] for e in page.events if e["method"] == method]


def problems(page: Page, api: str) -> list[str]:
    """What went wrong on the page: requests beyond the API, failed or refused loads, script
    errors, console errors (CSP violations among them). Only the schema fetch made before the
    token was pasted may fail (401)."""
    urls = {r["requestId"]: r["request"]["url"] for r in events(page, "Network.requestWillBeSent")}
    found = [f"fetched from outside the API: {u}" for u in urls.values() if not _ours(u, api)]
    for r in events(page, "Network.responseReceived"):
        url, status = r["response"]["url"], r["response"]["status"]
        if status >= 400 and not (url == f"{api}/graphql" and status == 401):
            found.append(f"HTTP {status}: {url}")
    for f in events(page, "Network.loadingFailed"):
        reason = f.get("blockedReason") or f["errorText"]
        found.append(f"load failed ({reason}): {urls.get(f['requestId'])}")
    for e in events(page, "Runtime.exceptionThrown"):
        details = e["exceptionDetails"]
        found.append(f"script error: {details.get('exception', {}).get('description', details)}")
    for e in events(page, "Log.entryAdded"):
        entry = e["entry"]
        if entry["level"] == "error" and not _refused_schema_fetch(entry, api):
            found.append(f"console ({entry['source']}): {entry['text']}")
    for c in events(page, "Runtime.consoleAPICalled"):
        if c["type"] == "error":
            found.append(
                f"console.error: {[a.get('value', a.get('description')) for a in c['args']]}"
            )
    return found


def _ours(url: str, api: str) -> bool:
    return url.startswith((f"{api}/", "data:"))


def _refused_schema_fetch(entry: dict[str, Any], api: str) -> bool:
    """Chromium logs the 401 of the schema fetch made before the token was pasted."""
    return entry.get("url") == f"{api}/graphql" and "status of 401" in entry.get("text", "")


async def open_graphiql(served: Served, page: Page, unique: str) -> None:
    """Load GraphiQL and paste a viewer's token into its headers editor, as a user would."""
    api = served.url
    token = mint_token(served.app.state.datawave.settings.auth, f"{unique}-viewer", ["viewer"])
    await page.send("Page.navigate", url=f"{api}/graphql")
    try:
        await page.wait_for(f"!!document.querySelector('{EXECUTE}')", what="GraphiQL to render")
    except BrowserError as err:
        raise AssertionError(f"{err}; what went wrong: {problems(page, api)}") from None
    # Without a token the schema fetch is refused, and the result pane says why.
    refused = json.loads(await page.wait_for(RESPONSE_TEXT, what="the refused schema fetch"))
    assert refused["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}

    await page.click(".graphiql-editor-tools button", "Headers")
    await page.click(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
    await page.insert_text(json.dumps({"Authorization": f"Bearer {token}"}))


async def run(page: Page, operation: str) -> None:
    """Replace the query editor's text with ``operation`` and press the run button."""
    await page.click(".graphiql-query-editor .CodeMirror")
    await page.key("a", "KeyA", 65, modifiers=2)  # Ctrl+A
    await page.insert_text(operation)
    # GraphiQL parses the document 100 ms after the last edit and picks HTTP or WebSocket
    # from that parse; a click within those 100 ms would send the previous operation's way.
    await asyncio.sleep(0.3)
    await page.click(EXECUTE)


async def result(page: Page, containing: str) -> dict[str, Any]:
    """The result pane's JSON, once it contains ``containing``."""
    has = json.dumps(containing)
    text = f"(() => {{ const t = {RESPONSE_TEXT}; return t?.includes({has}) && t; }})()"
    return json.loads(await page.wait_for(text, what=f"a result with {containing}"))


QUERY_TEXT = """(() => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror;
    return cm ? cm.getValue() : null;
})()"""


async def test_graphiql_explains_tokens_and_loads_the_schema_once_one_is_pasted(
    served: Served, page: Page, unique: str
) -> None:
    """Issue 12 (9): the page opened on Strawberry's generic welcome, and the documentation
    stayed empty after a token was pasted until the user found the re-fetch button."""
    await open_graphiql(served, page, unique)
    document = await page.wait_for(QUERY_TEXT, what="the query editor")
    assert "datawave token" in document and '{"Authorization": "Bearer' in document
    await page.click('[aria-label="Show Documentation Explorer"]')
    await page.wait_for(  # no click on "Re-fetch GraphQL schema"
        "document.querySelector('.graphiql-doc-explorer')?.textContent.includes('Query')",
        what="the documentation explorer to show the schema",
    )
    assert problems(page, served.url) == []


async def test_graphiql_runs_a_query_with_a_pasted_token(
    served: Served, page: Page, unique: str
) -> None:
    api = served.url
    await open_graphiql(served, page, unique)
    await page.click('[aria-label="Re-fetch GraphQL schema"]')
    await page.click('[aria-label="Show Documentation Explorer"]')
    await page.wait_for(
        "document.querySelector('.graphiql-doc-explorer')?.textContent.includes('Query')",
        what="the documentation explorer to show the schema",
    )
    await run(page, "{ __typename }")  # a viewer's token: serverInfo is for admins
    assert await result(page, "__typename") == {"data": {"__typename": "Query"}}

    assert problems(page, api) == []
    # Every file the page names came from the API's static route.
    _, assets = local_page(get_graphql_ide_html("graphiql"))
    loaded = {
        r["response"]["url"]
        for r in events(page, "Network.responseReceived")
        if r["response"]["status"] == 200
    }
    assert {f"{api}{STATIC_PATH}/{a.name}" for a in assets} <= loaded


async def test_graphiql_subscribes_over_websocket_with_the_pasted_token(
    served: Served, page: Page, unique: str
) -> None:
    """GraphiQL sends the headers editor's JSON as the ``connection_init`` payload, which is
    where the API authenticates a WebSocket."""
    hub, redis = served.hub, served.app.state.datawave.redis
    before = hub.subscriber_count(CATALOG_CHANNEL)
    await open_graphiql(served, page, unique)
    await run(
        page, f'subscription {{ catalogChanges(filter: {{source: "{unique}"}}) {{ type urn }} }}'
    )
    async with asyncio.timeout(20):
        while hub.subscriber_count(CATALOG_CHANNEL) == before:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    urn = table_urn(unique, "db", "s", "t")
    await publish_catalog_change(redis, catalog_change(ChangeType.CHANGED, urn))
    assert await result(page, urn) == {"data": {"catalogChanges": {"type": "CHANGED", "urn": urn}}}

    await page.click(EXECUTE)  # now the stop button: the subscription ends
    async with asyncio.timeout(20):
        while hub.subscriber_count(CATALOG_CHANNEL) > before:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert problems(page, served.url) == []
