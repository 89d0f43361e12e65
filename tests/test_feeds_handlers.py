"""/addfeed, /feeds and /removefeed through the real Application and the loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.loopback import LoopbackRequest, User
from tests.conftest import SEEDS
from tests.test_handlers import TOKEN, Bot
from tests.test_subscriptions import say

ADMIN = 4242


@pytest.fixture
async def bot(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Bot]:
    settings = Settings(
        token=TOKEN,
        **database,
        seeds=SEEDS,
        admin_ids=frozenset({ADMIN}),
        watch_dir=tmp_path / "watch",
        feed_interval=3600,
    )
    request = LoopbackRequest()
    app = build_application(settings, request, background=False)
    async with running(app):
        yield Bot(app, request)


def operator(bot: Bot) -> User:
    return User(bot.app.bot, user_id=ADMIN, chat_id=ADMIN)


async def test_feed_commands_are_for_operators(bot: Bot) -> None:
    for command in ("/addfeed https://example.com/rss", "/feeds", "/removefeed 1"):
        assert "للمشغّلين فقط" in (await say(bot, command))["text"]


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/addfeed", "اكتب رابط الخلاصة"),
        ("/addfeed ftp://example.com/rss", "http"),
        ("/addfeed http://127.0.0.1/rss", "127.0.0.1"),
        ("/addfeed http://169.254.169.254/latest", "169.254.169.254"),
        ("/addfeed <b>x</b>", "لا يمكن إضافة"),
        ("/addfeed http://" + "a" * 4000 + ".example/rss", "لا يمكن إضافة"),
        ("/removefeed", "اكتب رقم الخلاصة"),
        ("/removefeed abc", "اكتب رقم الخلاصة"),
        ("/removefeed 99999999999999999999999", "اكتب رقم الخلاصة"),
        ("/removefeed 7", "لا خلاصة بهذا الرقم"),
        ("/removefeed\n7", "لا خلاصة بهذا الرقم"),
        ("/addfeed\nftp://example.com/rss", "http"),
        ("/feeds", "لا خلاصات بعد"),
    ],
)
async def test_bad_input_gets_a_clear_answer(bot: Bot, command: str, answer: str) -> None:
    reply = await say(bot, command, operator(bot))
    assert answer in reply["text"]
    assert await bot.app.bot_data["store"].feeds() == []


async def test_add_list_remove(bot: Bot) -> None:
    store = bot.app.bot_data["store"]
    # Loopback stands in for a public outlet here.
    settings = bot.app.bot_data["settings"]
    bot.app.bot_data["settings"] = replace(settings, allow_private_urls=True)
    command = "/addfeed http://127.0.0.1:9/rss?utm_medium=x أخبار الفرات"
    added = await say(bot, command, operator(bot))
    [feed] = await store.feeds()
    assert (feed.url, feed.name) == ("http://127.0.0.1:9/rss", "أخبار الفرات")
    assert f"{feed.id}" in added["text"] and "ستُقرأ خلال دقيقة" in added["text"]
    again = await say(bot, "/addfeed http://127.0.0.1:9/rss", operator(bot))
    assert f"رقمها {feed.id}" in again["text"]
    listing = await say(bot, "/feeds", operator(bot))
    assert "أخبار الفرات" in listing["text"] and "لم تُقرأ بعد" in listing["text"]
    long_url = "http://127.0.0.1:9/" + "a" * 4000
    assert "ستُقرأ" in (await say(bot, f"/addfeed {long_url}", operator(bot)))["text"]
    await store.remove_feed(long_url)
    removed = await say(bot, f"/removefeed {feed.id}", operator(bot))
    assert "تبقى مقالاتها" in removed["text"]
    assert await store.feeds() == []


async def test_a_long_list_of_feeds_fits_one_message(bot: Bot) -> None:
    store = bot.app.bot_data["store"]
    for i in range(60):
        await store.add_feed(f"https://outlet{i}.example/{'x' * 200}/rss", "اسم طويل " * 40)
    listing = await say(bot, "/feeds", operator(bot))  # the loopback checks Telegram's limits
    assert "outlet0.example" in listing["text"] and "… +" in listing["text"]
