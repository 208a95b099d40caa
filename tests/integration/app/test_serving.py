"""``datawave serve --workers N``: N processes on one port, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess

import httpx
import psutil

from bench.api_support import start_datawave


def serve(workers: int) -> tuple[subprocess.Popen, str]:
    """``datawave serve --workers N`` up and healthy, and its /healthz URL."""
    proc, graphql = start_datawave(workers=workers)
    return proc, graphql.removesuffix("/graphql") + "/healthz"


def api_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    """The children serving the port (the spawn context also starts a resource tracker)."""
    children = psutil.Process(proc.pid).children()
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def test_workers_serve_one_port_and_stop_together_on_sigterm() -> None:
    proc, url = serve(2)
    try:
        workers = api_processes(proc)
        assert len(workers) == 2
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
    finally:
        proc.kill()


def test_a_dead_worker_stops_the_service_for_its_supervisor_to_restart() -> None:
    proc, _ = serve(2)
    try:
        first, second = api_processes(proc)
        os.kill(first.pid, signal.SIGKILL)
        assert proc.wait(30) != 0, "a half-dead service must not look healthy"
        assert not (second.is_running() and second.status() != psutil.STATUS_ZOMBIE)
    finally:
        proc.kill()
