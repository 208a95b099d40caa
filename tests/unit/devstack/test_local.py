"""``datawave up``'s relay of a child's output: everything to its log, ours to the console."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.local import _relay

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
