"""Feeds end to end: the real `furat run` polls a served feed; a new item alerts once, linked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_botapi import FakeBotAPI, RateLimits, ThreadedServer
from tests.test_e2e import WAIT, BotProcess, wait_polling, wait_text
from tests.test_e2e_pushes import alerts
from tests.web.fixtures import article_page, article_path, rss_feed, seed_articles
from tests.web.server import WebServer, serve

FAST = {
    "FURAT_TICK_SECONDS": "0.3",
    "FURAT_FEED_INTERVAL": "1",
    "FURAT_RATE_GLOBAL": "0",
    "FURAT_RATE_PRIVATE": "0",
    "FURAT_ALLOW_PRIVATE_URLS": "1",  # the outlet is the test's own server, on loopback
}
OPERATOR = 77


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as s:
        yield s


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as s:
        yield s


def url_buttons(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [b["url"] for row in rows for b in row if "url" in b]


def test_new_feed_item_alerts_once_with_its_link(
    server: FakeBotAPI, web: WebServer, tmp_path: Path
) -> None:
    first, new = seed_articles()[:2]
    for article in (first, new):
        web.add(article_path(article), article_page(article), content_type="text/html")
    web.add("/rss.xml", rss_feed([first], web.url("")), content_type="application/rss+xml")
    bot = BotProcess(server, tmp_path / "e.db", FURAT_ADMIN_IDS=str(OPERATOR), **FAST)
    try:
        wait_polling(server)
        server.send_text(OPERATOR, f"/addfeed {web.url('/rss.xml')}", user_id=OPERATOR)
        wait_text(server, OPERATOR, "/rss.xml")
        # The first poll files what the feed already lists.
        server.wait_for(lambda: web.hits[article_path(first)] == 1, timeout=WAIT)
        # A word of the new article that the first one lacks: only the new one can alert.
        known = " ".join(first.paragraphs)
        topic = next(w for w in new.paragraphs[0].split() if len(w) > 4 and w not in known)
        server.send_text(11, f"/subscribe {topic}", user_id=11)
        wait_text(server, 11, "ستصلك")
        # The outlet publishes: nobody does anything by hand.
        web.add("/rss.xml", rss_feed([new, first], web.url("")))
        server.wait_for(lambda: alerts(server, 11), timeout=WAIT)
        time.sleep(2.5)  # more polls and ticks: still exactly one alert
        [alert] = [m for m in server.messages_to(11) if m.get("text", "") in alerts(server, 11)]
        assert url_buttons(alert) == [web.url(article_path(new))]
        assert web.hits[article_path(new)] == 1
    finally:
        out = bot.stop()
    assert "update failed" not in out
