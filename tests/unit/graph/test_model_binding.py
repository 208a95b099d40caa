"""neomodel's one connection per process follows the app instances that are open, whatever
order they close in (two servers of one test used to leave it on a closed driver), and each
event loop reaches Neo4j through the driver bound on it (a TestClient's app runs on a loop of
its own; borrowing the other loop's connections failed with "attached to a different loop")."""

from __future__ import annotations

import asyncio
import threading

from neo4j import AsyncGraphDatabase
from neomodel import adb

from graph.models import bind_models, bound_driver


def _driver(port: int):  # never connected: binding only reads the server's version, and fails
    return AsyncGraphDatabase.driver(f"bolt://127.0.0.1:{port}")


async def test_models_use_the_newest_open_driver_whatever_order_apps_stop_in() -> None:
    first, second = _driver(1), _driver(2)
    before = bound_driver()  # an app of another test may be open on this loop
    try:
        outer, inner = bind_models(first, "neo4j"), bind_models(second, "neo4j")
        await outer.__aenter__()
        await inner.__aenter__()
        assert bound_driver() is second
        await outer.__aexit__(None, None, None)  # the first app stops first
        assert bound_driver() is second, "still the open one, not what the first found"
        assert adb.driver.session.__self__ is second, "neomodel opens its sessions on it"
        await inner.__aexit__(None, None, None)
        assert bound_driver() is before
    finally:
        await first.close()
        await second.close()


async def test_each_event_loop_uses_the_driver_bound_on_it() -> None:
    here, there = _driver(1), _driver(2)
    seen: dict[str, object] = {}
    bound, release = threading.Event(), threading.Event()

    async def other_app() -> None:  # another app on its own loop, as a TestClient runs it
        async with bind_models(there, "neo4j"):
            seen["there"] = adb.driver.session.__self__
            bound.set()
            await asyncio.to_thread(release.wait)
        seen["there after"] = bound_driver()

    thread = threading.Thread(target=asyncio.run, args=(other_app(),))
    try:
        async with bind_models(here, "neo4j"):
            thread.start()
            await asyncio.to_thread(bound.wait)
            assert adb.driver.session.__self__ is here, "not the other loop's newer driver"
            release.set()
            await asyncio.to_thread(thread.join)
            assert adb.driver.session.__self__ is here
        assert seen == {"there": there, "there after": None}
    finally:
        release.set()
        await here.close()
        await there.close()
