"""A pid file knows its process again after the wall clock moves, and never a stranger."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

from devstack.stack import start_record, started_as


def test_a_stepped_clock_does_not_make_our_process_a_stranger() -> None:
    me = psutil.Process(os.getpid())
    record = start_record(me)
    assert started_as(me, record)
    # What psutil reports after the clock is stepped by 27 s: another create_time, same ticks.
    assert started_as(me, {**record, "started": record["started"] - 27})


def test_another_process_under_a_reused_pid_is_not_ours() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        other = psutil.Process(child.pid)
        mine = start_record(psutil.Process(os.getpid()))
        # The child's pid with our start: as if the child had taken a pid we recorded.
        assert not started_as(other, {**mine, "pid": child.pid})
    finally:
        child.kill()
        child.wait()
