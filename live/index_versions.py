"""Search indexes a newer mapping superseded, and dropping them without ever touching the live one.

A new mapping is a new index (``live.search.INDEX``, ``datawave-assets-v3``), which the API's
relay creates and fills from the graph; the versions before it (``datawave-assets``,
``datawave-assets-v2``) are no longer read, yet kept their shards, heap and disk until an
operator deleted them by hand, by a name typed into ``curl -XDELETE`` (where a slip or a
wildcard takes the live index too). ``datawave search prune`` drops them instead.

That is the operator's call, not the relay's: during a rolling upgrade replicas of the previous
release still search the old index, and nothing tells the relay when the last of them is gone.
What is dropped is decided here, by name and version alone: a concrete index (never an alias)
of the live index's family with an older version. The live index, a newer one a later release
made, and any other index whose name merely starts alike are never candidates; nor is anything
while the live index does not exist yet (search would then have no index to answer from). They
are listed, but none is dropped, while the live index is not marked filled from the graph
(live/search.py): a fill cut short leaves it without tables the older ones may still find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opensearchpy import AsyncOpenSearch

from live.search import INDEX, filled

VERSIONED = re.compile(r"(?P<family>.+)-v(?P<version>[1-9][0-9]{0,5})")


class LiveIndexMissing(Exception):
    """The live index does not exist yet: the indexes it replaces still hold all search has."""

    def __init__(self, live: str) -> None:
        super().__init__(
            f"the live search index {live} does not exist yet: start the API (its relay "
            "creates and fills it from the graph) before dropping the indexes it replaces"
        )


class LiveIndexUnfilled(Exception):
    """The live index has no mark of a fill that went to its end: it may lack tables."""

    def __init__(self, live: str) -> None:
        super().__init__(
            f"the live search index {live} is not marked filled from the graph (a fill was cut "
            "short or is still running), so it may lack tables the indexes it replaces find: "
            "start the API (its relay fills it again), wait for the fill to end, then prune"
        )


@dataclass(frozen=True)
class Superseded:
    """An older version of the live index: its name, documents (None: closed) and version."""

    name: str
    documents: int | None
    version: int


def family_and_version(index: str) -> tuple[str, int]:
    """``datawave-assets-v3`` -> (``datawave-assets``, 3); an unversioned name is version 1
    (the first index, ``datawave-assets``, had no suffix)."""
    if match := VERSIONED.fullmatch(index):
        return match["family"], int(match["version"])
    return index, 1


def superseded_by(live: str, name: str) -> int | None:
    """The version of ``name`` if it is an older one of ``live``'s family, else None."""
    family, current = family_and_version(live)
    own_family, version = family_and_version(name)
    return version if own_family == family and version < current else None


async def superseded(client: AsyncOpenSearch, live: str = INDEX) -> list[Superseded]:
    """The indexes ``live`` replaces, oldest first; LiveIndexMissing if it does not exist."""
    family, _ = family_and_version(live)
    # Concrete indexes only (an alias is no index of its own), closed ones too.
    rows = await client.cat.indices(
        index=f"{family}*", format="json", h="index,docs.count", expand_wildcards="open,closed"
    )
    names = {row["index"]: row.get("docs.count") for row in rows}
    if live not in names:
        raise LiveIndexMissing(live)
    found = [
        Superseded(name, None if count is None else int(count), version)
        for name, count in names.items()
        if (version := superseded_by(live, name)) is not None
    ]
    return sorted(found, key=lambda s: (s.version, s.name))


async def drop_superseded(client: AsyncOpenSearch, live: str = INDEX) -> list[Superseded]:
    """Delete the indexes ``live`` replaces, each by its own name (no wildcard reaches the
    delete); what was deleted. LiveIndexMissing if ``live`` does not exist, LiveIndexUnfilled
    (nothing deleted) while it is not marked filled."""
    found = await superseded(client, live)
    if found and not await filled(client, live):
        raise LiveIndexUnfilled(live)
    for index in found:
        await client.indices.delete(index=index.name, ignore_unavailable=True)
    return found
