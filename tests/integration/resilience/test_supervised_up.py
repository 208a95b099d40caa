"""``datawave up`` keeps its workers running: an ingest child killed with SIGKILL is started
again and counted in the API's /metrics."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import psutil

from core.settings import IngestSettings
from tests.integration.devstack.test_up import free_port, up

T = TypeVar("T")


def ingest_children(pid: int) -> list[psutil.Process]:
    return [c for c in psutil.Process(pid).children() if c.cmdline()[-1:] == ["ingest"]]


def wait_for(check: Callable[[], T], timeout_s: float = 180) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if found := check():
                return found
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_a_killed_ingest_worker_is_started_again(
    ingest_cfg: IngestSettings, tmp_path: Path
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    process = up(ingest_cfg, tmp_path, port)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=1).status_code == 200, 300)
        (first,) = wait_for(lambda: ingest_children(process.pid))
        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()

        restarted = 'datawave_process_restarts_total{process="ingest"} 1.0'
        wait_for(lambda: restarted in httpx.get(f"{api}/metrics", timeout=2).text)
        (second,) = wait_for(lambda: ingest_children(process.pid))
        assert second.pid != first.pid
        print(f"ingest worker killed: running again {time.monotonic() - killed:.1f}s after")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0 or process.returncode == 128 + signal.SIGTERM
