"""Feed parsing: RSS and Atom from the seeds, plain text, canonical links, UTC dates, errors."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest

from sources.feeds import FeedError, parse_feed
from tests.web.fixtures import (
    GARBAGE,
    NOT_A_FEED,
    article_path,
    atom_feed,
    malformed_feed,
    rss_feed,
    seed_articles,
)

BASE = "https://news.example"


def test_rss_entries_from_the_seeds() -> None:
    articles = seed_articles()
    feed = parse_feed(rss_feed(articles, BASE), BASE + "/rss.xml")
    assert feed.title == "أخبار فرات"
    assert len(feed.entries) == len(articles) == 5
    for entry, article in zip(feed.entries, articles, strict=True):
        assert entry.id == f"furat-test-{article.slug}"
        assert entry.link == BASE + article_path(article)  # utm_* gone
        assert entry.title == article.title
        assert entry.summary == article.paragraphs[0]  # HTML stripped
        assert entry.content == ""
        assert entry.published == article.published.isoformat()


def test_atom_relative_links_content_paragraphs_and_dates() -> None:
    articles = seed_articles()
    feed = parse_feed(atom_feed(articles, BASE), BASE + "/atom.xml")
    entry, article = feed.entries[1], articles[1]
    assert entry.id == f"urn:furat:{article.slug}"
    assert entry.link == BASE + article_path(article)
    assert entry.content.split("\n\n") == list(article.paragraphs)
    assert entry.summary == article.paragraphs[0]
    assert entry.published == "2026-11-30T11:00:00+00:00"


def test_relative_link_resolves_against_the_feed_url() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>../news/1.html?utm_campaign=x#c</link></item></channel></rss>"""
    entry = parse_feed(body, "https://Site.example/feeds/rss.xml").entries[0]
    assert entry.link == "https://site.example/news/1.html"
    assert entry.id == entry.link  # no guid: known by its canonical link


@pytest.mark.parametrize(
    ("date_tags", "published"),
    [
        ("<pubDate>Mon, 30 Nov 2026 14:00:00 +0200</pubDate>", "2026-11-30T12:00:00+00:00"),
        ("<pubDate>Mon, 30 Nov 2026 12:00:00 GMT</pubDate>", "2026-11-30T12:00:00+00:00"),
        ("<dc:date>2026-11-30T15:30:00+03:00</dc:date>", "2026-11-30T12:30:00+00:00"),
        ("<pubDate>not a date</pubDate>", None),
        ("", None),
    ],
)
def test_published_is_utc_iso(date_tags: str, published: str | None) -> None:
    body = f"""<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<item><title>a</title><guid>g1</guid>{date_tags}</item></channel></rss>""".encode()
    assert parse_feed(body, BASE).entries[0].published == published


def test_fingerprint_changes_only_when_the_entry_does() -> None:
    articles = seed_articles()
    before = parse_feed(rss_feed(articles, BASE), BASE).entries
    again = parse_feed(rss_feed(articles, BASE), BASE).entries
    fixed = replace(articles[0], paragraphs=("تصحيح: " + articles[0].paragraphs[0],))
    edited = [fixed, *articles[1:]]
    after = parse_feed(rss_feed(edited, BASE), BASE).entries
    assert [e.fingerprint for e in before] == [e.fingerprint for e in again]
    assert before[0].id == after[0].id
    assert before[0].fingerprint != after[0].fingerprint
    assert [e.fingerprint for e in before[1:]] == [e.fingerprint for e in after[1:]]


def test_malformed_feed_still_yields_its_entries() -> None:
    body = malformed_feed(seed_articles(), BASE)
    assert feedparser.parse(io.BytesIO(body)).bozo  # the fixture really is malformed
    feed = parse_feed(body, BASE)
    assert [e.id for e in feed.entries] == [f"furat-test-article-{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (NOT_A_FEED, "not a feed"),
        (GARBAGE, "not a feed"),
        (b"", "not a feed"),
        (b'<rss version="2.0"><channel><title>t</title></channel></rss>', "feed has no entries"),
    ],
)
def test_feed_without_entries_is_an_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(body, BASE)
    assert caught.value.reason.startswith(reason)
    assert "\n" not in caught.value.reason


def test_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    """feedparser opens a bytes argument as a file name; a response must never be one."""
    local = tmp_path / "feed.xml"
    local.write_bytes(rss_feed(seed_articles(), BASE))
    with pytest.raises(FeedError):
        parse_feed(str(local).encode(), BASE)


@pytest.mark.parametrize(
    ("encoding", "prolog", "charset"),
    [
        ("cp1256", '<?xml version="1.0" encoding="windows-1256"?>', None),
        ("iso8859_6", '<?xml version="1.0" encoding="ISO-8859-6"?>', None),
        ("cp1256", "", "windows-1256"),
        ("cp1256", "", None),
        ("iso8859_6", '<?xml version="1.0"?>', None),
        ("utf-8", "", None),
    ],
)
def test_legacy_encoded_feed(encoding: str, prolog: str, charset: str | None) -> None:
    article = seed_articles()[1].encodable(encoding)
    body = f"""{prolog}<rss version="2.0"><channel><title>أخبار</title>
<item><title>{article.title}</title><guid>g</guid>
<description>{article.paragraphs[0]}</description></item></channel></rss>""".encode(encoding)
    feed = parse_feed(body, BASE, charset=charset)
    assert feed.title == "أخبار"
    assert feed.entries[0].title == article.title
    assert feed.entries[0].summary == article.paragraphs[0]


def test_html_in_summary_becomes_paragraphs_without_script() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title><item><guid>g</guid><title>a</title>
<description>&lt;p&gt;first &lt;b&gt;bold&lt;/b&gt;&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;
&lt;p&gt;second&lt;br&gt;line &amp;amp; more&lt;/p&gt;</description></item></channel></rss>"""
    assert parse_feed(body, BASE).entries[0].summary == "first bold\n\nsecond\n\nline & more"
