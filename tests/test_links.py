"""Articles from the web: dates on cards and alerts, the 🔗 button to the original, JSON fields."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.console import chat
from bot.jobs import run_tick
from bot.loopback import LoopbackRequest, User
from handlers.render import (
    MESSAGE_LIMIT,
    alert_message,
    article_part,
    byline,
    date_label,
    digest_message,
    link_url,
    result_cards,
    utf16_len,
)
from handlers.texts import Lang
from search.results import SearchHit
from storage.backends import open_store
from storage.models import Chat, Document
from storage.pushes import AlertMatch, DigestItem
from storage.store import Store
from tests.conftest import SEEDS, furat
from tests.test_handlers import TOKEN, Bot, sends
from tests.test_matching import NOW, add_chat, ingest

URL = "https://news.example.com/2026/11/raqqa?id=7"
PUBLISHED = "2026-11-30T12:00:00+00:00"
KEY = "000_d5ad7216e4dfa7f1"  # the seed article about Deir ez-Zor


async def set_origin(store: Store, doc_id: int, url: str | None, published: str | None) -> None:
    """Give a document the url and date a document from a feed has."""
    async with store._transaction() as conn:
        await conn.execute(
            "UPDATE documents SET url = ?, published = ? WHERE id = ?", (url, published, doc_id)
        )


async def doc_id(store: Store, key: str = KEY) -> int:
    doc = await store.document(key)
    assert doc is not None
    return doc.id


def url_buttons(call: dict[str, Any]) -> list[tuple[str, str]]:
    markup = call.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = markup.get("inline_keyboard", [])
    return [(b["text"], b["url"]) for row in rows for b in row if "url" in b]


@pytest.mark.parametrize(
    ("published", "lang", "label"),
    [
        ("2026-11-30T12:00:00+00:00", Lang.AR, "30 نوفمبر 2026"),
        ("2026-11-30T12:00:00+00:00", Lang.EN, "2026-11-30"),
        ("2026-01-05T23:59:59.123+00:00", Lang.AR, "5 يناير 2026"),
        ("2026-01-05T23:59:59.123+00:00", Lang.EN, "2026-01-05"),
        ("2026-12-01T01:30:00+03:00", Lang.EN, "2026-11-30"),  # shown as the UTC day
        ("2026-05-09T08:00:00Z", Lang.AR, "9 مايو 2026"),
        ("2026-05-09T08:00:00", Lang.EN, "2026-05-09"),
        ("2026-05-09", Lang.EN, "2026-05-09"),
        ("yesterday", Lang.AR, None),
        ("", Lang.EN, None),
        (None, Lang.AR, None),
    ],
)
def test_date_label(published: str | None, lang: Lang, label: str | None) -> None:
    assert date_label(published, lang) == label


@pytest.mark.parametrize(
    ("outlet", "published", "lang", "line"),
    [
        ("عنب بلدي", PUBLISHED, Lang.AR, "<i>عنب بلدي</i> · 30 نوفمبر 2026"),
        ("A & B", PUBLISHED, Lang.EN, "<i>A &amp; B</i> · 2026-11-30"),
        ("عنب بلدي", None, Lang.AR, "<i>عنب بلدي</i>"),
        (None, PUBLISHED, Lang.EN, "2026-11-30"),
        (None, "not a date", Lang.EN, None),
        (None, None, Lang.AR, None),
    ],
)
def test_byline(outlet: str | None, published: str | None, lang: Lang, line: str | None) -> None:
    assert byline(outlet, published, lang) == line


@pytest.mark.parametrize(
    ("outlet", "agency", "lang", "line"),
    [
        ("الرياض", "واس", Lang.AR, "<i>الرياض</i> · عن واس"),
        (None, "أ ف ب", Lang.AR, "عن أ ف ب"),
        ("Okaz", "رويترز", Lang.EN, "<i>Okaz</i> · via رويترز"),
        ("الرياض", None, Lang.AR, "<i>الرياض</i>"),
    ],
)
def test_result_card_shows_the_agency_beside_the_outlet(
    outlet: str | None, agency: str | None, lang: Lang, line: str
) -> None:
    hit = SearchHit(1, "k", "عنوان الخبر", outlet, "نص", 0, 1.0, "نص", agency=agency)
    card = result_cards([hit], 1, lang)
    assert card.split("\n")[1] == line


@pytest.mark.parametrize(
    ("url", "usable"),
    [
        ("https://news.example.com/a?id=7", True),
        ("http://example.com", True),
        ("HTTPS://example.com/path", True),
        ("https://ar.example.com/الرقة", True),
        ("ftp://example.com/file", False),
        ("javascript:alert(1)", False),
        ("tg://resolve?domain=x", False),
        ("/relative/path", False),
        ("https://", False),
        ("https:///no-host", False),
        ("https://exa mple.com/", False),
        ("https://example.com/\nSet-Cookie", False),
        ("https://example.com/\u200fx", False),
        ("https://[::1/", False),  # unbalanced bracket: urlsplit raises
        ("https://example.com/" + "a" * 3000, False),
        ("", False),
        (None, False),
    ],
)
def test_link_url_lets_only_http_links_become_buttons(url: str | None, usable: bool) -> None:
    assert link_url(url) == (url if usable else None)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    settings = Settings(token=TOKEN, db_path=tmp_path / "bot.db", seeds=SEEDS)
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        yield Bot(app, request)


def store_of(bot: Bot) -> Store:
    store: Store = bot.app.bot_data["store"]
    return store


async def test_article_view_links_to_the_original(bot: Bot) -> None:
    store = store_of(bot)
    article = await doc_id(store)
    await set_origin(store, article, URL, PUBLISHED)
    calls = sends(await bot.send(bot.user.text(f"/start doc_{article}")))
    assert "نُشر في 30 نوفمبر 2026" in calls[0]["text"]
    assert url_buttons(calls[-1]) == [("🔗 المقال في مصدره", URL)]
    # The "full article" button of a search card opens the same first part, with its link.
    [result] = sends(await bot.send(bot.user.text("مركز مراقبة واتصالات")))
    data = result["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data == f"a:{article}:0"
    calls = sends(await bot.send(bot.user.press(result["_result"], data)))
    assert url_buttons(calls[-1]) == [("🔗 المقال في مصدره", URL)]


async def test_article_from_a_file_has_no_link_button(bot: Bot) -> None:
    calls = sends(await bot.send(bot.user.text(f"/start doc_{KEY}")))
    assert calls and not any(url_buttons(c) for c in calls)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "https://exa mple.com/x", "ftp://x.org/"])
async def test_a_bad_url_gives_no_button_and_the_article_still_arrives(bot: Bot, bad: str) -> None:
    store = store_of(bot)
    article = await doc_id(store)
    await set_origin(store, article, bad, None)
    calls = sends(await bot.send(bot.user.text(f"/start doc_{article}")))
    assert calls and "خلال عملية تحرير مدينة دير الزور" in calls[0]["text"]
    assert not any(url_buttons(c) for c in calls)


async def test_cards_show_the_date_in_the_readers_language(bot: Bot) -> None:
    store = store_of(bot)
    for doc in await store.latest(10):
        await set_origin(store, doc.id, f"https://example.com/{doc.id}", PUBLISHED)
    [arabic] = sends(await bot.send(bot.user.text("مركز مراقبة واتصالات")))
    assert arabic["text"].count("30 نوفمبر 2026") == 3  # each of the three cards
    [english] = sends(await bot.send(bot.user.text("Peskov street fighting")))
    assert "2026-11-30" in english["text"] and "نوفمبر" not in english["text"]
    [preview] = sends(await bot.send(bot.user.text("/subscribe كاليبر")))
    assert "مثال مما كان سيصلك" in preview["text"] and "30 نوفمبر 2026" in preview["text"]
    calls = await bot.send(bot.user.inline("كاليبر"))
    [answer] = [c for c in calls if c["method"] == "answerInlineQuery"]
    text = answer["results"][0]["input_message_content"]["message_text"]
    assert "30 نوفمبر 2026" in text and 'href="https://example.com/' in text


async def test_cards_without_a_date_stay_as_they_were(bot: Bot) -> None:
    [call] = sends(await bot.send(bot.user.text("مركز مراقبة واتصالات")))
    assert "نوفمبر" not in call["text"] and " · " not in call["text"]


async def test_alert_for_a_web_article_has_its_date_and_link(store: Store, tmp_path: Path) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "الرقة")
    await ingest(store, tmp_path)
    [new] = await store.latest(1)
    await set_origin(store, new.id, URL, PUBLISHED)
    assert await run_tick(store, Settings(), NOW) == 1
    [alert] = await store.claim_due(NOW, 10)
    assert "30 نوفمبر 2026" in alert.text
    assert url_buttons({"reply_markup": alert.reply_markup}) == [("🔗 المقال في مصدره", URL)]


def test_alert_markup_follows_the_url_of_the_document() -> None:
    # Alerts are rendered once per audience and their markup cached: the url is part of the key.
    match = AlertMatch("en", 424242, "Title", None, ("Raqqa",), "Raqqa passage")
    _, plain = alert_message(match)
    _, linked = alert_message(AlertMatch(**{**match.__dict__, "url": URL}))
    assert url_buttons({"reply_markup": plain}) == []
    assert url_buttons({"reply_markup": linked}) == [("🔗 Original article", URL)]


def test_digest_items_show_their_date_within_the_limit() -> None:
    chat_ = Chat(1, "private", "ar", "UTC", "08:00", None, None, True, "")
    items = [
        DigestItem(n, "عنوان " * 30, "عنب بلدي", "الرقة " * 200, 1, URL, PUBLISHED)
        for n in range(1, 11)
    ]
    rendered = digest_message(chat_, items, ("الرقة",))
    assert rendered is not None
    text, _ = rendered
    assert "<i>عنب بلدي</i> · 30 نوفمبر 2026" in text
    assert utf16_len(text) <= MESSAGE_LIMIT


@pytest.fixture
async def empty_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    settings = Settings(token=TOKEN, db_path=tmp_path / "empty.db", seeds=tmp_path / "no-seeds")
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        yield Bot(app, request)


async def test_latest_on_an_empty_archive_says_how_to_fill_it(empty_bot: Bot) -> None:
    [call] = sends(await empty_bot.send(empty_bot.user.text("/latest")))
    assert "furat ingest PATH" in call["text"] and "furat feeds add URL" in call["text"]
    english = User(empty_bot.app.bot, user_id=7, chat_id=7, language_code="en")
    [call] = sends(await empty_bot.send(english.text("/latest")))
    assert call["text"].startswith("The archive is empty.")


async def test_run_logs_how_to_fill_an_empty_archive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    for seeds, hint in ((tmp_path / "none", True), (SEEDS, False)):
        settings = Settings(token=TOKEN, db_path=tmp_path / f"{hint}.db", seeds=seeds)
        caplog.clear()
        async with running(build_application(settings, LoopbackRequest())):
            pass
        said = [r.getMessage() for r in caplog.records if "furat feeds add URL" in r.getMessage()]
        assert len(said) == hint, said
        assert all("furat ingest PATH" in line for line in said)


async def test_console_says_how_to_fill_an_empty_archive(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(db_path=tmp_path / "c.db", seeds=tmp_path / "none")
    assert await chat(settings, io.StringIO("/quit\n"), out) == 0
    assert "The archive is empty." in out.getvalue() and "furat ingest PATH" in out.getvalue()
    out = io.StringIO()
    settings = Settings(db_path=tmp_path / "s.db", seeds=SEEDS)
    assert await chat(settings, io.StringIO("/quit\n"), out) == 0
    assert "archive is empty" not in out.getvalue()


async def test_console_shows_the_link_button_as_an_address(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = await open_store(db, seeds=SEEDS)
    try:
        article = await doc_id(store)
        await set_origin(store, article, URL, PUBLISHED)
    finally:
        await store.close()
    out = io.StringIO()
    settings = Settings(db_path=db, seeds=SEEDS)
    assert await chat(settings, io.StringIO(f"/start doc_{article}\n/quit\n"), out) == 0
    assert f"🔗 المقال في مصدره: {URL}" in out.getvalue()


def test_search_json_has_url_and_published(tmp_path: Path) -> None:
    db = tmp_path / "f.db"

    async def prepare() -> None:
        store = await open_store(db, seeds=SEEDS)
        try:
            await set_origin(store, await doc_id(store), URL, PUBLISHED)
        finally:
            await store.close()

    asyncio.run(prepare())
    proc = furat(["search", "--json", "--limit", "3", "مركز مراقبة واتصالات"], db)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert (results[0]["doc"], results[0]["url"], results[0]["published"]) == (KEY, URL, PUBLISHED)
    for r in results:  # every passage of a document carries its origin; files have none
        origin = (URL, PUBLISHED) if r["doc"] == KEY else (None, None)
        assert (r["url"], r["published"]) == origin


async def test_only_the_first_part_of_a_long_article_carries_the_link(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    paragraphs = [f"الفقرة {i} عن مياه نهر الفرات. " * 40 for i in range(60)]
    (seeds / "long.txt").write_text("مقال طويل عن الفرات\n\n" + "\n\n".join(paragraphs))
    settings = Settings(token=TOKEN, db_path=tmp_path / "bot.db", seeds=seeds)
    request = LoopbackRequest()
    async with running(build_application(settings, request)) as app:
        bot = Bot(app, request)
        [doc] = await store_of(bot).latest(1)
        await set_origin(store_of(bot), doc.id, URL, PUBLISHED)
        first = sends(await bot.send(bot.user.text(f"/start doc_{doc.id}")))
        rows = first[-1]["reply_markup"]["inline_keyboard"]
        assert rows[0][0]["text"] == "تابع القراءة ◀" and rows[1][0]["url"] == URL
        data = rows[0][0]["callback_data"]
        more = sends(await bot.send(bot.user.press(first[-1]["_result"], data)))
        assert more and not any(url_buttons(c) for c in more)


@pytest.mark.parametrize(("excerpt", "noted"), [(False, False), (True, True)])
def test_article_from_a_feed_summary_says_so(excerpt: bool, noted: bool) -> None:
    doc = Document(
        1, "https://a.example/1", "عنوان", "منفذ", "نص المقال.", "", "", "", excerpt=excerpt
    )
    [text], _ = article_part(doc, Lang.AR)
    assert ("ملخص من خلاصة المصدر" in text) is noted
