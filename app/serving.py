"""Several API processes on one port, each accepting on its own ``SO_REUSEPORT`` socket.

uvicorn's own ``--workers`` share one listening socket: whichever process accepts first keeps a
keep-alive connection for good, so a client opening all its connections at once can land them
all on one process while the others idle (seen in ``bench/graphql.py``: two workers served no
more than one). With a socket per process the kernel spreads connections over them by hash,
whatever each process is doing. Linux (and other systems with ``SO_REUSEPORT``) only.

A process that exits is started again in its slot (app/supervisor.py), so a crash costs a
share of the connections for a moment, not the service; its restarts are in the new
process's /metrics (``datawave_process_restarts_total{process="api-N"}``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import subprocess
import threading
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from app.metrics import RESTARTS
from app.supervisor import Starter, Supervisor
from core.settings import ResilienceSettings

APP = "app.main:create_app"


# uvicorn's options for every server of the API. uvicorn believes X-Forwarded-For from any
# local client by default (a client then picks its own address for the audit trail and the
# failed-authentication bucket); the app trusts DATAWAVE_HTTP__TRUSTED_PROXIES only
# (app/main.py), so uvicorn's own proxy handling is off.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False}


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """SIGTERM this process when ``parent`` (the supervisor) dies, even by SIGKILL: an orphan
    would go on holding the port and its Kafka consumer groups' partitions (Linux's prctl)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _serve_one(host: str, port: int, log_level: str, name: str, restarts: int, parent: int) -> None:
    _die_with(parent)
    RESTARTS.labels(name).inc(restarts)  # this slot's restarts before this process
    config = uvicorn.Config(APP, factory=True, log_level=log_level, **UVICORN_OPTIONS)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


class _ApiProcess:
    """A spawned API process as the supervisor sees it (``wait`` as ``Popen.wait``)."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process
        process.start()

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self._process.name, timeout or 0)
        return self._process.exitcode

    def terminate(self) -> None:
        self._process.terminate()  # SIGTERM: uvicorn finishes its requests, then exits

    def kill(self) -> None:
        self._process.kill()


def serve_processes(
    host: str, port: int, processes: int, log_level: str, cfg: ResilienceSettings
) -> int:
    """Run ``processes`` API processes until SIGTERM or SIGINT stops them all; one that exits
    meanwhile is started again. Returns the exit code to leave with."""
    ctx = multiprocessing.get_context("spawn")  # no state inherited from this process

    def starter(name: str) -> Starter:
        def start(restarts: int) -> _ApiProcess:
            args = (host, port, log_level, name, restarts, os.getpid())
            return _ApiProcess(ctx.Process(target=_serve_one, args=args, name=name))

        return start

    supervisor = Supervisor({f"api-{i}": starter(f"api-{i}") for i in range(processes)}, cfg)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    supervisor.start()
    while not stopping.wait(0.5):
        pass
    supervisor.stop()
    return 0
