"""Root fields read whole: an asset with its columns and their labels in one query, handed to
the executor as ``Prefetched`` (resolvers/executor.py) so it is completed without a resolver
call per column and label (the labels the columns inherit along lineage read in one more).

What the caller sees is decided by the same code as field by field: the loaders are primed
with what their own reads would have returned (resolvers/loaders.py ``prime_detail``), and
``find`` and ``related`` then apply the caller's scope to it; the objects are the types' own
(``from_record``). A selection asking for anything the readers here do not fill (masked values,
a table's labels, lineage) is completed field by field over the primed loaders.
"""

from __future__ import annotations

from typing import Any

from core.kinds import ASSET, KINDS
from core.urns import InvalidUrn, Urn
from graph.catalog import Relation
from graph.records import Related
from resolvers.catalog.types import (
    Asset,
    Column,
    LabelAssignment,
    Table,
    _assignments,  # what Column.labels returns for the same relation
    asset_from_record,
    with_inherited,
)
from resolvers.context import Info, asks_for
from resolvers.executor import Prefetched, Reader
from security.rbac import permission

LABEL_READ = permission("label:read")  # Column.labels (resolvers/catalog/types.py)


def _is_asset(urn: str) -> bool:
    try:
        return KINDS[Urn.parse(urn).kind].key_label == ASSET
    except (InvalidUrn, KeyError):
        return False


async def asset(info: Info, urn: str) -> Asset | Prefetched | None:
    """``Query.asset``: with its columns and their labels read in one query when it is a table
    whose columns are asked for."""
    loaders = info.context.loaders
    if not info.context.state.settings.compiled_reads:
        record = await loaders.find(urn)
        return asset_from_record(record) if record else None
    whole = _is_asset(urn) and asks_for(info, "columns")
    if whole:
        await loaders.prime_detail(urn)
    record = await loaders.find(urn)
    value = asset_from_record(record) if record else None
    if not whole or not isinstance(value, Table):
        return value
    columns = [Column.from_record(r.node) for r in await loaders.related(Relation.COLUMNS, urn)]
    readers: dict[tuple[str, str], Reader] = {
        ("Table", "columns"): lambda _, args: [
            c for c in columns if args.get("includeRemoved") or c.removed_at is None
        ]
    }
    if asks_for(info, "columns", "labels") and info.context.guard.can(LABEL_READ):
        own = {c.id: await loaders.related(Relation.LABELS, c.id) for c in columns}
        more = await loaders.related(Relation.COLUMN_INHERITED_LABELS, urn)
        found = await with_inherited(
            info,
            [r for rows in own.values() for r in rows],
            [r for r in more if r.rel["column"] in own],
        )
        every: dict[str, list[Related]] = {urn: [] for urn in own}
        for r in found:
            every[r.rel["column"]].append(r)
        readers[("Column", "labels")] = _labels({True: every, False: own})
    return Prefetched(value, readers)


def _labels(rows: dict[bool, dict[str, list[Related]]]) -> Reader:
    """``Column.labels`` of the detail's columns: what each holds (``inherited: false``) or
    that and what it inherits (``true``), each made into assignments when first asked for (a
    selection rarely asks for both)."""
    made: dict[bool, dict[str, list[LabelAssignment]]] = {}

    def labels(column: Column, args: dict[str, Any]) -> list[LabelAssignment]:
        inherited = args["inherited"]
        if inherited not in made:
            made[inherited] = {urn: _assignments(found) for urn, found in rows[inherited].items()}
        return made[inherited][column.id]

    return labels


def read_whole(info: Info, value: Any) -> Any:
    """A root field's value read whole (a page, a lineage graph), to complete as such."""
    return Prefetched(value) if info.context.state.settings.compiled_reads else value
