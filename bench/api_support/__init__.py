"""What the API benchmarks (``bench/graphql.py``, ``bench/subscriptions.py``) share: the DataWave
API as a uvicorn subprocess, a Node peer's ``npm ci``, percentiles, and the local process
behind a port (whose CPU a bench reads)."""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx
import psutil

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# The server's environment for a benchmark: one principal's token bucket out of the way.
RATE_LIMIT_OFF = {
    "DATAWAVE_RATE_LIMIT__CAPACITY": "1000000",
    "DATAWAVE_RATE_LIMIT__REFILL_PER_S": "1000000",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"{url} not up after {timeout_s} s")


def start_datawave(
    *,
    relay: bool = False,
    workers: int = 1,
    env: dict[str, str] | None = None,
    stderr: IO[bytes] | None = None,
) -> tuple[subprocess.Popen, str]:
    """``datawave serve`` with ``workers`` processes on a free port, rate limit raised, the
    Kafka change relay on or off, ``env`` on top, its standard error to ``stderr`` (else
    this process's); everything else as configured. Returns it and its /graphql URL."""
    port = free_port()
    env = os.environ | RATE_LIMIT_OFF | {"DATAWAVE_RELAY_CHANGES": str(relay).lower()} | (env or {})
    cmd = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--log-level", "warning", "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=stderr)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout_s=300)  # a loaded machine
    except SystemExit:
        stop([proc])  # and with it the API processes it spawned
        raise
    return proc, f"http://127.0.0.1:{port}/graphql"


def npm_ci(directory: Path) -> str:
    """Install a Node peer's locked dependencies once (``node_modules`` is not committed);
    returns the ``node`` executable."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        raise SystemExit("node and npm not found: the peer needs Node 20+ and npm")
    if not (directory / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=directory, check=True)
    return node


def stop(procs: Iterable[subprocess.Popen]) -> None:
    procs = list(procs)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def pct(values: list[float], q: int) -> float:
    """The ``q``-th percentile of ``values`` (seconds) in milliseconds."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def listening(port: int) -> psutil.Process | None:
    """The local process listening on ``port`` (Neo4j's Bolt, Kafka's broker)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User and system CPU the processes have spent so far."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def services(settings: Settings) -> dict[str, psutil.Process]:
    """The local Neo4j and Kafka processes, by name, whose CPU a bench counts (any not running
    on this machine is left out)."""
    ports = {
        "neo4j": urlsplit(settings.neo4j.uri).port or 7687,
        "kafka": int(settings.kafka.bootstrap_servers.split(",")[0].rsplit(":", 1)[1]),
    }
    found = {name: listening(port) for name, port in ports.items()}
    return {name: process for name, process in found.items() if process is not None}
