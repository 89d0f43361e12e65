"""`furat run`: the bot process, by long polling or behind a webhook."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application, running
from bot.config import DEFAULT_API_URL, Settings
from bot.logs import REDACTED
from bot.webhook import WebhookServer

NO_TOKEN = """Furat needs a bot token to run.
  1. In Telegram, talk to @BotFather, send /newbot and follow the steps.
  2. export TELEGRAM_BOT_TOKEN='<the token BotFather gave you>'
  3. furat run
To try the bot without a token or network, run: furat chat"""


class _QuietAbort(logging.Filter):
    """Drop the library's traceback of a start-up call that gave up: we say it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the last word of a network retry loop that gave up."""
        return "Aborting" not in str(record.msg)


def port_problem(host: str, port: int) -> str | None:
    """Return why the webhook server could not listen on host:port, or None if it can."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot resolve {host!r}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # The webhook server sets SO_REUSEADDR too: a port held by a listener still fails.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            reason = "another process is listening there" if exc.errno == errno.EADDRINUSE else ""
            return reason or exc.strerror or str(exc)
    return None


def webhook_problem(webhook_url: str, api_url: str) -> str | None:
    """Return why Telegram could not deliver to this webhook URL, or None if it can."""
    scheme = urlparse(webhook_url).scheme
    if scheme not in ("http", "https"):
        return f"FURAT_WEBHOOK_URL must start with https:// (or http://), not {webhook_url!r}."
    official = urlparse(api_url).hostname == urlparse(DEFAULT_API_URL).hostname
    if scheme == "http" and official:
        return (
            "Telegram accepts only https:// webhook URLs: use https:// in FURAT_WEBHOOK_URL,"
            " or point FURAT_API_URL at a self-hosted Bot API server."
        )
    return None


async def serve_webhook(app: Application, settings: Settings) -> None:
    """Serve updates, health and metrics until SIGINT or SIGTERM; pending updates are kept."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    host, port = settings.host_port
    async with running(app):
        server = WebhookServer(app, urlparse(settings.webhook_url).path, settings.webhook_secret)
        server.listen(host, port)
        try:
            # Listening first: Telegram delivers as soon as the webhook is set. Every replica
            # sets the same webhook; none drops what the others have not handled yet.
            await app.bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
            logging.getLogger(__name__).info("webhook server listening on %s:%d", host, port)
            await stop.wait()
        finally:
            await server.stop()


def database_problem(path: Path) -> str | None:
    """Return why the database file cannot be opened, or None if it can."""
    try:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA schema_version")
    except sqlite3.Error as exc:
        return str(exc)
    return None


def run_bot(settings: Settings) -> int:
    """Run until interrupted; return the process exit code."""
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if settings.mode == "webhook":
        if not (settings.webhook_url and settings.webhook_secret):
            print("Webhook mode needs FURAT_WEBHOOK_URL and FURAT_WEBHOOK_SECRET.", file=sys.stderr)
            return 2
        refused = webhook_problem(settings.webhook_url, settings.api_url)
        if refused:
            print(refused, file=sys.stderr)
            return 2
        # Checked before anything is registered: Telegram must not be told about a webhook
        # this process cannot serve.
        host, port = settings.host_port
        problem = port_problem(host, port)
        if problem:
            print(f"Cannot listen on {host}:{port} (FURAT_LISTEN): {problem}.", file=sys.stderr)
            return 1
    # Checked here, in one line: a failure in the application's start-up ends in tracebacks.
    problem = None if settings.db_url else database_problem(settings.db_path)
    if problem:
        print(f"Cannot use the database {settings.db_path} (FURAT_DB): {problem}.", file=sys.stderr)
        return 1
    app = build_application(settings)
    logging.getLogger("telegram.ext").addFilter(_QuietAbort())
    try:
        if settings.mode == "webhook":
            asyncio.run(serve_webhook(app, settings))
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken:
        print(
            "The Bot API refused the token: check TELEGRAM_BOT_TOKEN (BotFather gives it).",
            file=sys.stderr,
        )
        return 1
    except NetworkError as exc:
        where = urlparse(settings.api_url).netloc or settings.api_url
        reason = str(exc).replace(settings.token, REDACTED)
        print(
            f"Cannot reach the Telegram Bot API at {where} ({reason}); check the network"
            " or FURAT_API_URL.",
            file=sys.stderr,
        )
        return 1
    # At start-up: post_init opens and writes the database.
    except (sqlite3.Error, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(
            f"Cannot use the database {settings.database_shown} (FURAT_DB): {exc}.",
            file=sys.stderr,
        )
        return 1
    return 0
