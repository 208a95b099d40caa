"""Dropping the search indexes a newer mapping superseded (``datawave search prune``): the older
versions of the live index go, the live one, a newer one, look-alikes and aliases never do, and
none goes before the live one is marked filled from the graph. Before, ``datawave-assets-v2``
was left for the operator to delete by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch
from typer.testing import CliRunner

from app.cli.main import cli
from core.settings import Settings
from live.index_versions import (
    LiveIndexMissing,
    LiveIndexUnfilled,
    drop_superseded,
    family_and_version,
    superseded,
)
from live.search import INDEX, create_index, filled, mark_filled


@pytest.fixture
async def opensearch(settings: Settings, unique: str) -> AsyncIterator[AsyncOpenSearch]:
    """A client; every index named after the test is deleted afterwards, one by one."""
    client = AsyncOpenSearch(hosts=[settings.opensearch_url])
    yield client
    rows = await client.cat.indices(index=f"{unique}-*", format="json", h="index")
    for row in rows:
        await client.indices.delete(index=row["index"], ignore_unavailable=True)
    await client.close()


async def names(client: AsyncOpenSearch, unique: str) -> set[str]:
    rows = await client.cat.indices(
        index=f"{unique}-*", format="json", h="index", expand_wildcards="open,closed"
    )
    return {row["index"] for row in rows}


def test_versions_are_read_from_the_name_alone() -> None:
    assert family_and_version(INDEX) == ("datawave-assets", 3)
    assert family_and_version("datawave-assets") == ("datawave-assets", 1)
    assert family_and_version("datawave-assets-v2-backup") == ("datawave-assets-v2-backup", 1)
    assert family_and_version("datawave-assets-v02") == ("datawave-assets-v02", 1)


async def test_only_older_versions_of_the_live_index_are_dropped(
    opensearch: AsyncOpenSearch, unique: str
) -> None:
    live = f"{unique}-assets-v3"
    older = [f"{unique}-assets", f"{unique}-assets-v2"]
    kept = [live, f"{unique}-assets-v4", f"{unique}-assets-v2-backup", f"{unique}-assets-old"]
    with pytest.raises(LiveIndexMissing, match=f"{live} does not exist yet"):
        await superseded(opensearch, live)
    for index in older + kept:
        await create_index(opensearch, index)
    await opensearch.indices.close(index=older[0])  # closed ones go too
    # An alias that looks like an old version names the live index: it is no index to drop.
    await opensearch.indices.put_alias(index=live, name=f"{unique}-assets-v1")

    listed = await superseded(opensearch, live)
    assert [(s.name, s.version) for s in listed] == [(older[0], 1), (older[1], 2)]
    assert (listed[0].documents, listed[1].documents) == (None, 0)
    assert await names(opensearch, unique) == set(older + kept), "listing deletes nothing"
    # A live index whose fill was cut short may lack tables the older ones still find.
    with pytest.raises(LiveIndexUnfilled, match=f"{live} is not marked filled"):
        await drop_superseded(opensearch, live)
    assert await names(opensearch, unique) == set(older + kept), "refusing deletes nothing"
    await mark_filled(opensearch, live, documents=0)

    assert [s.name for s in await drop_superseded(opensearch, live)] == older
    assert await names(opensearch, unique) == set(kept)
    aliased = await opensearch.indices.get_alias(name=f"{unique}-assets-v1")
    assert list(aliased) == [live]
    assert await drop_superseded(opensearch, live) == []


async def test_the_cli_lists_before_it_deletes(
    opensearch: AsyncOpenSearch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without --yes nothing is deleted, and the live index is never among what would go."""
    monkeypatch.chdir(tmp_path)  # no .env of the working folder
    before = {row["index"] for row in await opensearch.cat.indices(format="json", h="index")}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["search", "prune"])
    assert result.exit_code == 0, result.output
    expected = [s.name for s in await superseded(opensearch)]
    rows = [line.split("│")[1].strip() for line in result.output.splitlines() if "│" in line]
    assert rows == expected and INDEX not in rows, result.output
    assert ("nothing deleted" if expected else "nothing to drop") in result.output
    if expected and not await filled(opensearch):
        assert "`--yes` refuses" in result.output, result.output
    after = {row["index"] for row in await opensearch.cat.indices(format="json", h="index")}
    assert before <= after
