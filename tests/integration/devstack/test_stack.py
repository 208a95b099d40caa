"""The local stack: idempotent start-up, clear failures, status."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass

import pytest

from core.settings import Settings
from devstack import stack


@pytest.fixture
def ctx(settings: Settings) -> stack.Context:
    return stack.Context(settings, echo=lambda _: None)


def test_stack_up_twice_starts_no_duplicates(ctx: stack.Context) -> None:
    before = {s.name: s.pid for s in stack.status(ctx)}
    assert all(before.values()), f"stack not fully up before the test: {before}"
    stack.up(ctx)
    after = {s.name: s.pid for s in stack.status(ctx)}
    assert after == before
    for svc in stack.SERVICES:
        cmd = svc.command(ctx)
        same = [
            p
            for p in stack.psutil.process_iter(["cmdline"])
            if (p.info["cmdline"] or [])[: len(cmd)] == cmd
        ]
        assert len(same) <= 1, f"{svc.name} runs {len(same)} times"


def test_status_reports_every_service_up_with_memory(ctx: stack.Context) -> None:
    rows = stack.status(ctx)
    assert [r.name for r in rows] == [s.name for s in stack.SERVICES]
    assert all(r.up and r.pid and r.rss_bytes > 0 for r in rows)
    assert sum(r.rss_bytes for r in rows) < 6 * 2**30, "the stack must fit in 6 GiB"


@dataclass
class Scripted(stack.Service):
    """A throwaway service whose command we choose, to exercise the lifecycle."""

    argv: tuple[str, ...] = ()

    def command(self, ctx: stack.Context) -> list[str]:
        return list(self.argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_port_taken_names_the_port_and_the_holder(ctx: stack.Context, unique: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        svc = Scripted(unique, (port,), argv=("sleep", "30"))
        with pytest.raises(stack.StackError) as err:
            svc.launch(ctx)
    message = str(err.value)
    assert f"port {port}" in message
    assert "python" in message.lower()


def test_failed_start_prints_the_log_tail(ctx: stack.Context, unique: str) -> None:
    argv = (sys.executable, "-c", "print('fatal: bad config line 7'); raise SystemExit(3)")
    svc = Scripted(unique, (free_port(),), start_timeout_s=10, argv=argv)
    proc = svc.launch(ctx)
    try:
        with pytest.raises(stack.StackError) as err:
            svc.wait_healthy(ctx, proc)
        assert "exited during start-up" in str(err.value)
        assert "fatal: bad config line 7" in str(err.value)
    finally:
        svc.stop(ctx)


def test_down_stops_only_what_it_started(ctx: stack.Context, unique: str) -> None:
    port = free_port()
    argv = (sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1")
    svc = Scripted(unique, (port,), start_timeout_s=20, argv=argv)
    proc = svc.launch(ctx)
    svc.wait_healthy(ctx, proc)
    assert svc.process(ctx) is not None
    assert svc.stop(ctx) is True
    assert not proc.is_running() or proc.status() == stack.psutil.STATUS_ZOMBIE
    assert svc.stop(ctx) is False, "a second stop finds nothing of ours to stop"


def test_missing_tool_says_what_to_install() -> None:
    tool = stack.Tool("datawave-no-such-binary", "install it with: apt-get install nothing")
    with pytest.raises(stack.StackError, match="apt-get install nothing"):
        stack.which(tool)


def test_neo4j_browser_is_served_and_auth_is_on(settings: Settings) -> None:
    browser = stack.httpx.get("http://127.0.0.1:7474/browser/", timeout=5)
    assert browser.status_code == 200
    assert "<title>Neo4j Browser</title>" in browser.text
    query = {"statements": [{"statement": "RETURN 1 AS one"}]}
    url = "http://127.0.0.1:7474/db/neo4j/tx/commit"
    assert stack.httpx.post(url, json=query, timeout=5).status_code == 401
    password = settings.neo4j.password.get_secret_value()
    ok = stack.httpx.post(url, json=query, auth=("neo4j", password), timeout=5)
    assert ok.json()["results"][0]["data"][0]["row"] == [1]
