"""Handlers through the real Application, with only the network replaced by the loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import Application

from bot.app import build_application, running
from bot.config import Settings
from bot.loopback import BOT_ID, BOT_USERNAME, LoopbackRequest, User
from handlers.render import MESSAGE_LIMIT
from tests.conftest import SEEDS
from tests.fake_botapi import parse_html, utf16_len, validate_reply_markup

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


class Bot:
    """The application under test, its loopback and a user."""

    def __init__(self, app: Application, request: LoopbackRequest) -> None:  # type: ignore[type-arg]
        self.app, self.request = app, request
        self.user = User(app.bot)

    async def send(self, update: Any) -> list[dict[str, Any]]:
        """Process an update and return the calls it caused as (method, params) dicts."""
        before = len(self.request.calls)
        await self.app.process_update(update)
        calls = self.request.calls[before:]
        for call in calls:
            check_valid(call.method, call.params)
        return [{"method": c.method, **c.params, "_result": c.result} for c in calls]


def check_valid(method: str, params: dict[str, Any]) -> None:
    """Assert a call would pass Telegram's own validation."""
    if method in ("sendMessage", "editMessageText"):
        text, _ = parse_html(params["text"])
        assert 1 <= utf16_len(text) <= MESSAGE_LIMIT
        assert params.get("parse_mode") == "HTML"
        validate_reply_markup(params.get("reply_markup"))
    if method == "answerInlineQuery":
        assert len(params["results"]) <= 50
        for result in params["results"]:
            parse_html(result["input_message_content"]["message_text"])


@pytest.fixture
async def bot(database: dict[str, Any]) -> AsyncIterator[Bot]:
    settings = Settings(token=TOKEN, seeds=SEEDS, **database)
    request = LoopbackRequest()
    app = build_application(settings, request)
    async with running(app):
        yield Bot(app, request)


def sends(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in calls if c["method"] == "sendMessage"]


def buttons(call: dict[str, Any]) -> list[tuple[str, str]]:
    rows = call["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


async def test_start_up_sets_commands_for_both_languages(bot: Bot) -> None:
    commands = bot.request.sent("setMyCommands")
    assert {c.params.get("language_code") for c in commands} == {None, "ar", "en"}


async def test_start(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("/start")))
    assert call["chat_id"] == 1001
    assert "فرات" in call["text"]


async def test_start_deep_link_opens_article(bot: Bot) -> None:
    calls = sends(await bot.send(bot.user.text("/start doc_000_d5ad7216e4dfa7f1")))
    assert calls and "خلال عملية تحرير مدينة دير الزور" in calls[0]["text"]
    assert "كاليبر" in "".join(c["text"] for c in calls)


async def test_arabic_search_cards_and_buttons(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("كاليبر الفرقاطة")))
    assert call["text"].count("<b>") >= 3
    assert "<b>كاليبر</b>" in call["text"]
    labels = buttons(call)
    assert [label for label, _ in labels[:2]] == ["📄 المقال كاملاً (1)", "📄 المقال كاملاً (2)"]
    assert all(len(data.encode()) <= 64 for _, data in labels)


async def test_paging_edits_the_same_message(bot: Bot) -> None:
    [first] = sends(await bot.send(bot.user.text("دير الزور")))
    assert "(1–3)" in first["text"]
    next_data = dict(buttons(first))["التالي ◀"]
    calls = await bot.send(bot.user.press(first["_result"], next_data))
    [edit] = [c for c in calls if c["method"] == "editMessageText"]
    assert edit["message_id"] == first["_result"]["message_id"]
    assert "(4–6)" in edit["text"]
    previous = dict(buttons(edit))["▶ السابق"]
    calls = await bot.send(bot.user.press(edit["_result"], previous))
    [back] = [c for c in calls if c["method"] == "editMessageText"]
    assert "(1–3)" in back["text"]


async def test_paging_survives_restart(database: dict[str, Any]) -> None:
    settings = Settings(token=TOKEN, seeds=SEEDS, **database)
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        first = sends(await Bot(app, request).send(User(app.bot).text("دير الزور")))[0]
    async with running(build_application(settings, request)) as app:
        data = dict(buttons(first))["التالي ◀"]
        calls = await Bot(app, request).send(User(app.bot).press(first["_result"], data))
    assert any(c["method"] == "editMessageText" and "(4–6)" in c["text"] for c in calls)


async def test_full_article_button(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("حملة الرقة تذبح بصمت")))
    data = buttons(call)[0][1]
    calls = await bot.send(bot.user.press(call["_result"], data))
    assert any(c["method"] == "answerCallbackQuery" for c in calls)
    texts = [c["text"] for c in sends(calls)]
    assert texts and "راديو ألوان" in texts[0]
    assert "الوسوم" not in "".join(texts)


@pytest.mark.parametrize(
    "data", ["p:999999:1", "a:999999:0", "x:1:1", "garbage", "p:-1:0", "p:1:99999999", "a:1", ""]
)
async def test_stale_or_forged_buttons_get_a_polite_answer(bot: Bot, data: str) -> None:
    [call] = sends(await bot.send(bot.user.text("دير الزور")))
    calls = await bot.send(bot.user.press(call["_result"], data))
    [answer] = [c for c in calls if c["method"] == "answerCallbackQuery"]
    assert answer["text"] == "انتهت صلاحية هذا الزر، ابحث من جديد."
    assert not sends(calls)


async def test_english_user_and_latin_query_get_english(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("Raqqa")))
    assert call["text"].startswith("🔎 Results for")
    assert "الرقة" in call["text"]
    bot.user.language_code = "en"
    [call] = sends(await bot.send(bot.user.text("الرقة")))
    assert call["text"].startswith("🔎 Results for")
    assert dict(buttons(call)).get("Next ▶")


async def test_no_results_suggests(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("الميادبنن")))  # two letters off
    assert "لم أجد شيئاً" in call["text"]
    assert "هل تقصد" in call["text"] and "الميادين" in call["text"]
    [call] = sends(await bot.send(bot.user.text("qqqqzzzz")))
    assert "داعش" in call["text"]


async def test_user_text_is_escaped(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("<b>x</b> & <script>")))
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;" in call["text"]


@pytest.mark.parametrize("query", ['"', "NEAR(داعش", "داعش*", "-", "AND OR NOT", "x" * 5000])
async def test_fts_syntax_and_long_messages(bot: Bot, query: str) -> None:
    [call] = sends(await bot.send(bot.user.text(query)))
    assert call["text"]


async def test_sticker_gets_a_hint(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.sticker()))
    assert "أفهم النصوص فقط" in call["text"]


async def test_group_answers_only_when_addressed(bot: Bot) -> None:
    bot.user.chat_type, bot.user.chat_id = "supergroup", -100123
    assert not sends(await bot.send(bot.user.text("كاليبر")))
    [call] = sends(await bot.send(bot.user.text(f"@{BOT_USERNAME} كاليبر")))
    assert call["chat_id"] == -100123 and "كاليبر" in call["text"]
    bot_message = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": -100123, "type": "supergroup"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Furat"},
        "text": "x",
    }
    assert sends(await bot.send(bot.user.text("الفرقاطة", reply_to=bot_message)))
    assert sends(await bot.send(bot.user.text("/about")))
    assert not sends(await bot.send(bot.user.sticker()))


async def test_latest_sources_about_help(bot: Bot) -> None:
    [latest] = sends(await bot.send(bot.user.text("/latest")))
    assert latest["text"].count("https://t.me/furat_bot?start=doc_") == 5
    [sources] = sends(await bot.send(bot.user.text("/sources")))
    assert "راديو ألوان" in sources["text"] and "القدس دوت كوم" in sources["text"]
    [about] = sends(await bot.send(bot.user.text("/about")))
    assert "المقالات: 5" in about["text"] and "الفقرات: 55" in about["text"]
    [helped] = sends(await bot.send(bot.user.text("/help")))
    assert "@furat_bot" in helped["text"]


async def test_inline_query_pages(bot: Bot) -> None:
    calls = await bot.send(bot.user.inline("دير الزور"))
    [answer] = [c for c in calls if c["method"] == "answerInlineQuery"]
    assert len(answer["results"]) == 20 and answer["next_offset"] == "20"
    first = answer["results"][0]
    assert "start=doc_" in first["input_message_content"]["message_text"]
    calls = await bot.send(bot.user.inline("دير الزور", offset="20"))
    [answer2] = [c for c in calls if c["method"] == "answerInlineQuery"]
    assert {r["id"] for r in answer["results"]}.isdisjoint(r["id"] for r in answer2["results"])
    calls = await bot.send(bot.user.inline(""))
    [latest] = [c for c in calls if c["method"] == "answerInlineQuery"]
    assert len(latest["results"]) == 5 and not latest["next_offset"]


async def test_longest_article_split_under_the_limit(bot: Bot) -> None:
    calls = sends(await bot.send(bot.user.text("/start doc_000_d5ad7216e4dfa7f1")))
    body = "".join(parse_html(c["text"])[0] for c in calls)
    assert "ومستودعات أسلحة وذخائر للتنظيم" in body


async def test_flood_is_throttled_for_one_user_only(bot: Bot) -> None:
    replies = []
    for i in range(30):
        replies += sends(await bot.send(bot.user.text(f"دير الزور {i}")))
    warnings = [r for r in replies if "تمهّل" in r["text"]]
    assert len(warnings) == 1
    assert len(replies) <= 12
    other = User(bot.app.bot, user_id=2002, chat_id=2002)
    assert sends(await bot.send(other.text("دير الزور")))


async def test_error_boundary_answers_and_hides_token(
    bot: Bot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"database exploded at https://api.telegram.org/bot{TOKEN}/x")

    store = bot.app.bot_data["store"]
    monkeypatch.setattr(store, "search", broken)
    from bot.logs import configure_logging

    configure_logging("INFO", TOKEN)
    caplog.handler.addFilter(logging.getLogger().handlers[0].filters[0])
    with caplog.at_level(logging.INFO):
        [call] = sends(await bot.send(bot.user.text("دير الزور")))
    assert "حدث خطأ" in call["text"] and TOKEN not in call["text"]
    assert "database exploded" in caplog.text
    assert TOKEN not in caplog.text
    # The bot keeps running.
    monkeypatch.undo()
    assert sends(await bot.send(bot.user.text("/start")))


PIECES = st.one_of(
    st.characters(),
    st.sampled_from(list("\u200f\u200e\u200b\u2068\u2069<>&\"'*-^:()ـًّ") + ["NEAR", "OR", "</b>"]),
)
MESSAGES = st.builds(
    lambda parts, times: ("".join(parts) * times)[:10_000],
    st.lists(PIECES, min_size=1, max_size=200),
    st.sampled_from([1, 1, 1, 50]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=MESSAGES)
async def test_fuzz_messages_never_break_the_bot(bot: Bot, text: str) -> None:
    bot.user.user_id += 1  # a fresh user each time: the flood gate is not under test here
    bot.user.chat_id = bot.user.user_id
    calls = await bot.send(bot.user.text(text))
    assert not any("حدث خطأ" in c.get("text", "") for c in calls)
