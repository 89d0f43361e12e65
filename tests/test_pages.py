"""Pages: decoding as Arabic sites encode, and article text without the page furniture."""

from __future__ import annotations

import codecs
import socket
from collections.abc import Iterator

import pytest

from sources.fetch import Fetcher, FetchLimits
from sources.pages import extract_article
from sources.text import codec_name, declared_charset, decode_html, html_to_text
from sources.urls import AddressPolicy
from tests.web.fixtures import FURNITURE, Article, article_page, seed_articles
from tests.web.server import WebServer, serve

ARTICLES = seed_articles()
ARABIC = "مرحبا بكم في نشرة الأخبار العربية اليوم من دير الزور والرقة"


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as server:
        yield server


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_furnished_page_gives_the_article_and_none_of_the_furniture(article: Article) -> None:
    page = extract_article(article_page(article).decode(), "https://news.example/a.html")
    assert page is not None
    assert page.title == article.title
    assert page.text.split("\n\n") == list(article.paragraphs)
    assert [f for f in FURNITURE if f in page.text] == []
    assert page.published == article.published.isoformat()


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_text_alone_leaves_the_furniture_out_too(article: Article) -> None:
    page = extract_article(article_page(article).decode(), "https://a.example/", metadata=False)
    assert page is not None and (page.title, page.published) == (None, None)
    # The headline may open the text: the store's cleaning drops it when it repeats the title.
    paragraphs = page.text.split("\n\n")
    assert paragraphs[-len(article.paragraphs) :] == list(article.paragraphs)
    assert paragraphs[: -len(article.paragraphs)] in ([], [article.title])
    assert [f for f in FURNITURE if f in page.text] == []


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body></body></html>",
        "<html><body><nav><ul><li><a href='/'>الرئيسية</a></li></ul></nav></body></html>",
    ],
)
def test_page_without_text_is_none(html: str) -> None:
    assert extract_article(html, "https://news.example/") is None


@pytest.mark.parametrize("encoding", ["cp1256", "iso8859_6"])
@pytest.mark.parametrize("declare", ["meta", "http-equiv", "none"])
def test_legacy_arabic_pages_decode_without_mojibake(encoding: str, declare: str) -> None:
    article = ARTICLES[4].encodable(encoding)
    text = decode_html(article_page(article, encoding=encoding, declare=declare))
    page = extract_article(text, "https://news.example/a.html")
    assert page is not None
    assert page.title == article.title
    assert page.text.split("\n\n") == list(article.paragraphs)


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        (ARABIC.encode("cp1256"), "windows-1256", ARABIC),
        (ARABIC.encode("cp1256"), "cp1256", ARABIC),
        (ARABIC.encode("iso8859_6"), "ISO_8859-6", ARABIC),
        (ARABIC.encode("iso8859_6"), "iso-8859-6", ARABIC),
        # The HTTP charset outranks the document's own declaration.
        (b'<meta charset="windows-1256">' + ARABIC.encode("iso8859_6"), "iso-8859-6", None),
        # A declaration the bytes contradict (UTF-8 declared, windows-1256 sent) falls through.
        (ARABIC.encode("cp1256"), "utf-8", ARABIC),
        (ARABIC.encode("cp1256"), "no-such-charset", ARABIC),
        (b'<meta charset="windows-1256">' + ARABIC.encode("cp1256"), None, None),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-6">'
            + ARABIC.encode("iso8859_6"),
            None,
            None,
        ),
        (b'<?xml version="1.0" encoding="cp1256"?><rss>' + ARABIC.encode("cp1256"), None, None),
        (codecs.BOM_UTF8 + ARABIC.encode(), "windows-1256", ARABIC),
        (codecs.BOM_UTF16_LE + ARABIC.encode("utf-16-le"), None, ARABIC),
        (ARABIC.encode(), None, ARABIC),
        (ARABIC.encode("cp1256"), None, ARABIC),
        (ARABIC.encode("iso8859_6"), None, ARABIC),
    ],
)
def test_decode_html(body: bytes, charset: str | None, expected: str | None) -> None:
    text = decode_html(body, charset)
    assert ARABIC in text
    if expected is not None:
        assert text == expected


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("windows-1256", "cp1256"),
        ("CP1256", "cp1256"),
        ("iso-8859-6", "iso8859-6"),
        ("ISO_8859-6", "iso8859-6"),
        ("UTF8", "utf-8"),
        ("iso-8859-1", "cp1252"),
        ("x-unknown", None),
        ("", None),
        (None, None),
    ],
)
def test_codec_name(label: str | None, codec: str | None) -> None:
    assert codec_name(label) == codec


@pytest.mark.parametrize(
    ("head", "charset"),
    [
        (b'<?xml version="1.0" encoding="ISO-8859-6"?><rss/>', "ISO-8859-6"),
        (b"<html><head><META CHARSET=windows-1256>", "windows-1256"),
        (b'<meta http-equiv="content-type" content="text/html; charset=cp1256" />', "cp1256"),
        (b"<html><body>" + b" " * 5000 + b'<meta charset="cp1256">', None),
        (b"<html><body>no declaration", None),
    ],
)
def test_declared_charset(head: bytes, charset: str | None) -> None:
    assert declared_charset(head) == charset


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("نص عادي", "نص عادي"),
        ("<p>أول <b>سطر</b></p><p>ثاني</p>", "أول سطر\n\nثاني"),
        ("سطر<br>وسطر<br/>", "سطر\n\nوسطر"),
        ("<ul><li>أ</li><li>ب</li></ul>", "أ\n\nب"),
        ("<p>x</p><script>var a = 1;</script><style>p{}</style>", "x"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


async def test_served_windows_1256_page_without_http_charset(web: WebServer) -> None:
    article = ARTICLES[0].encodable("cp1256")
    body = article_page(article, encoding="cp1256", declare="http-equiv")
    web.add("/a.html", body, content_type="text/html")
    policy = AddressPolicy(public_override=frozenset({"127.0.0.1"}))
    async with Fetcher(FetchLimits(timeout_s=5), policy) as fetcher:
        got = await fetcher.get(web.url("/a.html"))
    assert got.charset is None
    page = extract_article(decode_html(got.body, got.charset), got.url)
    assert page is not None
    assert page.text.split("\n\n") == list(article.paragraphs)


def test_extraction_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("extraction tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    page = extract_article(article_page(ARTICLES[2]).decode(), "https://news.example/a.html")
    assert page is not None
    assert page.text.split("\n\n") == list(ARTICLES[2].paragraphs)
