"""``datawave serve --workers N``: N processes on one port, stopped together, a dead one
started again."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import httpx
import psutil

from bench.api_support import start_datawave

RESTARTED = re.compile(r'^datawave_process_restarts_total\{process="api-\d"\} 1\.0$')


def serve(workers: int, stderr: IO[bytes] | None = None) -> tuple[subprocess.Popen, str]:
    """``datawave serve --workers N`` up and healthy, and its /healthz URL."""
    proc, graphql = start_datawave(workers=workers, stderr=stderr)
    return proc, graphql.removesuffix("/graphql") + "/healthz"


def api_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    """The children serving the port (the spawn context also starts a resource tracker)."""
    children = psutil.Process(proc.pid).children()
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def listening(workers: list[psutil.Process], port: int) -> None:
    """Until every worker listens on ``port``: /healthz answers once the first one does, and
    a worker importing the classifier on a busy machine may take a minute more."""
    deadline = time.monotonic() + 120
    while not all(
        any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in w.net_connections())
        for w in workers
    ):
        assert time.monotonic() < deadline, "a worker never listened"
        time.sleep(0.2)


def test_workers_serve_one_port_and_stop_together_on_sigterm(tmp_path: Path) -> None:
    log = (tmp_path / "stderr").open("wb")
    proc, url = serve(2, stderr=log)
    try:
        workers = api_processes(proc)
        assert len(workers) == 2
        listening(workers, int(url.split(":")[2].split("/")[0]))
        # Each worker accepts on its own socket, so the kernel spreads connections over both
        # (all 20 on one: odds of 2 in a million).
        clients = [httpx.Client() for _ in range(20)]
        try:
            assert all(c.get(url).status_code == 200 for c in clients)
            port = int(url.split(":")[2].split("/")[0])
            held = [
                sum(
                    1
                    for c in w.net_connections("tcp")
                    if c.laddr and c.laddr.port == port and c.raddr
                )
                for w in workers
            ]
            assert sum(held) == 20 and min(held) > 0, held
        finally:
            for c in clients:
                c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
        # Quietly: the supervisor and a child's keeper once both waited for it, and the one
        # that lost the race printed a traceback.
        assert "Traceback" not in (tmp_path / "stderr").read_text()
    finally:
        proc.kill()
        log.close()


def test_a_dead_worker_is_started_again_and_counted() -> None:
    """A killed API process is replaced in its slot; the replacement's /metrics count it."""
    proc, url = serve(2)
    try:
        first, second = api_processes(proc)
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 180  # a cold API process on a busy two-core machine
        restarted = ""
        while time.monotonic() < deadline and not restarted:
            # A fresh connection lands on either process (hash): ask until the new one answers.
            with contextlib.suppress(httpx.TransportError):
                metrics = httpx.get(url.removesuffix("/healthz") + "/metrics").text
                restarted = next(
                    (line for line in metrics.splitlines() if RESTARTED.match(line)), ""
                )
            time.sleep(0.2)
        assert restarted, "no process reported a restart"
        now = api_processes(proc)
        assert len(now) == 2 and second in now and first not in now
        assert httpx.get(url).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()


def test_workers_do_not_outlive_a_killed_supervisor() -> None:
    """A SIGKILLed ``datawave serve`` cannot stop its workers: they notice and stop themselves
    rather than hold the port and their consumer groups' partitions as orphans."""
    proc, _ = serve(2)
    workers = api_processes(proc)
    try:
        proc.kill()
        proc.wait(10)
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == [], [w.pid for w in alive]
    finally:
        proc.kill()
        for w in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                w.kill()
