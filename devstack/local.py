"""``datawave up``: the whole system on one machine (what ``make up`` runs).

Starts an ingest worker and a classification consumer as child processes, optionally loads the
demo estate, registers its sources and scans them through Kafka, then serves the API in the
foreground. A child that exits on its own is started again (app/supervisor.py), counted in the
API's ``datawave_process_restarts_total``.
Stopping the API (Ctrl-C or SIGTERM) stops the children too.

The console keeps to DataWave's own progress and warnings: every process's full log (Kafka
client chatter, model downloads, progress bars, access lines) goes to a file under
``<stack dir>/up/logs``, and ``--verbose`` shows it all on the console instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import uvicorn

from app.cli.common import console, err_console
from app.cli.sources import add_sources, print_summary, scan_sources
from app.serving import UVICORN_OPTIONS
from app.supervisor import Supervisor
from core.settings import ResilienceSettings, Settings
from devstack.demo import PASSWORD_ENV, demo_sources, load_demo
from devstack.demo_mesh import load_demo_mesh


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
    if asyncio.run(load_demo_mesh(settings)):
        console.print("demo mesh: domains sales, finance, marketing with their data products")


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# A child's log line the console shows: a warning or error of one of DataWave's own loggers.
OURS = re.compile(r" (WARNING|ERROR|CRITICAL) datawave")
# Progress bars (sentence-transformers, the Hugging Face hub) would fill the log files.
QUIET = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
# The children's command lines, after the Python interpreter.
CHILDREN = {"ingest": ["-m", "app", "ingest"], "classify": ["-m", "app", "classify", "run"]}


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _log_to(path: Path) -> None:
    """This process's log records to ``path``; DataWave's warnings also to the console."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    ours = logging.StreamHandler()
    ours.setLevel(logging.WARNING)
    ours.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger("datawave").addHandler(ours)


def _relay(name: str, child: subprocess.Popen[str], log: Path) -> None:
    """Copy a child's output to its log file, and DataWave's warnings on to the console; say
    where to look if the child dies (stopped by us, it exits 0 or by SIGTERM)."""
    assert child.stdout is not None
    with log.open("a") as out:
        for line in child.stdout:
            out.write(line)
            out.flush()
            if OURS.search(line):
                err_console.print(f"[yellow]{name}:[/yellow] {line.rstrip()}", highlight=False)
    code = child.wait()
    if code not in (0, -signal.SIGTERM):
        err_console.print(f"[red]{name} exited with code {code}[/red]; its log: {log}")


def _start(name: str, args: list[str], logs: Path | None) -> subprocess.Popen[str]:
    """``python <args>``: its output to ``logs/<name>.log``, or inherited if None."""
    command = [sys.executable, *args]
    if logs is None:
        return subprocess.Popen(command, text=True)
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=os.environ | QUIET,
    )  # fmt: skip
    threading.Thread(target=_relay, args=(name, child, logs / f"{name}.log"), daemon=True).start()
    return child


def supervise(
    commands: Mapping[str, list[str]], logs: Path | None, cfg: ResilienceSettings
) -> Supervisor:
    """A supervisor of ``python <args>`` children, their output to ``logs`` (app/supervisor.py)."""
    return Supervisor(
        {name: lambda _restarts, n=name: _start(n, commands[n], logs) for name in commands}, cfg
    )


def run_local(settings: Settings, *, demo: bool, scale: int, verbose: bool = False) -> None:
    # uvicorn re-raises the signal that stopped it; as an exception it still runs `finally`.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    logs = None if verbose else settings.stack_dir / "up" / "logs"
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        _log_to(logs / "up.log")
        console.print(f"logs: {logs} (--verbose shows them here)")
    children = supervise(CHILDREN, logs, settings.resilience)
    children.start()
    try:
        if demo:
            load_and_scan_demo(settings, scale)
        console.print(f"serving http://{settings.host}:{settings.port}/graphql (Ctrl-C stops)")
        uvicorn.run(
            "app.main:create_app", factory=True, host=settings.host, port=settings.port,
            log_level="info" if verbose else "warning", access_log=verbose, **UVICORN_OPTIONS,
        )  # fmt: skip
    finally:
        children.stop()
