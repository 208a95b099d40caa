"""neomodel's one connection per process follows the app instances that are open, whatever
order they close in (two servers of one test used to leave it on a closed driver)."""

from __future__ import annotations

from neo4j import AsyncGraphDatabase
from neomodel import adb

from graph.models import bind_models


async def test_models_use_the_newest_open_driver_whatever_order_apps_stop_in() -> None:
    first, second = (AsyncGraphDatabase.driver(f"bolt://127.0.0.1:{p}") for p in (1, 2))
    before = adb.driver  # an app of another test may be open in this process
    try:
        outer, inner = bind_models(first, "neo4j"), bind_models(second, "neo4j")
        await outer.__aenter__()
        await inner.__aenter__()
        assert adb.driver is second
        await outer.__aexit__(None, None, None)  # the first app stops first
        assert adb.driver is second, "still the open one, not what the first found"
        await inner.__aexit__(None, None, None)
        assert adb.driver is before
    finally:
        await first.close()
        await second.close()
