"""One run of an async computation for all its concurrent callers, its result reused briefly.

``/readyz`` is open to anyone and a document may ask for ``serverInfo`` under 30 aliases: each
would otherwise probe every dependency again (30 aliases made 120 probes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Shared(Generic[T]):
    """Callers arriving while a run is in flight await that run; a result that ``keep`` accepts
    is returned again for ``fresh_s`` seconds."""

    def __init__(self) -> None:
        self._last: tuple[float, T] | None = None
        self._run: asyncio.Task[T] | None = None

    async def get(
        self, compute: Callable[[], Awaitable[T]], fresh_s: float, keep: Callable[[T], bool]
    ) -> T:
        if self._last and time.monotonic() - self._last[0] < fresh_s:
            return self._last[1]
        if self._run is None:
            self._run = asyncio.ensure_future(self._compute(compute, keep))
        return await asyncio.shield(self._run)  # a caller that leaves stops no one else's run

    async def _compute(self, compute: Callable[[], Awaitable[T]], keep: Callable[[T], bool]) -> T:
        try:
            result = await compute()
        finally:
            self._run = None
        self._last = (time.monotonic(), result) if keep(result) else None
        return result
