"""The webhook server: Telegram's updates, /healthz, /readyz and Prometheus /metrics."""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus
from typing import Any

import tornado.httpserver
import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.metrics import Metrics
from handlers.common import METRICS_KEY, STORE_KEY

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's largest update (a 4,096-character message with entities and a replied-to
# message) is far below this; anything bigger is not from Telegram.
MAX_BODY_BYTES = 1 << 20
# A body too big, or without the secret, is read and dropped up to this size, so that its
# sender reads the 413 or 403 instead of a reset connection; beyond it the connection is closed.
DRAIN_BYTES = 16 << 20


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """Check the secret, decode the update and queue it for the application."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: Application, secret: str) -> None:
        """Remember the application and the secret Telegram was given."""
        self.app = app
        self.chunks: list[bytes] = []
        self.size = 0
        given = self.request.headers.get(SECRET_HEADER, "")
        self.trusted = hmac.compare_digest(given.encode(), secret.encode())

    def data_received(self, chunk: bytes) -> None:
        """Keep a trusted body up to MAX_BODY_BYTES; count the rest only."""
        self.size += len(chunk)
        if self.trusted and self.size <= MAX_BODY_BYTES:
            self.chunks.append(chunk)
        else:
            self.chunks.clear()

    async def post(self) -> None:
        """Queue the update; answer 403 without the secret, 413 too big, 400 if not an update."""
        # Refused only now, the body read: answering before it, tornado closes the
        # connection, and a client that reuses it reads a reset instead of the 403.
        if not self.trusted:
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if self.size > MAX_BODY_BYTES:
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            data = json.loads(b"".join(self.chunks))
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) else None
        except Exception:  # any malformed body: Telegram never sends one
            update = None
        if update is None:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST)
        if isinstance(self.app.bot, ExtBot):
            self.app.bot.insert_callback_data(update)
        await self.app.update_queue.put(update)


class HealthHandler(tornado.web.RequestHandler):
    """Answer while the process runs."""

    def get(self) -> None:
        """Say ok."""
        self.finish("ok\n")


class ReadyHandler(tornado.web.RequestHandler):
    """Answer 200 while the database answers and its schema is the latest, else 503."""

    def initialize(self, app: Application) -> None:
        """Remember the application whose store is checked."""
        self.app = app

    async def get(self) -> None:
        """Read the store once."""
        store = self.app.bot_data.get(STORE_KEY)
        try:
            ready = store is not None and await store.ready()
        except Exception:  # a load balancer only needs the answer; the log keeps why
            log.warning("readiness check failed", exc_info=True)
            ready = False
        if not ready:
            self.set_status(HTTPStatus.SERVICE_UNAVAILABLE)
        self.finish("ready\n" if ready else "not ready\n")


class MetricsHandler(tornado.web.RequestHandler):
    """Serve the application's metrics in Prometheus text format."""

    def initialize(self, app: Application) -> None:
        """Remember the application whose metrics are served."""
        self.app = app

    async def get(self) -> None:
        """Render the registry, the outbox read just now."""
        metrics: Metrics = self.app.bot_data[METRICS_KEY]
        body = await metrics.render(self.app.bot_data.get(STORE_KEY))
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(body)


class _Routes(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Log requests at debug level: probes and scrapes come every few seconds."""
        log.debug(
            "%d %s %.1f ms",
            handler.get_status(),
            handler.request.path,
            1000 * handler.request.request_time(),
        )


class WebhookServer:
    """One tornado HTTP server on the application's event loop."""

    def __init__(self, app: Application, path: str, secret: str) -> None:
        path = "/" + path.strip("/")
        shared: dict[str, Any] = {"app": app}
        routes = _Routes(
            [
                (rf"{path}/?", UpdateHandler, {"app": app, "secret": secret}),
                (r"/healthz", HealthHandler),
                (r"/readyz", ReadyHandler, shared),
                (r"/metrics", MetricsHandler, shared),
            ]
        )
        self.http = tornado.httpserver.HTTPServer(routes, max_body_size=DRAIN_BYTES)

    def listen(self, host: str, port: int) -> None:
        """Start accepting connections on host:port."""
        self.http.listen(port, address=host)

    async def stop(self) -> None:
        """Stop accepting, then close the open connections."""
        self.http.stop()
        await self.http.close_all_connections()
