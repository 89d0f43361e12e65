"""Subscription and operator commands through the real Application and the loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.loopback import LoopbackRequest, User
from tests.conftest import SEEDS
from tests.test_handlers import TOKEN, Bot, buttons, sends

ADMIN = 4242


@pytest.fixture
async def bot(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Bot]:
    settings = Settings(
        token=TOKEN,
        **database,
        seeds=SEEDS,
        admin_ids=frozenset({ADMIN}),
        watch_dir=tmp_path / "watch",
        max_subscriptions=3,
    )
    request = LoopbackRequest()
    app = build_application(settings, request)
    async with running(app):
        yield Bot(app, request)


async def say(bot: Bot, text: str, user: User | None = None) -> dict[str, Any]:
    user = user or bot.user
    [call] = [c for c in sends(await bot.send(user.text(text))) if c["chat_id"] == user.chat_id]
    return call


async def test_subscribe_confirms_with_examples(bot: Bot) -> None:
    call = await say(bot, "/subscribe الرقة")
    assert "ستصلك الأخبار الجديدة عن" in call["text"] and "الرقة" in call["text"]
    assert "مثال مما كان سيصلك" in call["text"]
    assert "أنت تتابع" in (await say(bot, "/subscribe الرقة"))["text"]
    assert "اكتب ما تريد متابعته" in (await say(bot, "/subscribe"))["text"]


async def test_limit_list_and_unsubscribe_button(bot: Bot) -> None:
    for q in ("الرقة", "Peskov", "كاليبر"):
        await say(bot, f"/subscribe {q}")
    assert "الحد الأقصى (3)" in (await say(bot, "/subscribe داعش"))["text"]
    listing = await say(bot, "/subscriptions")
    assert "1. الرقة" in listing["text"] and "3. كاليبر" in listing["text"]
    data = dict(buttons(listing))["❌ Peskov"]
    calls = await bot.send(bot.user.press(listing["_result"], data))
    [edit] = [c for c in calls if c["method"] == "editMessageReplyMarkup"]
    assert "❌ Peskov" not in dict(buttons(edit))
    store = bot.app.bot_data["store"]
    assert [s.query for s in await store.subscriptions(1001)] == ["الرقة", "كاليبر"]
    # The same button again: the subscription is gone already, no "search again".
    calls = await bot.send(bot.user.press(listing["_result"], data))
    [answer] = [c for c in calls if c["method"] == "answerCallbackQuery"]
    assert answer["text"] == "هذه المتابعة أُلغيت من قبل." and "ابحث" not in answer["text"]
    [edit] = [c for c in calls if c["method"] == "editMessageReplyMarkup"]
    assert [label for label, _ in buttons(edit)] == ["❌ الرقة", "❌ كاليبر"]
    assert "تم إلغاء متابعة" in (await say(bot, "/unsubscribe 1"))["text"]
    assert "لا متابعة" in (await say(bot, "/unsubscribe نهر"))["text"]


async def test_digest_timezone_quiet(bot: Bot) -> None:
    assert "08:30" in (await say(bot, "/digest 8:30"))["text"]
    assert "Europe/Berlin" in (await say(bot, "/timezone Europe/Berlin"))["text"]
    assert "UTC+03:00" in (await say(bot, "/timezone +3"))["text"]
    assert "مثال" in (await say(bot, "/timezone Mars/Base"))["text"]
    assert "23:00" in (await say(bot, "/quiet 23:00-07:00"))["text"]
    assert "مثال" in (await say(bot, "/quiet soon"))["text"]
    chat = await bot.app.bot_data["store"].chat(1001)
    assert (chat.digest_time, chat.timezone, chat.quiet_start) == ("08:30", "UTC+03:00", "23:00")
    assert "أوقفت" in (await say(bot, "/digest off"))["text"]
    assert "أُلغيت" in (await say(bot, "/quiet off"))["text"]


async def test_groups_need_an_administrator(bot: Bot) -> None:
    member = User(bot.app.bot, user_id=77, chat_id=-100900, chat_type="supergroup")
    assert "مشرفو المجموعة" in (await say(bot, "/subscribe الرقة", member))["text"]
    bot.request.admins.add(78)
    admin = User(bot.app.bot, user_id=78, chat_id=-100900, chat_type="supergroup")
    assert "ستصلك" in (await say(bot, "/subscribe الرقة", admin))["text"]


async def test_operator_commands(bot: Bot) -> None:
    assert "للمشغّلين فقط" in (await say(bot, "/status"))["text"]
    operator = User(bot.app.bot, user_id=ADMIN, chat_id=ADMIN)
    await say(bot, "/subscribe الرقة")
    status = await say(bot, "/status", operator)
    assert "متابعات: 1" in status["text"] and "محادثات نشطة: 2" in status["text"]
    queued = await say(bot, "/broadcast صيانة الليلة <b>!</b>", operator)
    assert "إلى محادثتين" in queued["text"]  # the Arabic dual
    for _ in range(50):  # the sender delivers in the background
        if len([c for c in bot.request.sent() if "صيانة" in c.params["text"]]) == 2:
            break
        await asyncio.sleep(0.05)
    broadcast = [c for c in bot.request.sent() if "صيانة" in c.params["text"]]
    assert sorted(c.params["chat_id"] for c in broadcast) == [1001, ADMIN]
    assert "&lt;b&gt;" in broadcast[0].params["text"]  # operator text is escaped too
    await asyncio.to_thread(bot.app.bot_data["settings"].watch_dir.mkdir)
    reloaded = await say(bot, "/reload", operator)
    assert "0 added" in reloaded["text"]


async def test_a_chat_that_writes_is_active_again(bot: Bot) -> None:
    store = bot.app.bot_data["store"]
    await say(bot, "/subscribe الرقة")
    await store.set_active(1001, False)
    await say(bot, "الرقة")
    chat = await store.chat(1001)
    assert chat is not None and chat.active


async def test_group_migration_message_moves_subscriptions(bot: Bot) -> None:
    bot.request.admins.add(78)
    admin = User(bot.app.bot, user_id=78, chat_id=-900, chat_type="group")
    await say(bot, "/subscribe الرقة", admin)
    update = admin.text("x")
    message = update.message.to_dict()  # type: ignore[union-attr]
    del message["text"]
    message["migrate_to_chat_id"] = -1009001
    await bot.app.process_update(admin._update({"message": message}))
    store = bot.app.bot_data["store"]
    assert [s.query for s in await store.subscriptions(-1009001)] == ["الرقة"]


async def test_timestamps_are_utc(bot: Bot) -> None:
    await say(bot, "/subscribe الرقة")
    chat = await bot.app.bot_data["store"].chat(1001)
    assert datetime.fromisoformat(chat.last_digest_at).tzinfo == UTC
