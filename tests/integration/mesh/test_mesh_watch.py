"""A contract watcher that falls behind the catalog changes (its subscription overflows during a
burst, as in a large scan) cannot tell which changes it lost, so it re-checks every live
version: drift behind a lost change still shows."""

from __future__ import annotations

import asyncio
from typing import Any

from core.settings import Settings
from graph.driver import write
from live.changes import ChangeType, catalog_change, publish_catalog_change
from live.state import open_state
from mesh.watch import watch_contracts
from tests.factories import eventually
from tests.integration.mesh.flow import published
from tests.unit.mesh.odcs import contract

COLUMNS = {name: {"logicalType": "string"} for name in ("id", "email", "total")}
DRIFT_OF = "query($id: ID!) { node(id: $id) { ... on ProductVersion { drift } } }"
RETYPED = """
MATCH (:Table {urn: $table})-[:HAS_COLUMN]->(c:Column {name: 'total'}) SET c.dataType = 'integer'
"""


async def test_drift_behind_a_change_lost_in_a_burst_still_shows(
    mesh: dict[str, Any], settings: Settings
) -> None:
    m = mesh
    version = (await published(m, contract(COLUMNS)))["version"]
    # A scan retypes a column under the contract, and its announcement is lost in the burst.
    await write(m["neo4j"], settings.neo4j.database, RETYPED, table=m["table"])
    tiny = settings.model_copy(
        update={"subscription_queue_size": 1, "relay_changes": False, "watch_compliance": False}
    )
    async with open_state(tiny) as state:
        watcher = asyncio.create_task(watch_contracts(state))
        try:
            await asyncio.sleep(0.5)  # subscribed
            noise = [
                catalog_change(ChangeType.CHANGED, f"{m['table']}-{i}", ["columns"])
                for i in range(50)
            ]
            await publish_catalog_change(state.redis, *noise)

            async def drifted() -> bool:
                found = (await m["consumer"](DRIFT_OF, id=version))["node"]["drift"]
                return found == ["orders.total: source type integer is not string"]

            await eventually(drifted, timeout_s=20)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
