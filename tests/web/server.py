"""A stdlib web server on 127.0.0.1 for tests: routes registered per test, hits counted per path.

Use it as a context manager, or through a three-line fixture in a test module:

    @pytest.fixture
    def web() -> Iterator[WebServer]:
        with serve() as server:
            yield server

    web.add("/feed.xml", body, content_type="application/rss+xml", etag='"v1"')
    web.url("/feed.xml")        # "http://127.0.0.1:PORT/feed.xml"
    web.hits["/feed.xml"]       # requests that reached the path (query string ignored)
    web.requests                # [(path, headers)] in arrival order

Routes: add (static body with headers; 304 on a matching If-None-Match / If-Modified-Since),
status (404, 500, 429 with Retry-After...), redirect, slow (headers only after a delay),
never_ending (headers then one byte at a time until the client leaves), endless (an endless body
as fast as the client reads), handle (any function of the request handler). Unknown paths are 404.
`serve(host="127.0.0.2")` gives a second server on another loopback address. Stopping the server
ends every open connection and joins its threads, so a trickling route never hangs a test.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Handler = Callable[["_Request"], None]


class _Request(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """Serve a GET from the route table."""
        web = self.server.web
        path = urlsplit(self.path).path
        with web.lock:
            web.hits[path] += 1
            web.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
            route = web.routes.get(path)
        if route is None:
            self.send(404, b"not found")
        else:
            route(self)

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a complete response with a Content-Length."""
        self.send_response(status)
        merged = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        for name, value in merged.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, chunks: Iterator[bytes], content_type: str) -> None:
        """Send headers then chunks until they end, the client leaves or the server stops."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in chunks:
                if self.server.web.stopping.is_set():
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, host: str, web: WebServer) -> None:
        self.web = web
        super().__init__((host, 0), _Request)

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client leaves mid-response, as fetchers that cut bodies do."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self.web.lock:
            self.web.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.web.lock:
                self.web.connections.discard(request)


class WebServer:
    """Routes, counters and the running server; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.routes: dict[str, Handler] = {}
        self.connections: set[socket.socket] = set()
        self._server = _Server(host, self)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        """Return the absolute URL of path on this server."""
        return self.base + path

    def handle(self, path: str, handler: Handler) -> None:
        """Serve path with handler(request)."""
        with self.lock:
            self.routes[path] = handler

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Serve a fixed body; with etag/last_modified, answer 304 to a matching condition."""
        data = body.encode() if isinstance(body, str) else body
        extra = {"Content-Type": content_type, **(headers or {})}
        if etag:
            extra["ETag"] = etag
        if last_modified:
            extra["Last-Modified"] = last_modified

        def serve(req: _Request) -> None:
            if (etag and req.headers.get("If-None-Match") == etag) or (
                last_modified and req.headers.get("If-Modified-Since") == last_modified
            ):
                req.send(304, b"", {k: v for k, v in extra.items() if k != "Content-Type"})
            else:
                req.send(200, data, extra)

        self.handle(path, serve)

    def status(
        self, path: str, code: int, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        """Answer path with an HTTP status and headers, e.g. 429 with {"Retry-After": "5"}."""
        fixed = headers or {}
        self.handle(path, lambda req: req.send(code, body or f"status {code}".encode(), fixed))

    def redirect(self, path: str, location: str, code: int = 302) -> None:
        """Redirect path to location (absolute, or relative to this server)."""
        self.handle(path, lambda req: req.send(code, b"", {"Location": location}))

    def slow(self, path: str, delay: float, body: bytes = b"late") -> None:
        """Wait delay seconds (or until the server stops) before sending any header."""

        def serve(req: _Request) -> None:
            if not self.stopping.wait(delay):
                req.send(200, body)

        self.handle(path, serve)

    def never_ending(self, path: str, head: bytes, interval: float = 0.05) -> None:
        """Send head, then one more space every interval, forever."""

        def chunks() -> Iterator[bytes]:
            yield head
            while not self.stopping.wait(interval):
                yield b" "

        self.handle(path, lambda req: req.stream(chunks(), "application/rss+xml"))

    def endless(self, path: str, chunk: bytes = b"x" * 65536) -> None:
        """Send an endless body as fast as the client reads it."""

        def chunks() -> Iterator[bytes]:
            while True:
                yield chunk

        self.handle(path, lambda req: req.stream(chunks(), "text/html; charset=utf-8"))

    def start(self) -> WebServer:
        """Start serving in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and join every thread."""
        self.stopping.set()
        self._server.shutdown()
        with self.lock:
            open_now = list(self.connections)
        for sock in open_now:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join()


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[WebServer]:
    """Run a WebServer for the duration of a with block."""
    server = WebServer(host).start()
    try:
        yield server
    finally:
        server.stop()
