"""Replies through the real Application: long articles in parts, deep links by id, inline
flood control, stopword queries, what /subscribe previews, and usage replies that say why."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import handlers.common
from bot.app import build_application, running
from bot.config import Settings
from bot.loopback import LoopbackRequest, User
from handlers import render
from handlers.render import ARTICLE_PART
from handlers.texts import Lang
from search.lexicon import load_lexicon
from search.matching import PassageKeys, compile_plan, satisfies
from search.query import plan_query
from storage.models import Document
from storage.store import Store
from tests.conftest import SEEDS
from tests.fake_botapi import parse_html, utf16_len
from tests.test_handlers import TOKEN, Bot, buttons, sends

LONG_TITLE = "تقرير طويل عن نهر الفرات"
PARAGRAPHS = 60


def _long_article() -> str:
    paragraphs = [
        " ".join(f"الجملة {i}-{j} عن مياه نهر الفرات والسدود في الشمال." for j in range(20))
        for i in range(PARAGRAPHS)
    ]
    return LONG_TITLE + "\n\n" + "\n\n".join(paragraphs) + "\n"


@pytest.fixture
async def bot(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Bot]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "مقال طويل عن الفرات.txt").write_text(_long_article())  # an Arabic file name
    (seeds / "only_raqqa.txt").write_text(
        "مدينة الرقة اليوم\n\nتحدث سكان الرقة عن الرقة القديمة وأسواق الرقة وشوارع الرقة.\n"
    )
    (seeds / "raqqa_tabqa.txt").write_text(
        "معارك الطبقة\n\nتقدمت القوات نحو مدينة الطبقة غرب الرقة بعد معارك عنيفة.\n"
    )
    settings = Settings(token=TOKEN, seeds=seeds, **database)
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        yield Bot(app, request)


@pytest.fixture
async def seed_bot(database: dict[str, Any]) -> AsyncIterator[Bot]:
    settings = Settings(token=TOKEN, seeds=SEEDS, **database)
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        yield Bot(app, request)


def _store(bot: Bot) -> Store:
    store: Store = bot.app.bot_data["store"]
    return store


async def _long_id(bot: Bot) -> int:
    [doc] = [d for d in await _store(bot).latest(10) if d.title == LONG_TITLE]
    return doc.id


async def _read_whole_article(bot: Bot, first: list[dict[str, Any]]) -> list[list[str]]:
    """Press "more" until the article ends; return the texts of each part."""
    parts = [[parse_html(c["text"])[0] for c in first]]
    last = first
    while last[-1].get("reply_markup"):
        [(label, data)] = buttons(last[-1])
        assert label == "تابع القراءة ◀" and data.startswith(f"a:{await _long_id(bot)}:")
        last = sends(await bot.send(bot.user.press(last[-1]["_result"], data)))
        assert last
        parts.append([parse_html(c["text"])[0] for c in last])
    return parts


async def test_long_article_is_sent_a_few_messages_at_a_time(bot: Bot) -> None:
    doc_id = await _long_id(bot)
    first = sends(await bot.send(bot.user.text(f"/start doc_{doc_id}")))
    assert len(first) == ARTICLE_PART
    parts = await _read_whole_article(bot, first)
    assert len(parts) > 2 and all(1 <= len(part) <= ARTICLE_PART for part in parts)
    whole = "\n".join(text for part in parts for text in part)
    sentences = [f"الجملة {i}-{j} عن" for i in range(PARAGRAPHS) for j in range(20)]
    assert all(whole.count(s) == 1 for s in sentences)  # each once: none lost between parts
    assert [whole.index(s) for s in sentences] == sorted(whole.index(s) for s in sentences)


async def test_article_button_sends_the_first_part_and_a_forged_part_is_stale(bot: Bot) -> None:
    doc_id = await _long_id(bot)
    [result] = sends(await bot.send(bot.user.text("مياه نهر الفرات والسدود")))
    data = buttons(result)[0][1]
    assert data == f"a:{doc_id}:0"
    calls = sends(await bot.send(bot.user.press(result["_result"], data)))
    assert len(calls) == ARTICLE_PART and buttons(calls[-1])[0][1].startswith(f"a:{doc_id}:")
    calls = await bot.send(bot.user.press(result["_result"], f"a:{doc_id}:99999999"))
    assert not sends(calls)
    [answer] = [c for c in calls if c["method"] == "answerCallbackQuery"]
    assert answer["text"] == "انتهت صلاحية هذا الزر، ابحث من جديد."


async def test_deep_links_use_document_ids(bot: Bot) -> None:
    [latest] = sends(await bot.send(bot.user.text("/latest")))
    links = re.findall(r"start=([^\"&]+)", latest["text"])
    assert len(links) == 3 and all(re.fullmatch(r"doc_\d+", link) for link in links)
    for link in links:  # each opens its article, the one with an Arabic file name too
        doc = await _store(bot).document(int(link.removeprefix("doc_")))
        assert doc is not None
        [first, *_] = sends(await bot.send(bot.user.text(f"/start {link}")))
        assert doc.title in first["text"]
    calls = await bot.send(bot.user.inline("الطبقة"))
    [answer] = [c for c in calls if c["method"] == "answerInlineQuery"]
    text = answer["results"][0]["input_message_content"]["message_text"]
    assert re.search(r"start=doc_\d+\"", text)


async def test_old_key_deep_links_still_open_their_article(bot: Bot) -> None:
    doc = next(d for d in await _store(bot).latest(10) if d.title == "معارك الطبقة")
    assert doc.key.isascii()
    [call] = sends(await bot.send(bot.user.text(f"/start doc_{doc.key}")))
    assert "معارك الطبقة" in call["text"]
    [call] = sends(await bot.send(bot.user.text("/start doc_999999")))
    assert "لم يعد في الأرشيف" in call["text"]


async def test_inline_queries_are_rate_limited_per_user(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock stands still: no refill during the test.
    monkeypatch.setattr(handlers.common, "_seconds", lambda: 1000.0, raising=False)
    store = _store(bot)
    searched: list[str] = []
    search = store.search

    async def counted(query: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(query)
        return await search(query, *args, **kwargs)

    monkeypatch.setattr(store, "search", counted)
    answers = []
    for i in range(25):
        calls = await bot.send(bot.user.inline(f"الرقة {i}"))
        [answer] = [c for c in calls if c["method"] == "answerInlineQuery"]
        answers.append(answer)
    assert len(searched) == 10  # the burst; beyond it the store is not asked
    assert all(a["results"] for a in answers[:10])
    assert all(a["results"] == [] for a in answers[10:])
    other = User(bot.app.bot, user_id=2002, chat_id=2002)
    calls = await bot.send(other.inline("الرقة"))
    assert [c for c in calls if c["method"] == "answerInlineQuery"][0]["results"]


async def test_subscribe_previews_only_what_would_be_alerted(bot: Bot) -> None:
    store = _store(bot)
    query = "الرقة الطبقة"
    vocab = await store._vocabulary()
    compiled = compile_plan(plan_query(query, vocab, load_lexicon()), vocab)
    # Search ranks a passage holding only some of the words among the first two...
    hits = await store.search(query, limit=2)
    assert any("الطبقة" not in hit.passage for hit in hits)
    [call] = sends(await bot.send(bot.user.text(f"/subscribe {query}")))
    assert "مثال مما كان سيصلك" in call["text"]
    # ...but the preview shows only passages that the subscription would alert on.
    assert "غرب" in call["text"] and "أسواق" not in call["text"]
    for hit in await store.would_alert(query, limit=5):
        row = await store._read.execute_fetchall(
            "SELECT surface, stem FROM passages WHERE text = ?", (hit.passage,)
        )
        surface, stem = next(iter(row))
        assert satisfies(compiled, PassageKeys.of(surface.split(), stem.split()))


async def test_subscribe_to_question_words_alone_is_refused(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("/subscribe ما هو")))
    assert "لن أتابع" in call["text"] and "كلمات السؤال" in call["text"]
    assert await _store(bot).subscriptions(bot.user.chat_id) == []


async def test_question_word_alone_gets_help_not_spelling(seed_bot: Bot) -> None:
    assert await _store(seed_bot).suggestions("كثيب") == ["كثيف"]  # the archive has the word
    for query in ("كيف", "ما هو؟"):
        [call] = sends(await seed_bot.send(seed_bot.user.text(query)))
        assert "كلمات سؤال أو ربط وحدها" in call["text"]
        assert "هل تقصد" not in call["text"]
    [call] = sends(await seed_bot.send(seed_bot.user.text("كيف كذززي")))
    assert "لم أجد شيئاً" in call["text"] and "كثيف" not in call["text"]


async def test_markup_in_an_arabic_query_keeps_the_reply_arabic(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text('<span class="quote">الطبقة</span>')))
    assert "نتائج" in call["text"] and "Results" not in call["text"]


async def test_english_no_results_lists_with_an_english_comma(bot: Bot) -> None:
    bot.user.language_code = "en"
    [call] = sends(await bot.send(bot.user.text("qqqqzzzz")))
    assert "Nothing found" in call["text"]
    assert "،" not in call["text"]


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/digest 25:00", ["ليس وقتاً", "25:00", "08:30"]),
        ("/quiet 23:00-23:00", ["متساويتان", "23:00", "23:00-07:00"]),
        ("/quiet 23:00", ["ليس مدة", "23:00-07:00"]),
        ("/timezone Mars/Base", ["ليست منطقة زمنية", "Mars/Base"]),
        ("/unsubscribe نهر", ["لا متابعة باسم", "نهر", "/subscriptions"]),
    ],
)
async def test_usage_replies_say_what_was_wrong(bot: Bot, command: str, says: list[str]) -> None:
    [call] = sends(await bot.send(bot.user.text(command)))
    for part in says:
        assert part in call["text"]
    chat = await _store(bot).chat(bot.user.chat_id)
    assert chat is None or (chat.quiet_start, chat.digest_time) == (None, None)


async def test_digest_time_in_arabic_indic_digits(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("/digest ٠٨:٣٠")))
    assert "08:30" in call["text"]
    chat = await _store(bot).chat(bot.user.chat_id)
    assert chat is not None and chat.digest_time == "08:30"


_SENTENCE = "الجملة عن مياه نهر الفرات والسدود في الشمال. "
HUGE = {
    "paragraphs": "\n\n".join(_SENTENCE * 20 for _ in range(5000)),
    "one paragraph": _SENTENCE * 100_000,
    "one word": "ب" * 5_000_000,
}


@pytest.mark.parametrize("body", HUGE.values(), ids=HUGE.keys())
def test_any_part_of_a_huge_article_renders_only_its_own_messages(
    monkeypatch: pytest.MonkeyPatch, body: str
) -> None:
    escaped = [0]
    escape = render.html.escape

    def counted(text: str, quote: bool = True) -> str:
        escaped[0] += len(text)
        return escape(text, quote)

    monkeypatch.setattr(render.html, "escape", counted)
    doc = Document(1, "k", "عنوان", None, body, "", "", "")
    # The first parts, then one deep in the article (a forged button may name any offset).
    start: int | None = 0
    for n in range(4):
        assert start is not None
        escaped[0] = 0
        messages, more = render.article_part(doc, Lang.AR, start if n < 3 else len(body) // 2)
        assert len(messages) == ARTICLE_PART and more is not None and more > start
        assert all(utf16_len(m) <= render.MESSAGE_LIMIT for m in messages)
        # A few messages' worth of escaping (a piece is escaped to fit, to size and to send),
        # wherever the part starts: never the megabytes before it.
        assert escaped[0] <= 5 * (ARTICLE_PART + 1) * render.MESSAGE_LIMIT
        start = more
