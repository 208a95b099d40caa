"""``datawave up``: the whole system on one machine (what ``make up`` runs).

Starts an ingest worker and a classification consumer as child processes, optionally loads the
demo estate, registers its sources and scans them through Kafka, then serves the API in the
foreground. Stopping the API (Ctrl-C or SIGTERM) stops the children too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import uvicorn

from app.cli.sources import add_sources, print_summary, scan_sources
from app.serving import UVICORN_OPTIONS
from core.settings import Settings
from devstack.demo import PASSWORD_ENV, demo_sources, load_demo


def load_and_scan_demo(settings: Settings, scale: int) -> None:
    password = settings.source_password.get_secret_value()
    # The demo sources resolve their password from this variable (a secretRef, never stored).
    os.environ.setdefault(PASSWORD_ENV, password)
    asyncio.run(load_demo(password, scale))
    configs = demo_sources()
    add_sources(settings, configs)
    results = asyncio.run(scan_sources(settings, [c.name for c in configs]))
    print_summary(results)
    if any(r.stage != "finished" for r in results):
        raise RuntimeError("the demo scan failed; see the summary above")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_local(settings: Settings, *, demo: bool, scale: int) -> None:
    # uvicorn re-raises the signal that stopped it; as an exception it still runs `finally`.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    children = [
        subprocess.Popen([sys.executable, "-m", "app", "ingest"]),
        subprocess.Popen([sys.executable, "-m", "app", "classify", "run"]),
    ]
    try:
        if demo:
            load_and_scan_demo(settings, scale)
        uvicorn.run(
            "app.main:create_app", factory=True, host=settings.host, port=settings.port,
            log_level="info", **UVICORN_OPTIONS,
        )  # fmt: skip
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
