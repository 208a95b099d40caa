"""Strawberry's GraphiQL page without its CDN (app/graphiql.py); the browser test is
tests/integration/test_graphiql.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from strawberry.http.ides import get_graphql_ide_html

from app.graphiql import STATIC_PATH, AssetError, GraphiQL, local_page


def test_the_page_names_only_files_of_this_origin() -> None:
    page, assets = local_page(get_graphql_ide_html("graphiql"))
    assert "unpkg.com" not in page and "crossorigin" not in page
    assert {a.package for a in assets} >= {"react", "react-dom", "graphiql"}
    for asset in assets:
        assert f'"{STATIC_PATH}/{asset.name}"' in page
        # kept, so the browser checks the cached files too
        assert asset.integrity and f'integrity="{asset.integrity}"' in page


def test_a_template_that_loads_another_remote_file_is_refused() -> None:
    template = '<script src="https://cdn.example.com/graphiql.js"></script>'
    with pytest.raises(AssetError, match="remote files"):
        local_page(template)


async def test_an_unreachable_registry_gives_a_page_that_says_so(tmp_path: Path) -> None:
    ide = GraphiQL(tmp_path, "http://127.0.0.1:9")  # nothing listens on the discard port
    response = await ide.response()
    assert response.status_code == 503
    assert b"http://127.0.0.1:9" in response.body and b"DATAWAVE_NPM_REGISTRY" in response.body
