"""A fault-injection TCP proxy: put it between a component and a real service and ``cut`` it
to simulate an outage without touching the service other test runs share.

While cut, live connections are closed and new ones are accepted and closed at once (what a
client sees of a restarting server); ``restore`` lets connections through again. ``latency_s``
delays every reply, as a distant server would: a test that acts in the middle of a
conversation then has time to, however fast the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, latency_s: float = 0.0) -> None:
        self._target = (target_host, target_port)
        self._latency_s = latency_s
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.is_cut = False
        self.port = 0

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType
    ) -> None:
        assert self._server is not None
        self._server.close()
        self._close_all()
        await self._server.wait_closed()

    def url(self, service_url: str) -> str:
        """``service_url`` (``redis://host:port/0``) by way of this proxy."""
        return urlsplit(service_url)._replace(netloc=f"127.0.0.1:{self.port}").geturl()

    def cut(self) -> None:
        self.is_cut = True
        self._close_all()

    def restore(self) -> None:
        self.is_cut = False

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer),
            self._pipe(up_reader, writer, self._latency_s),
            return_exceptions=True,
        )
        self._writers -= {writer, up_writer}

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency_s: float = 0.0
    ) -> None:
        try:
            while data := await reader.read(65536):
                if latency_s:
                    await asyncio.sleep(latency_s)
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()
