"""Several API processes on one port, each accepting on its own ``SO_REUSEPORT`` socket.

uvicorn's own ``--workers`` share one listening socket: whichever process accepts first keeps a
keep-alive connection for good, so a client opening all its connections at once can land them
all on one process while the others idle (seen in ``bench/graphql.py``: two workers served no
more than one). With a socket per process the kernel spreads connections over them by hash,
whatever each process is doing. Linux (and other systems with ``SO_REUSEPORT``) only.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

import uvicorn

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


def _serve_one(host: str, port: int, log_level: str) -> None:
    config = uvicorn.Config(APP, factory=True, log_level=log_level, **UVICORN_OPTIONS)
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def serve_processes(host: str, port: int, processes: int, log_level: str) -> int:
    """Run ``processes`` API processes until SIGTERM or SIGINT stops them all, or one of them
    exits (then the others are stopped too); returns the exit code to leave with."""
    ctx = multiprocessing.get_context("spawn")  # no state inherited from this process
    children = [
        ctx.Process(target=_serve_one, args=(host, port, log_level), name=f"api-{i}")
        for i in range(processes)
    ]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            child.terminate()  # SIGTERM: uvicorn finishes its requests, then exits

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    for child in children:
        child.start()
    wait([c.sentinel for c in children])  # the first one to exit
    for child in children:
        child.terminate()
    for child in children:
        child.join()
    return 0 if stopping else max(abs(c.exitcode or 0) for c in children) or 1
