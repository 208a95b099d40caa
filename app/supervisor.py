"""Keeping child processes running: the supervisor of ``datawave up``'s workers and of
``datawave serve --workers``' API processes.

A child that exits while it should be running is started again after a capped exponential
backoff with full jitter (``DATAWAVE_RESILIENCE__RESTART_MAX_S``), so one that cannot start does
not spin; each restart is counted in ``datawave_process_restarts_total{process}``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Protocol

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_random_exponential,
)

from app.metrics import RESTARTS
from core.settings import ResilienceSettings

log = logging.getLogger("datawave.supervisor")


class Child(Protocol):
    """What the supervisor needs of a process (``subprocess.Popen`` has it)."""

    def wait(self, timeout: float | None = None) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


# Starts a process given how many times it was restarted before.
Starter = Callable[[int], Child]


class ChildExited(Exception):
    """A supervised child exited while it should have been running."""


class Supervisor:
    """Keeps the children ``starters`` start running until ``stop``."""

    def __init__(self, starters: Mapping[str, Starter], cfg: ResilienceSettings) -> None:
        self._starters = starters
        self._cfg = cfg
        self._children: dict[str, Child] = {}
        self._restarts = dict.fromkeys(starters, 0)
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # starting a child and stopping all exclude each other
        self._threads = [
            threading.Thread(target=self._keep, args=(name,), name=f"keep-{name}", daemon=True)
            for name in starters
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        """Stop restarting, SIGTERM every child, SIGKILL those still running after the wait."""
        with self._lock:
            self._stopping.set()
            children = dict(self._children)
        for child in children.values():
            child.terminate()
        # A child's keeper thread is the one that waits for it: two waiters on one process race
        # to reap it, and the loser finds no exit code (multiprocessing's wait raised then).
        for name, thread in zip(self._starters, self._threads, strict=True):
            thread.join(timeout_s)
            if thread.is_alive() and name in children:
                children[name].kill()
                thread.join(timeout_s)

    def _keep(self, name: str) -> None:
        retrying = Retrying(
            retry=retry_if_exception_type(ChildExited),
            wait=wait_random_exponential(multiplier=1, max=self._cfg.restart_max_s),
            stop=lambda _state: self._stopping.is_set(),
            sleep=self._stopping.wait,
            before_sleep=partial(self._restarting, name),
        )
        with contextlib.suppress(RetryError, ChildExited):  # raised once stopping
            retrying(self._run_once, name)

    def _run_once(self, name: str) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            if name in self._children:
                self._restarts[name] += 1
                RESTARTS.labels(name).inc()
            child = self._children[name] = self._starters[name](self._restarts[name])
        code = child.wait()
        if not self._stopping.is_set():
            raise ChildExited(f"{name} exited with code {code}")

    def _restarting(self, name: str, state: RetryCallState) -> None:
        log.warning("%s exited; starting it again in %.1f s", name, state.upcoming_sleep)
