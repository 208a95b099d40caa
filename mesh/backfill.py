"""Versions imported before ``findable`` was kept get it once, at the API's start-up.

``dataProducts(text:)`` matches a version's ``findable`` words (mesh/contracts.py), falling
back to its raw YAML, where ``apiVersion``, ``logicalType`` or ``status`` named every product.
The words come from parsing the contract, which Cypher cannot do, so no migration can set
them; a maintenance command would leave every estate that forgot to run it with the old
matches. The contract watcher (mesh/watch.py) runs this when it starts: in batches (one
transaction each, so a large estate never holds one long write), idempotent (only versions
still without ``findable``, and only if their contract is the one read, so two replicas
starting together write the same text once), and after the first pass a single read finding
nothing.
"""

from __future__ import annotations

import logging

from graph import products as graph
from live.state import AppState
from mesh import contracts
from mesh.errors import MeshError

log = logging.getLogger("datawave.mesh.backfill")

BATCH = 200


def findable_of(odcs: str) -> str:
    """The words discovery matches in a stored contract; its whole text if it no longer parses
    (what it was matched on before, so it is not tried again at every start)."""
    try:
        return contracts.findable(contracts.parse(odcs, stored=True))
    except MeshError:
        return odcs


async def backfill_findable(state: AppState, batch: int = BATCH) -> int:
    """Set ``findable`` on every version without one; how many were set."""
    driver, database, done = state.neo4j, state.settings.neo4j.database, 0
    while rows := await graph.unfindable(driver, database, batch):
        found = [{**r, "findable": findable_of(r["odcs"])} for r in rows]
        written = await graph.set_findable(driver, database, found)
        done += written
        if len(rows) < batch or not written:  # the last batch, or another writer's
            break
    if done:
        log.info("findable text set on %d product version(s) imported before it was kept", done)
    return done
