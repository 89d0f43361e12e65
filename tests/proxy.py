"""A round-robin TCP proxy on 127.0.0.1: the load balancer in front of webhook replicas."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

Backend = tuple[str, int]


class RoundRobinProxy:
    """Forward each accepted connection to the next backend, skipping ones that refuse it."""

    def __init__(self, backends: list[Backend], host: str = "127.0.0.1") -> None:
        """Configure the proxy; nothing listens until start()."""
        self.backends = list(backends)
        self.host, self.port = host, 0
        self.connections = [0] * len(backends)  # per backend, connections forwarded
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> RoundRobinProxy:
        """Start listening on the running event loop."""
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and cut every forwarded connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Open a connection to the next backend that accepts one, as a balancer's retry does."""
        for _ in range(len(self.backends)):
            index = self._next
            self._next = (self._next + 1) % len(self.backends)
            host, port = self.backends[index]
            try:
                streams = await asyncio.open_connection(host, port)
            except OSError:
                continue  # a dead replica: the request goes to the next one
            self.connections[index] += 1
            return streams
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream = await self._connect()
            if upstream is None:
                return  # no backend: the client sees the connection closed and retries
            up_reader, up_writer = upstream
            try:
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            finally:
                up_writer.close()
        finally:
            writer.close()
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until end of stream, then half-close the other side."""
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


@contextmanager
def serve_proxy(backends: list[Backend]) -> Iterator[RoundRobinProxy]:
    """Run a round-robin proxy on its own event-loop thread; yield it once it listens."""
    loop = asyncio.new_event_loop()
    proxy = RoundRobinProxy(backends)
    thread = threading.Thread(target=loop.run_forever, name="proxy", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(timeout=10)
        yield proxy
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(proxy.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
