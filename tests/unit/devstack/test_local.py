"""``datawave up``'s relay of a child's output: everything to its log, ours to the console."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.metrics import RESTARTS
from core.settings import ResilienceSettings
from devstack.local import _relay, supervise

CHILD = """
print("2026-12-03 10:00:00,000 INFO aiokafka.consumer Joined group")
print("2026-12-03 10:00:00,001 WARNING datawave.ingest dead-letter t-0@1: bad")
print("Batches: 100%|##########| 1/1 [00:00<00:00, 9.10it/s]")
raise SystemExit(3)
"""


def test_a_childs_log_goes_to_its_file_and_only_our_warnings_and_its_death_to_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log = tmp_path / "ingest.log"
    _relay("ingest", child, log)

    assert log.read_text().count("\n") == 3
    console = capsys.readouterr().err
    assert "dead-letter t-0@1: bad" in console
    assert "aiokafka" not in console and "it/s" not in console
    assert f"ingest exited with code 3; its log: {log}" in " ".join(console.split())


def test_a_child_that_exits_is_started_again_and_counted(tmp_path: Path) -> None:
    """The supervisor restarts a child that dies (here: each start appends a line and exits 3),
    counts the restarts in /metrics, and stops restarting once stopped."""
    starts = tmp_path / "starts"
    crash = f"open({str(starts)!r}, 'a').write('x\\n'); raise SystemExit(3)"
    cfg = ResilienceSettings(restart_max_s=0.2)
    before = RESTARTS.labels("crasher")._value.get()
    supervisor = supervise({"crasher": ["-c", crash]}, tmp_path, cfg)
    supervisor.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _lines(starts) < 3:
        time.sleep(0.05)
    supervisor.stop(timeout_s=5)
    started = _lines(starts)

    assert started >= 3
    # Each start but the first is a restart. A start counted just before ``stop`` may have
    # been stopped before its child wrote its line: one restart more than lines then.
    assert RESTARTS.labels("crasher")._value.get() - before in (started - 1, started)
    time.sleep(0.5)
    assert _lines(starts) == started  # no restart after stop


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0
