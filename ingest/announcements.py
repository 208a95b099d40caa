"""One announcement per asset of a batch, its changes merged by meaning.

A batch may add a table and let a run write it, or change a table and then remove it. Keeping
only the last change per asset told a ``catalogChanges(filter: {types: [ADDED]})`` subscriber
nothing of a table a scan added and a run touched in the same batch: it was ``changed``. So the
changes are folded in the order they were written, and the asset announced as the batch left
it: added (with every field touched since), changed, or removed (with what replaced it).
"""

from __future__ import annotations

from collections.abc import Iterable

from core.events import AssetChanged
from graph.batch import Change


def _united(*fields: list[str]) -> list[str]:
    return list(dict.fromkeys(f for some in fields for f in some))


def merge(before: AssetChanged, after: AssetChanged) -> AssetChanged:
    """``before`` then ``after`` as one change: removed once removed, until it is added again
    (restored, or a snapshot of it); added once added, whatever changed next; a ``replaced_by``
    kept while removed. A ``changed`` without fields (a replayed snapshot: what changed is
    unknown) stays without, rather than claim that only the other's fields changed."""
    if after.change == "removed":
        return after.model_copy(update={"replaced_by": after.replaced_by or before.replaced_by})
    if before.change == "removed":
        return before if after.change == "changed" else after
    if "added" in (before.change, after.change):
        return AssetChanged(change="added", fields=_united(before.fields, after.fields))
    unknown = not (before.fields and after.fields)
    return AssetChanged(
        change="changed", fields=[] if unknown else _united(before.fields, after.fields)
    )


def _announced(c: Change) -> AssetChanged:
    return AssetChanged(
        change=c.type,  # type: ignore[arg-type]  # added, changed or removed
        fields=list(c.fields),
        replaced_by=c.replaced_by,
    )


def merged(changes: Iterable[Change]) -> dict[str, AssetChanged]:
    """What to announce per URN for ``changes`` in the order the batch wrote them."""
    out: dict[str, AssetChanged] = {}
    for c in changes:
        now = _announced(c)
        out[c.urn] = merge(out[c.urn], now) if c.urn in out else now
    return out
