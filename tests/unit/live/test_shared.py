"""One run for concurrent callers, reused briefly only when it is worth keeping."""

from __future__ import annotations

import asyncio

from live.shared import Shared


async def test_concurrent_callers_share_one_run_and_reuse_a_kept_result() -> None:
    runs = 0

    async def probe() -> list[bool]:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        return [True]

    shared: Shared[list[bool]] = Shared()
    results = await asyncio.gather(*(shared.get(probe, 60, all) for _ in range(30)))
    assert runs == 1 and results == [[True]] * 30
    assert await shared.get(probe, 60, all) == [True] and runs == 1  # still fresh
    await shared.get(probe, 0, all)
    assert runs == 2  # fresh for no time at all


async def test_a_result_not_kept_is_computed_again() -> None:
    runs = 0

    async def probe() -> list[bool]:
        nonlocal runs
        runs += 1
        return [False]  # a dependency down

    shared: Shared[list[bool]] = Shared()
    for _ in range(3):
        await shared.get(probe, 60, all)
    assert runs == 3
