"""Polling feeds served by a local web server: every case the web throws, each feed on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sources.feeds import FeedEntry
from sources.fetch import Fetcher, FetchLimits
from sources.poll import PollPolicy, PollResult, _guid, poll_feeds
from sources.urls import AddressPolicy
from storage.feeds import Feed, PollStatus
from storage.store import Store
from tests.web.fixtures import (
    FURNITURE,
    Article,
    article_page,
    article_path,
    atom_feed,
    malformed_feed,
    rss_feed,
    seed_articles,
)
from tests.web.server import WebServer, serve

POLICY = PollPolicy(interval=timedelta(minutes=15))
LIMITS = FetchLimits(timeout_s=1.5, max_bytes=200_000)


def now() -> datetime:
    # Feeds are due from when they are added; the store keeps instants to the millisecond.
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as server:
        yield server


@pytest.fixture
def private() -> Iterator[WebServer]:
    """A second server, on an address the fetcher must treat as private."""
    with serve(host="127.0.0.2") as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # 127.0.0.1 plays the public web; every other private address stays refused.
    async with Fetcher(LIMITS, AddressPolicy(public_override=frozenset({"127.0.0.1"}))) as f:
        yield f


def publish(web: WebServer, articles: list[Article]) -> None:
    for article in articles:
        web.add(article_path(article), article_page(article), content_type="text/html")


async def poll_all(store: Store, fetcher: Fetcher) -> list[PollResult]:
    """Read every feed now, due or not."""
    return await poll_feeds(store, fetcher, POLICY, now(), due_only=False)


async def test_rss_feed_files_each_article_with_its_link_date_and_outlet(
    empty_store: Store, web: WebServer, fetcher: Fetcher
) -> None:
    articles = seed_articles()[:3]
    publish(web, articles)
    web.add("/rss.xml", rss_feed(articles, web.url("")), content_type="application/rss+xml")
    feed = await empty_store.add_feed(web.url("/rss.xml"), "فرات")
    [result] = await poll_all(empty_store, fetcher)
    assert (result.status, result.new, result.updated, result.error) == (PollStatus.OK, 3, 0, None)
    first = articles[0]
    [hit, *_] = await empty_store.search(first.paragraphs[1])
    # The link lost its utm_* parameters; the date came from the entry.
    assert hit.url == web.url(article_path(first))
    assert hit.published == first.published.isoformat()
    assert hit.outlet == "فرات"
    doc = await empty_store.document(hit.doc_id)
    assert doc is not None
    for paragraph in first.paragraphs:
        assert paragraph in doc.body
    for furniture in FURNITURE:
        assert furniture not in doc.body
    assert doc.title == first.title and not doc.body.startswith(first.title)
    # The feed lists the newest first; the oldest was filed first.
    docs = [await empty_store.document(web.url(article_path(a))) for a in articles]
    ids = [d.id for d in docs if d is not None]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    # Polled again: nothing new, and no page is fetched a second time.
    pages = web.hits[article_path(first)]
    [again] = await poll_all(empty_store, fetcher)
    assert (again.status, again.new, again.updated) == (PollStatus.OK, 0, 0)
    assert web.hits[article_path(first)] == pages
    [info] = await empty_store.feeds()
    assert (info.id, info.articles, info.last_status) == (feed.id, 3, "ok")


async def test_same_articles_in_rss_and_atom_are_one_document_each(
    empty_store: Store, web: WebServer, fetcher: Fetcher
) -> None:
    articles = seed_articles()[:2]
    publish(web, articles)
    web.add("/rss.xml", rss_feed(articles, web.url("")), content_type="application/rss+xml")
    web.add("/atom.xml", atom_feed(articles, web.url("")), content_type="application/atom+xml")
    await empty_store.add_feed(web.url("/rss.xml"))
    await empty_store.add_feed(web.url("/atom.xml"))
    results = await poll_all(empty_store, fetcher)
    assert sum(r.new for r in results) == 2
    assert await empty_store.document_count() == 2
    assert [f.articles for f in await empty_store.feeds()] == [2, 2]


async def test_conditional_get_304_costs_one_request(
    empty_store: Store, web: WebServer, fetcher: Fetcher
) -> None:
    articles = seed_articles()[:1]
    publish(web, articles)
    body = rss_feed(articles, web.url(""))
    web.add("/rss.xml", body, etag='"v1"', last_modified="Mon, 30 Nov 2026 12:00:00 GMT")
    await empty_store.add_feed(web.url("/rss.xml"))
    await poll_all(empty_store, fetcher)
    before = len(web.requests)
    [result] = await poll_all(empty_store, fetcher)
    assert result.status is PollStatus.NOT_MODIFIED
    assert len(web.requests) == before + 1
    path, headers = web.requests[-1]
    assert (path, headers.get("if-none-match")) == ("/rss.xml", '"v1"')


async def test_legacy_encoded_page_declared_only_in_meta(
    empty_store: Store, web: WebServer, fetcher: Fetcher
) -> None:
    article = seed_articles()[0].encodable("cp1256")
    web.add(
        article_path(article),
        article_page(article, encoding="cp1256"),
        content_type="text/html",  # no charset in HTTP: only the page's <meta> says
    )
    web.add("/rss.xml", rss_feed([article], web.url("")))
    await empty_store.add_feed(web.url("/rss.xml"))
    [result] = await poll_all(empty_store, fetcher)
    assert result.new == 1
    [hit, *_] = await empty_store.search(article.paragraphs[-1])
    doc = await empty_store.document(hit.doc_id)
    assert doc is not None and article.paragraphs[-1] in doc.body


async def test_every_failure_is_reported_and_blocks_no_other_feed(
    empty_store: Store, web: WebServer, private: WebServer, fetcher: Fetcher
) -> None:
    articles = seed_articles()
    good, missing = articles[0], articles[1]
    publish(web, [good])
    web.status(article_path(missing), 404)  # its entry's summary stands in
    base = web.url("")
    web.add("/good.xml", rss_feed([good, missing], base))
    web.status("/error.xml", 500)
    web.status("/busy.xml", 429, headers={"Retry-After": "7200"})
    web.add("/malformed.xml", malformed_feed([articles[2]], base))
    web.add("/not-a-feed.xml", b"<html><body><p>hello</p></body></html>")
    web.never_ending("/never.xml", b'<?xml version="1.0"?><rss version="2.0"><channel>')
    web.slow("/slow.xml", delay=5)
    web.redirect("/loop.xml", "/loop.xml")
    web.redirect("/private.xml", private.url("/secret.xml"))
    private.add("/secret.xml", rss_feed([good], base))
    web.endless("/endless.xml")
    names = [
        "good", "error", "busy", "malformed", "not-a-feed", "never", "slow", "loop",
        "private", "endless",
    ]  # fmt: skip
    for name in names:
        await empty_store.add_feed(web.url(f"/{name}.xml"), name)
    started = now()
    results = {
        r.url.rsplit("/", 1)[-1].removesuffix(".xml"): r
        for r in await poll_feeds(empty_store, fetcher, POLICY, started, due_only=False)
    }
    assert set(results) == set(names)
    ok = {n for n, r in results.items() if r.status is PollStatus.OK}
    assert ok == {"good", "malformed"}
    assert (results["good"].new, results["malformed"].new) == (2, 1)
    errors = {n: (r.error or "") for n, r in results.items() if n not in ok}
    assert "500" in errors["error"]
    assert "429" in errors["busy"]
    assert errors["never"] and errors["slow"]
    assert "redirect" in errors["loop"]
    assert "127.0.0.2" in errors["private"]
    assert private.hits["/secret.xml"] == 0  # refused before connecting
    assert "5" in errors["endless"] or "large" in errors["endless"]
    # The missing page: its entry's summary was filed, marked as an excerpt.
    doc = await empty_store.document(web.url(article_path(missing)))
    assert doc is not None and missing.paragraphs[0] in doc.body and doc.excerpt
    page = await empty_store.document(web.url(article_path(good)))
    assert page is not None and not page.excerpt
    # Failures rest longer; the server's Retry-After is honoured.
    feeds = {f.name: f for f in await empty_store.feeds()}
    assert feeds["error"].errors == 1 and feeds["good"].errors == 0
    due = {n: datetime.fromisoformat(f.next_poll) - started for n, f in feeds.items()}
    assert due["good"] == POLICY.interval
    assert due["error"] == POLICY.interval * 2
    assert due["busy"] >= timedelta(hours=2)
    # Nothing is due again before its time.
    assert await poll_feeds(empty_store, fetcher, POLICY, started + timedelta(minutes=1)) == []


@pytest.mark.parametrize(
    ("errors", "retry_after", "rest"),
    [
        (1, None, timedelta(minutes=30)),
        (2, None, timedelta(hours=1)),
        (5, None, timedelta(hours=6)),
        (40, None, timedelta(hours=6)),
        (1, 3 * 3600.0, timedelta(hours=3)),
        (1, 10**9, timedelta(days=1)),
    ],
)
def test_backoff_doubles_is_capped_and_honours_retry_after(
    errors: int, retry_after: float | None, rest: timedelta
) -> None:
    assert POLICY.after_failure(errors, retry_after) == rest


@pytest.mark.parametrize(
    ("entry_id", "link", "guid"),
    [
        ("https://a.example/1", "https://a.example/1", None),  # no GUID: known by its link
        ("urn:uuid:1234", "https://a.example/1", "urn:uuid:1234"),
        ("tag:a.example,2026:1", None, "tag:a.example,2026:1"),
        ("1234", "https://a.example/1", "feeds.example#1234"),  # numbers: per outlet
    ],
)
def test_documents_are_known_by_guids_unique_across_outlets(
    entry_id: str, link: str | None, guid: str | None
) -> None:
    entry = FeedEntry(entry_id, link, "t", "", "", None, "f")
    feed = Feed(1, "https://feeds.example/rss", None, None, None, 0)
    assert _guid(entry, feed) == guid


async def test_a_changed_entry_replaces_its_document(
    empty_store: Store, web: WebServer, fetcher: Fetcher
) -> None:
    [article] = seed_articles()[:1]
    publish(web, [article])
    web.add("/rss.xml", rss_feed([article], web.url("")))
    await empty_store.add_feed(web.url("/rss.xml"))
    await poll_all(empty_store, fetcher)
    url = web.url(article_path(article))
    before = await empty_store.document(url)
    # The outlet corrects the story: a new headline in the feed, a new paragraph on the page.
    fixed = replace(article, title=article.title + " (محدّث)", paragraphs=article.paragraphs[1:])
    publish(web, [fixed])
    web.add("/rss.xml", rss_feed([fixed], web.url("")))
    [result] = await poll_all(empty_store, fetcher)
    assert (result.new, result.updated) == (0, 1)
    after = await empty_store.document(url)
    assert before is not None and after is not None and after.id == before.id
    assert after.title == fixed.title and article.paragraphs[0] not in after.body
    assert await empty_store.document_count() == 1
