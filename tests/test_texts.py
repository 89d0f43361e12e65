"""Reply language, plurals and lists in both languages, and the plain CLI listing."""

from __future__ import annotations

import pytest

from bot.cli import _print_listing
from handlers import inline
from handlers.render import alert_message, digest_message, finish, utf16_len
from handlers.texts import TEXTS, Lang, counted, lang_of
from search.lexicon import load_lexicon
from search.query import only_stopwords
from search.results import SearchHit
from search.snippets import MARK_SCAN, mark, matched_spans
from storage.models import Chat
from storage.pushes import AlertMatch, DigestItem


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        ("الرقة", Lang.AR),
        ("Raqqa", Lang.EN),
        ("<b>الرقة</b>", Lang.AR),
        ('<span class="highlight">الرقة</span>', Lang.AR),
        ("https://example.com/news/raqqa-offensive الرقة", Lang.AR),
        ("@furat_bot الرقة", Lang.AR),
        ("&quot;الرقة&quot;", Lang.AR),
        ("<b>Raqqa</b> الرقة", Lang.AR),
        ("Raqqa offensive الرقة", Lang.EN),
        # Inputs that would make a backtracking pattern take seconds (one did: 22 s).
        ("@" * 4096, Lang.AR),
        ("a@" * 2048, Lang.EN),
        ("a@b." * 1024, Lang.EN),
        ("<" * 4096, Lang.AR),
    ],
)
def test_reply_language_ignores_markup_links_and_mentions(query: str, lang: Lang) -> None:
    assert lang_of(None, query) is lang


@pytest.mark.parametrize(
    ("lang", "n", "text"),
    [
        (Lang.EN, 1, "1 new article"),
        (Lang.EN, 2, "2 new articles"),
        (Lang.EN, 10, "10 new articles"),
        (Lang.AR, 1, "مقال جديد واحد"),
        (Lang.AR, 2, "مقالان جديدان"),
        (Lang.AR, 3, "3 مقالات جديدة"),
        (Lang.AR, 10, "10 مقالات جديدة"),
        (Lang.AR, 11, "11 مقالاً جديداً"),
        (Lang.AR, 100, "100 مقال جديد"),
        (Lang.AR, 103, "103 مقالات جديدة"),
    ],
)
def test_counted_articles(lang: Lang, n: int, text: str) -> None:
    assert counted(lang, "new_articles", n) == text


def test_english_help_names_the_button_it_shows() -> None:
    help_en = TEXTS["help"][Lang.EN]
    assert TEXTS["next"][Lang.EN] in help_en and "Next ◀" not in help_en
    assert TEXTS["next"][Lang.AR] in TEXTS["help"][Lang.AR]


@pytest.mark.parametrize("lang", list(Lang))
def test_help_mentions_subscriptions(lang: Lang) -> None:
    for command in ("/subscribe", "/subscriptions", "/digest", "/quiet", "/timezone"):
        assert command in TEXTS["help"][lang]


@pytest.mark.parametrize("lang", list(Lang))
def test_flood_warning_says_messages_were_dropped(lang: Lang) -> None:
    text = TEXTS["slow_down"][lang]
    assert ("dropped" in text and "again" in text) if lang is Lang.EN else "أعد إرسال" in text
    assert "will answer" not in text and "سأجيب" not in text


def _chat(lang: str) -> Chat:
    return Chat(1, "private", lang, "UTC", "08:00", None, None, True, "2026-01-01T00:00:00Z")


def test_english_digest_of_one_article_is_singular() -> None:
    item = DigestItem(1, "Title", None, "الرقة", 1)
    rendered = digest_message(_chat("en"), [item], ("الرقة",))
    assert rendered is not None and "1 new article\n" in rendered[0] + "\n"
    assert "articles" not in rendered[0].split("\n")[0]


@pytest.mark.parametrize(("lang", "comma", "other"), [("en", ", ", "،"), ("ar", "، ", ", ")])
def test_alert_topics_use_the_language_comma(lang: str, comma: str, other: str) -> None:
    match = AlertMatch(lang, 1, "T", None, ("الرقة", "دير الزور"), "الرقة و دير الزور")
    text = alert_message(match)[0]
    topics = next(line for line in text.split("\n") if "الرقة" in line and "دير" in line)
    assert comma in topics and other not in topics


@pytest.mark.parametrize(
    ("query", "alone"),
    [
        ("كيف", True),
        ("ما هو", True),
        ("كيف؟ ما هو", True),
        ("how", True),
        ("كيف الرقة", False),
        ("", False),
        ("كثيف", False),
    ],
)
def test_only_stopwords(query: str, alone: bool) -> None:
    assert only_stopwords(query, load_lexicon()) is alone


@pytest.mark.parametrize(
    ("text", "terms", "marked"),
    [
        ("الدولة الإسلامية في العراق", {"الدوله", "الاسلاميه", "في", "العراق"}, 3),
        ("قتلى في الرقة", {"في", "الرقه"}, 1),
        ("من في البيت", {"من", "في"}, 0),
    ],
)
def test_stopwords_are_not_highlighted(text: str, terms: set[str], marked: int) -> None:
    spans = matched_spans(text, terms)
    assert len(spans) == marked
    assert "<b>في</b>" not in mark(text, spans)


def test_plain_listing_prints_text_not_html(capsys: pytest.CaptureFixture[str]) -> None:
    text = 'قال "المرصد" إن <داعش> & الرقة'
    start = text.index("الرقة")
    snippet = mark(text, [(start, start + len("الرقة"))])
    hit = SearchHit(1, "doc", "T", None, "", 0, 1.0, snippet)
    _print_listing("الرقة", [hit])
    out = capsys.readouterr().out
    assert '"المرصد"' in out and "<داعش> & *الرقة*" in out
    assert "&quot;" not in out and "&lt;" not in out and "&amp;" not in out


def test_marking_a_huge_passage_reads_only_its_start() -> None:
    passage = "قصف على الرقة و " * 400_000  # one 6 MB "sentence", as ingest may keep it
    spans = matched_spans(passage, {"الرقه"})
    assert spans and all(end <= MARK_SCAN for _, end in spans)
    assert "<b>الرقة</b>" in mark(passage, spans, width=320)


def test_inline_passage_is_shortened_without_escaping_megabytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    escaped = [0]
    escape = inline.html.escape

    def counted(text: str, quote: bool = True) -> str:
        escaped[0] += len(text)
        return escape(text, quote)

    monkeypatch.setattr(inline.html, "escape", counted)
    short = inline._shorten("قصف <على> الرقة " * 400_000, inline.MESSAGE_BUDGET)
    assert utf16_len(escape(short)) <= inline.MESSAGE_BUDGET
    assert escaped[0] <= 20 * inline.MESSAGE_BUDGET


@pytest.mark.parametrize(
    ("text", "sent"),
    [("a\ud800b", "a\ufffdb"), ("\udfff", "\ufffd"), ("😀 ok", "😀 ok"), ("نص", "نص")],
)
def test_replies_carry_no_lone_surrogates(text: str, sent: str) -> None:
    assert finish(text, Lang.EN) == sent
