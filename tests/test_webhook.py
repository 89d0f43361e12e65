"""The webhook server: updates behind the secret, /healthz, /readyz, /metrics, and the URL rule."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from telegram import Bot
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES
from bot.config import DEFAULT_API_URL, Settings
from bot.jobs import poll
from bot.metrics import Metrics
from bot.runner import webhook_problem
from bot.sender import Limits, Sender
from bot.webhook import MAX_BODY_BYTES, SECRET_HEADER, WebhookServer
from handlers.common import CLOCK_KEY, FETCHER_KEY, METRICS_KEY, SETTINGS_KEY, STORE_KEY
from sources.fetch import Fetcher, FetchLimits
from sources.urls import AddressPolicy
from storage.backends import open_store
from storage.db import Database, latest_migration
from storage.models import PushKind
from tests.conftest import ROOT
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits, ThreadedServer
from tests.test_e2e import WAIT, BotProcess, _free_port, texts, wait_text
from tests.web.fixtures import article_page, article_path, rss_feed, seed_articles
from tests.web.server import WebServer, serve

SECRET = "s3cret-value"


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """Return a private text message update as Telegram sends it."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": chat_id, "type": "private", "first_name": "X"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "X", "language_code": "ar"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {"update_id": update_id, "message": message}


def sample(metrics_text: str, name: str, labels: str = "") -> float:
    """Return the value of one series in Prometheus text, e.g. sample(t, "x_total", 'k="v"')."""
    series = f"{name}{{{labels}}}" if labels else name
    match = re.search(rf"^{re.escape(series)} (\S+)$", metrics_text, re.M)
    assert match, f"{series} not in /metrics"
    return float(match[1])


@pytest.mark.parametrize(
    ("webhook_url", "api_url", "refused"),
    [
        ("https://bot.example.org/hook", DEFAULT_API_URL, False),
        ("http://bot.example.org/hook", DEFAULT_API_URL, True),
        ("http://bot.example.org/hook", "https://api.telegram.org:443/bot", True),
        ("http://10.0.0.5:8443/hook", "http://127.0.0.1:8081/bot", False),
        ("https://bot.example.org/hook", "http://botapi.internal:8081/bot", False),
        ("ftp://bot.example.org/hook", "http://127.0.0.1:8081/bot", True),
    ],
)
def test_webhook_url_rule(webhook_url: str, api_url: str, refused: bool) -> None:
    assert (webhook_problem(webhook_url, api_url) is not None) is refused


def test_http_webhook_with_telegram_is_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FURAT_", "TELEGRAM_"))}
    port = _free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env={
            **env,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "FURAT_DB": str(tmp_path / "refused.db"),
            "FURAT_MODE": "webhook",
            "FURAT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "FURAT_WEBHOOK_SECRET": SECRET,
            "FURAT_LISTEN": f"127.0.0.1:{port}",
        },
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "https://" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "refused.db").exists()  # refused before anything started


@pytest.fixture
def botapi() -> Iterator[FakeBotAPI]:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as s:
        yield s


def test_webhook_server_end_to_end(botapi: FakeBotAPI, db_target: Path | str) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/furat-hook"
    # Sent while no replica runs: the update waits at the Bot API and must not be dropped.
    botapi.send_text(9, "كاليبر", user_id=9)
    bot = BotProcess(
        botapi,
        db_target,
        FURAT_MODE="webhook",
        FURAT_WEBHOOK_URL=url,
        FURAT_WEBHOOK_SECRET=SECRET,
        FURAT_LISTEN=f"127.0.0.1:{port}",
    )
    try:
        botapi.wait_for(lambda: botapi.calls_to("setWebhook"), timeout=WAIT)
        [set_webhook] = botapi.calls_to("setWebhook")
        assert set_webhook.params["url"] == url
        assert set_webhook.params["secret_token"] == SECRET
        assert set_webhook.params.get("drop_pending_updates") in (None, False)
        assert set_webhook.params["allowed_updates"] == ALLOWED_UPDATES
        wait_text(botapi, 9, "نتائج")  # the pending update, delivered by the Bot API

        with httpx.Client(base_url=base, timeout=10) as http:
            assert (http.get("/healthz").status_code, http.get("/healthz").text) == (200, "ok\n")
            assert http.get("/readyz").status_code == 200
            before = http.get("/metrics").text
            for name in (
                "furat_updates_total",
                "furat_search_seconds_bucket",
                "furat_outbox_rows",
                "furat_pushes_total",
                "furat_feed_polls_total",
            ):
                assert name in before

            botapi.add_chat(11, "private", first_name="X")
            ok = {SECRET_HEADER: SECRET}
            start = _update(5001, 11, "/start")
            assert http.post("/furat-hook", json=start, headers=ok).status_code == 200
            wait_text(botapi, 11, "فرات")

            forged = _update(5002, 11, "forged")
            assert http.post("/furat-hook", json=forged).status_code == 403
            wrong = {SECRET_HEADER: "nope"}
            assert http.post("/furat-hook", json=forged, headers=wrong).status_code == 403
            bad = {**ok, "Content-Type": "application/json"}
            assert http.post("/furat-hook", content=b"{not json", headers=bad).status_code == 400
            assert http.post("/furat-hook", json=[1, 2], headers=ok).status_code == 400
            huge = b'{"update_id": 1, "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
            assert http.post("/furat-hook", content=huge, headers=bad).status_code == 413
            assert http.get("/healthz").status_code == 200  # still serving

            after = http.get("/metrics").text
            kind = 'kind="message"'
            assert sample(after, "furat_updates_total", kind) >= sample(
                before, "furat_updates_total", kind
            ) + 1
            assert sample(after, "furat_search_seconds_count") >= 1
            assert sample(after, "furat_outbox_rows", 'state="pending"') == 0
            assert sample(after, "furat_pushes_total", 'outcome="sent"') == 0
    finally:
        out = bot.stop()
    assert not any("forged" in t for t in texts(botapi, 11))
    assert "Traceback" not in out


async def test_readyz_is_503_when_the_database_is_gone(db_target: Path | str) -> None:
    store = await open_store(db_target)
    app = SimpleNamespace(bot_data={STORE_KEY: store, METRICS_KEY: Metrics()})
    server = WebhookServer(cast(Application, app), "/hook", SECRET)
    port = _free_port()
    server.listen("127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert (await http.get("/readyz")).status_code == 200
            await store.close()
            assert (await http.get("/readyz")).status_code == 503
            assert (await http.get("/healthz")).status_code == 200
            metrics = await http.get("/metrics")  # the outbox is unreadable, the rest is served
            assert metrics.status_code == 200 and "furat_updates_total" in metrics.text
            assert "furat_outbox_rows{" not in metrics.text
    finally:
        await server.stop()


async def test_ready_needs_the_latest_migration(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    old = await Database.open(path, upto=latest_migration() - 1)
    try:
        assert not await old.ready()
    finally:
        await old.close()
    db = await Database.open(path)  # migrates the rest
    assert await db.ready()
    await db.close()
    assert not await db.ready()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(rate_limits=RateLimits(enabled=False)) as s:
        yield s


async def test_pushes_sent_and_failed_are_counted(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    store = await open_store(tmp_path / "push.db")
    metrics = Metrics()
    now = datetime.now(UTC)
    for chat in (1, 2, 3):
        await store.ensure_chat(chat, "private", "ar", "UTC", now)
        await store.enqueue(f"alert:{chat}", chat, PushKind.ALERT, "خبر", None, now, now)
    fake_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    limits = Limits(global_per_s=0, private_per_s=0, group_per_min=0, concurrency=1)
    try:
        async with Bot(DEFAULT_TOKEN, base_url=fake_api.base_url) as bot:
            sender = Sender(store, bot, limits, rng=random.Random(1), metrics=metrics)
            assert await sender.drain() == 3
        value = metrics.registry.get_sample_value
        assert value("furat_pushes_total", {"outcome": "sent"}) == 2
        assert value("furat_pushes_total", {"outcome": "failed"}) == 1
        text = (await metrics.render(store)).decode()
        assert sample(text, "furat_outbox_rows", 'state="sent"') == 2
        assert sample(text, "furat_outbox_rows", 'state="failed"') == 1
        assert sample(text, "furat_outbox_rows", 'state="pending"') == 0
    finally:
        await store.close()


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as server:
        yield server


async def test_feed_polls_are_counted_by_status(web: WebServer, tmp_path: Path) -> None:
    articles = seed_articles()[:1]
    web.add(article_path(articles[0]), article_page(articles[0]), content_type="text/html")
    web.add("/rss.xml", rss_feed(articles, web.url("")), content_type="application/rss+xml")
    store = await open_store(tmp_path / "feeds.db")
    await store.add_feed(web.url("/rss.xml"))
    await store.add_feed(web.url("/gone.xml"))
    metrics = Metrics()
    policy = AddressPolicy(public_override=frozenset({"127.0.0.1"}))
    try:
        async with Fetcher(FetchLimits(timeout_s=5, max_bytes=100_000), policy) as fetcher:
            data = {
                STORE_KEY: store,
                FETCHER_KEY: fetcher,
                SETTINGS_KEY: Settings(),
                # Feeds are due from when they are added; the store keeps milliseconds.
                CLOCK_KEY: lambda: datetime.now(UTC) + timedelta(seconds=1),
                METRICS_KEY: metrics,
            }
            context = SimpleNamespace(application=SimpleNamespace(bot_data=data))
            await poll(context)  # type: ignore[arg-type]
    finally:
        await store.close()
    value = metrics.registry.get_sample_value
    assert value("furat_feed_polls_total", {"status": "ok"}) == 1
    assert value("furat_feed_polls_total", {"status": "error"}) == 1
    assert value("furat_feed_polls_total", {"status": "not_modified"}) == 0


def test_sigterm_stops_a_replica_cleanly(botapi: FakeBotAPI, tmp_path: Path) -> None:
    port = _free_port()
    bot = BotProcess(
        botapi,
        tmp_path / "term.db",
        FURAT_MODE="webhook",
        FURAT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        FURAT_WEBHOOK_SECRET=SECRET,
        FURAT_LISTEN=f"127.0.0.1:{port}",
    )
    botapi.wait_for(lambda: botapi.calls_to("setWebhook"), timeout=WAIT)
    bot.proc.send_signal(signal.SIGTERM)  # what systemd and container runtimes send
    assert bot.proc.wait(timeout=WAIT) == 0, bot.output()
    assert "Traceback" not in bot.output()
    assert botapi.webhook["url"]  # the other replicas keep receiving
    assert not botapi.calls_to("deleteWebhook")
