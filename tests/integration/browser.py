"""Headless Debian chromium, driven over the Chrome DevTools Protocol (CDP) with `websockets`.

Playwright and pyppeteer download their own browser from a CDN this machine cannot reach, so
the tests drive the system chromium (``infra/bootstrap.sh`` installs it) directly: start it
with ``--remote-debugging-port=0``, read the port it chose from ``DevToolsActivePort``, open a
page and attach to it over one WebSocket (flat sessions). Every CDP event is kept in
``Page.events`` so a test can check what the page loaded and logged.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from websockets.asyncio.client import ClientConnection, connect

BROWSERS = ("chromium", "chromium-browser")
INSTALL_HINT = "run `bash infra/bootstrap.sh`, or as root: apt-get install chromium"
LOG = "chromium.log"  # in the profile folder: what chromium said, for when it fails to start


class BrowserError(Exception):
    """Chromium is missing, did not start, or answered a command with an error."""


def chromium_path() -> str:
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    raise BrowserError(f"chromium is not installed: {INSTALL_HINT}")


@dataclass
class Page:
    """One browser tab, attached through a flat CDP session."""

    ws: ClientConnection
    session_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    _pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run a CDP command in this page's session (the browser's when not attached)."""
        message_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        message = {"id": message_id, "method": method, "params": params}
        if self.session_id:
            message["sessionId"] = self.session_id
        await self.ws.send(json.dumps(message))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def read(self) -> None:
        """Route replies to their callers and keep events (runs until the socket closes)."""
        async for raw in self.ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future and not future.done():
                    future.set_result(message)
            else:
                self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 20, what: str = "") -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        try:
            async with asyncio.timeout(timeout_s):
                # ASYNC110: the page has no change notification that covers any expression
                while not (value := await self.evaluate(expression)):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise BrowserError(f"waited {timeout_s} s for {what or expression}") from None
        return value

    async def click(self, selector: str, text: str | None = None) -> None:
        """A real mouse click (press and release) in the middle of the first element that
        matches ``selector`` (and whose text is ``text``, when given) and is not covered
        there by another one, as a user would click it."""
        box = await self.wait_for(
            f"""(() => {{
                for (const e of document.querySelectorAll({json.dumps(selector)})) {{
                    const r = e.getBoundingClientRect();
                    const x = r.x + r.width / 2, y = r.y + r.height / 2;
                    if (({json.dumps(text)} ?? e.textContent) === e.textContent
                        && e.contains(document.elementFromPoint(x, y)))
                        return {{x, y}};
                }}
                return null;
            }})()""",
            what=f"a visible {selector} {text or ''}",
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"],
                y=box["y"],
                button="left",
                clickCount=1,
            )

    async def key(self, key: str, code: str, key_code: int, modifiers: int = 0) -> None:
        """Press and release one key (modifiers: 2 = Ctrl)."""
        for kind in ("rawKeyDown", "keyUp"):
            await self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=code,
                windowsVirtualKeyCode=key_code,
                modifiers=modifiers,
            )

    async def insert_text(self, text: str) -> None:
        """Type ``text`` into the focused element at once, as a paste would."""
        await self.send("Input.insertText", text=text)


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Page]:
    """A headless chromium with a fresh profile in ``profile`` and one blank page."""
    args = [
        chromium_path(),
        "--headless",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        # No calls home (updates, safe browsing): the machine is offline and tests stay quiet.
        "--disable-background-networking",
        "--disable-component-update",
        "--window-size=1280,900",
    ]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to run as root with its sandbox
    with _new_log(profile) as out:
        proc = await asyncio.create_subprocess_exec(
            *args, "about:blank", stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL
        )
    try:
        endpoint = await _devtools_endpoint(profile, proc)
        async with connect(endpoint, max_size=None, open_timeout=10) as ws:
            page = Page(ws)
            reader = asyncio.create_task(page.read())
            try:
                target = await page.send("Target.createTarget", url="about:blank")
                attached = await page.send(
                    "Target.attachToTarget", targetId=target["targetId"], flatten=True
                )
                page.session_id = attached["sessionId"]
                yield page
                page.session_id = ""
                with suppress(BrowserError, TimeoutError):
                    await page.send("Browser.close")
            finally:
                reader.cancel()
                with suppress(asyncio.CancelledError):
                    await reader
    finally:
        if proc.returncode is None:
            with suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def _new_log(profile: Path) -> BinaryIO:
    profile.mkdir(parents=True, exist_ok=True)
    return (profile / LOG).open("wb")


def _port_file(profile: Path) -> list[str]:
    """``DevToolsActivePort``'s two lines (port, browser path) once chromium wrote it."""
    active = profile / "DevToolsActivePort"
    return active.read_text().split() if active.exists() else []


async def _devtools_endpoint(profile: Path, proc: asyncio.subprocess.Process) -> str:
    """The browser's WebSocket URL, from the file chromium writes once it listens."""
    async with asyncio.timeout(30):
        while len(lines := _port_file(profile)) != 2:  # written once chromium listens
            if proc.returncode is not None:
                log = (profile / LOG).read_bytes().decode(errors="replace")
                raise BrowserError(f"chromium exited with {proc.returncode}:\n{log}")
            await asyncio.sleep(0.05)
    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
