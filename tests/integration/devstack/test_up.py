"""``datawave up`` (what ``make up`` runs), as a user starts it: a quiet console, full logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.settings import IngestSettings

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up(ingest: IngestSettings, stack_dir: Path, port: int, *args: str) -> subprocess.Popen[str]:
    """``datawave up --no-demo`` on this test's topics, port and stack directory."""
    env = os.environ | {
        "DATAWAVE_PORT": str(port),
        "DATAWAVE_STACK_DIR": str(stack_dir),
        "DATAWAVE_INGEST__TOPICS": json.dumps(ingest.topics),
        "DATAWAVE_INGEST__GROUP_ID": ingest.group_id,
        "DATAWAVE_INGEST__DLQ_TOPIC": ingest.dlq_topic,
        "DATAWAVE_INGEST__CHANGES_TOPIC": ingest.changes_topic,
        "DATAWAVE_INGEST__METRICS_PORT": "0",
        "DATAWAVE_CLASSIFIER__TOPIC": ingest.topics[0],
        "DATAWAVE_CLASSIFIER__GROUP_ID": f"{ingest.group_id}-classify",
        "DATAWAVE_CLASSIFIER__CHANGES_TOPIC": ingest.changes_topic,
    }
    command = [sys.executable, "-m", "app", "up", "--no-demo", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def serve_then_stop(process: subprocess.Popen[str], port: int, logs: Path | None) -> str:
    """Wait for the API, and for the ingest worker's partitions if it logs to files, then
    SIGTERM; return the console. Start-up is slow on a busy machine (models, imports)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    while logs and time.monotonic() < deadline and "datawave.ingest assigned" not in _read(logs):
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    console, _ = process.communicate(timeout=60)
    return console


def _read(logs: Path) -> str:
    return "".join(p.read_text() for p in sorted(logs.glob("*.log")))


def test_up_keeps_the_console_to_datawave_and_logs_the_rest(
    ingest_cfg: IngestSettings, tmp_path: Path
) -> None:
    port, logs = free_port(), tmp_path / "up" / "logs"
    console = serve_then_stop(up(ingest_cfg, tmp_path, port), port, logs)

    assert f"serving http://127.0.0.1:{port}/graphql" in console, console
    assert f"logs: {logs}" in console
    for noise in ("aiokafka", " INFO ", "INFO:", "Started server process", "it/s]"):
        assert noise not in console, f"{noise!r} on the console:\n{console}"
    logged = _read(logs)
    assert "INFO datawave.ingest assigned" in logged, sorted(logs.iterdir())
    assert "INFO aiokafka" in logged, "the API's Kafka client logs to up.log"


def test_up_verbose_shows_every_line(ingest_cfg: IngestSettings, tmp_path: Path) -> None:
    port = free_port()
    console = serve_then_stop(up(ingest_cfg, tmp_path, port, "--verbose"), port, None)
    assert "Started server process" in console
    assert not (tmp_path / "up").exists()
