"""Closed-loop HTTP load from vegeta (Go), so the load generator takes little of the CPU the
servers under test share with it.

A Python client (httpx) driving 16 connections spent most of a core of this 2-core machine on
itself: it capped both servers and added its own queueing to every latency. vegeta is built
once from the Go module proxy into ``~/.cache/datawave/tools`` (a few seconds).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

VEGETA = "github.com/tsenart/vegeta/v12@v12.13.0"
TOOLS = Path(os.environ.get("DATAWAVE_CACHE_DIR", Path.home() / ".cache" / "datawave")) / "tools"


def vegeta() -> str:
    """The vegeta executable, built on first use."""
    path = TOOLS / "vegeta"
    if not path.exists():
        go = shutil.which("go")
        if not go:
            raise SystemExit("go not found: the load generator (vegeta) is built with Go 1.22+")
        TOOLS.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"GOBIN": str(TOOLS)}
        subprocess.run([go, "install", VEGETA], env=env, check=True)
    return str(path)


def drive(
    url: str, body: bytes, headers: dict[str, str], seconds: float, concurrency: int
) -> tuple[list[float], int]:
    """POST ``body`` to ``url`` from ``concurrency`` connections, each sending its next request
    when the last is answered, for ``seconds``. Returns the latencies (s) of the successes
    (HTTP 200 without GraphQL ``errors``) and the number of failures."""
    exe = vegeta()
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        lines = [f"POST {url}", "Content-Type: application/json"]
        lines += [f"{k}: {v}" for k, v in headers.items()] + [f"@{body_file}", ""]
        attack = subprocess.run(
            [exe, "attack", "-rate=0", f"-workers={concurrency}",
             f"-max-workers={concurrency}", f"-duration={seconds}s", "-keepalive=true"],
            input="\n".join(lines).encode(), capture_output=True, check=True,
        ).stdout  # fmt: skip
    results = subprocess.run(
        [exe, "encode", "-to", "json"], input=attack, capture_output=True, check=True
    ).stdout
    latencies: list[float] = []
    failures = 0
    for line in results.splitlines():
        r = json.loads(line)
        answer = base64.b64decode(r.get("body") or b"")
        if r["code"] == 200 and b'"errors"' not in answer:
            latencies.append(r["latency"] / 1e9)
        else:
            failures += 1
    return latencies, failures
