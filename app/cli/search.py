"""``datawave search prune``: drop the search indexes a newer mapping superseded.

It lists before it deletes: without ``--yes`` it only says what would go, so the operator who
runs it during a rolling upgrade (replicas of the previous release still search the old index)
sees that first. What may go is decided by live/index_versions.py, never the live index; and
nothing goes while the live index is not marked filled from the graph (the listing says so).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from opensearchpy import AsyncOpenSearch
from rich.table import Table

from app.cli.common import console, err_console, print_wide, settings_or_exit, whole
from live.index_versions import (
    LiveIndexMissing,
    LiveIndexUnfilled,
    Superseded,
    drop_superseded,
    superseded,
)
from live.search import INDEX, filled

search_cli = typer.Typer(help="The catalog's search index in OpenSearch.", no_args_is_help=True)


async def _prune(url: str, delete: bool) -> tuple[list[Superseded], bool]:
    """What is (or would be) dropped, and whether the live index is marked filled."""
    client = AsyncOpenSearch(hosts=[url])
    try:
        found = await (drop_superseded if delete else superseded)(client)
        return found, delete or await filled(client)
    finally:
        await client.close()


@search_cli.command("prune")
def prune(
    yes: Annotated[
        bool, typer.Option("--yes", help="delete them (without it: only list them)")
    ] = False,
) -> None:
    """Drop the search indexes the live one replaced (datawave-assets, datawave-assets-v2),
    once every API replica runs a release that reads the live one; never the live index."""
    settings = settings_or_exit()
    try:
        found, live_filled = asyncio.run(_prune(settings.opensearch_url, yes))
    except (LiveIndexMissing, LiveIndexUnfilled) as err:
        err_console.print(f"[red]{err}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from err
    if not found:
        console.print(f"nothing to drop: {INDEX} is the only search index", soft_wrap=True)
        return
    table = Table(whole("index"), "documents")
    for index in found:
        table.add_row(index.name, "closed" if index.documents is None else str(index.documents))
    print_wide(table)
    if yes:
        console.print(f"deleted {len(found)} superseded index(es); {INDEX} is live", soft_wrap=True)
    elif not live_filled:
        console.print(
            f"superseded by {INDEX}, nothing deleted: {INDEX} is not marked filled from the "
            "graph yet (a fill was cut short or is still running), so `--yes` refuses until "
            "its relay has filled it",
            soft_wrap=True,
        )
    else:
        console.print(
            f"superseded by {INDEX}, nothing deleted: once no API replica of an older release "
            "runs, delete them with `datawave search prune --yes`",
            soft_wrap=True,
        )
