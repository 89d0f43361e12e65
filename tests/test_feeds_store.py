"""The store's side of feeds: the list, claims, polls recorded, web articles written whole."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.feeds import Feed, FeedExists, PollRecord, PollStatus, WebArticle
from storage.models import Outcome
from storage.store import Store
from tests.conftest import SEEDS

LEASE = timedelta(minutes=10)
TEXT = (
    "أعلنت القوات الحكومية السيطرة على حي الصناعة في مدينة دير الزور بعد اشتباكات عنيفة.\n\n"
    "وقال مصدر عسكري إن وحدات الهندسة بدأت تفكيك الألغام في الحي."
)


def article(entry: str = "g1", **changes: object) -> WebArticle:
    fields: dict[str, object] = {
        "entry": entry,
        "fingerprint": "f1",
        "url": f"https://news.example/{entry}",
        "guid": entry,
        "title": "السيطرة على حي الصناعة",
        "text": TEXT,
        "published": "2026-11-30T08:00:00+00:00",
    }
    fields.update(changes)
    return WebArticle(**fields)  # type: ignore[arg-type]


async def test_feed_list_add_find_remove(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss", "Example")
    with pytest.raises(FeedExists):
        await empty_store.add_feed("https://news.example/rss")
    assert await empty_store.find_feed(str(feed.id)) == feed
    assert await empty_store.find_feed("https://news.example/rss") == feed
    [info] = await empty_store.feeds()
    assert (info.id, info.url, info.name, info.articles, info.errors) == (
        feed.id,
        feed.url,
        "Example",
        0,
        0,
    )
    assert await empty_store.remove_feed(feed.url) == feed
    assert await empty_store.feeds() == []
    assert await empty_store.remove_feed(feed.id) is None


async def test_claims_hold_off_a_second_poller_until_recorded_or_expired(
    empty_store: Store,
) -> None:
    feed = await empty_store.add_feed("https://news.example/rss")
    now = datetime.now(UTC) + timedelta(seconds=1)  # feeds are due from when they are added
    first, second = await asyncio.gather(
        empty_store.claim_feeds(now, LEASE), empty_store.claim_feeds(now, LEASE)
    )
    assert sorted([len(first), len(second)]) == [0, 1]
    assert await empty_store.claim_feeds(now + timedelta(minutes=5), LEASE, due_only=False) == []
    # A poller that died: its claim expires.
    assert await empty_store.claim_feeds(now + LEASE * 2, LEASE) == [feed]
    await empty_store.record_poll(
        feed, PollRecord(PollStatus.OK, now + timedelta(hours=1), etag='"v1"', title="T")
    )
    assert await empty_store.claim_feeds(now + timedelta(minutes=30), LEASE) == []
    assert await empty_store.claim_feeds(now + timedelta(minutes=30), LEASE, due_only=False)


async def test_poll_records_keep_validators_and_count_failures(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss")
    now = datetime.now(UTC)
    await empty_store.record_poll(
        feed,
        PollRecord(PollStatus.OK, now, etag='"v1"', last_modified="Mon, 30 Nov 2026", title="T"),
    )
    for _ in range(2):
        await empty_store.record_poll(feed, PollRecord(PollStatus.ERROR, now, error="HTTP 500"))
    kept = await empty_store.find_feed(feed.id)
    assert kept is not None
    assert (kept.etag, kept.last_modified, kept.errors, kept.name) == (
        '"v1"',
        "Mon, 30 Nov 2026",
        2,
        "T",
    )
    [info] = await empty_store.feeds()
    assert (info.last_status, info.last_error) == ("error", "HTTP 500")
    await empty_store.record_poll(feed, PollRecord(PollStatus.NOT_MODIFIED, now))
    kept = await empty_store.find_feed(feed.id)
    assert kept is not None and (kept.errors, kept.etag) == (0, '"v1"')


async def test_article_added_then_unchanged_then_replaced(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss", "Example")
    assert await empty_store.save_article(feed, article(), "Example") is Outcome.ADDED
    [hit] = await empty_store.search("تفكيك الألغام")
    assert (hit.url, hit.published, hit.outlet) == (
        "https://news.example/g1",
        "2026-11-30T08:00:00+00:00",
        "Example",
    )
    assert await empty_store.save_article(feed, article(), "Example") is Outcome.UNCHANGED
    changed = article(fingerprint="f2", text=TEXT.replace("الألغام", "العبوات الناسفة"))
    assert await empty_store.save_article(feed, changed, "Example") is Outcome.UPDATED
    assert all("الألغام" not in h.passage for h in await empty_store.search("تفكيك الألغام"))
    assert [h.doc_id for h in await empty_store.search("العبوات الناسفة")] == [hit.doc_id]
    assert await empty_store.document_count() == 1
    assert await empty_store.seen_entries(feed.id, ["g1", "g2"]) == {"g1": "f2"}
    [info] = await empty_store.feeds()
    assert info.articles == 1


async def test_web_article_keeps_its_datelines_agency(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss", "Example")
    wire = article(text="دمشق - سانا - " + TEXT)
    assert await empty_store.save_article(feed, wire, "Example") is Outcome.ADDED
    [hit] = await empty_store.search("تفكيك الألغام")
    assert (hit.outlet, hit.agency) == ("Example", "سانا")
    # Replaced by a text without a dateline, the agency goes with it.
    plain = article(fingerprint="f2", text=TEXT)
    assert await empty_store.save_article(feed, plain, "Example") is Outcome.UPDATED
    [hit] = await empty_store.search("تفكيك الألغام")
    assert hit.agency is None


async def test_same_article_in_two_feeds_is_one_document(empty_store: Store) -> None:
    one = await empty_store.add_feed("https://news.example/rss")
    two = await empty_store.add_feed("https://news.example/atom")
    assert await empty_store.save_article(one, article(), "Example") is Outcome.ADDED
    # The other feed names it by its link only.
    same = article(entry="https://news.example/g1", guid=None, url="https://news.example/g1")
    assert await empty_store.save_article(two, same, "Example") is Outcome.UNCHANGED
    assert await empty_store.document_count() == 1
    assert [f.articles for f in await empty_store.feeds()] == [1, 1]
    assert await empty_store.known_article(None, "https://news.example/g1") is not None


async def test_removing_a_feed_keeps_its_articles(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss")
    await empty_store.save_article(feed, article(), "Example")
    await empty_store.remove_feed(feed.id)
    assert await empty_store.document_count() == 1
    assert await empty_store.search("تفكيك الألغام")


async def test_web_articles_take_new_ids_and_survive_a_folder_ingest(store: Store) -> None:
    before = await store.document_count()
    feed = await store.add_feed("https://news.example/rss")
    await store.save_article(feed, article(excerpt=True), "Example")
    doc = await store.document("https://news.example/g1")
    assert doc is not None and doc.id > before and doc.url == "https://news.example/g1"
    # Ingesting the seed folder again removes the documents whose file is gone: not this one.
    await store.ingest([SEEDS])
    assert await store.document(doc.id) is not None


async def test_an_article_with_no_text_gives_no_document(empty_store: Store) -> None:
    feed: Feed = await empty_store.add_feed("https://news.example/rss")
    assert await empty_store.save_article(feed, article(text="", title=""), "X") is Outcome.FAILED
    assert await empty_store.document_count() == 0
    assert await empty_store.seen_entries(feed.id, ["g1"]) == {"g1": "f1"}


async def test_names_and_headlines_from_the_web_are_clipped(empty_store: Store) -> None:
    feed = await empty_store.add_feed("https://news.example/rss", "اسم " * 200)
    assert feed.name is not None and len(feed.name) <= 100 and feed.name.endswith("…")
    await empty_store.save_article(feed, article(title="عنوان " * 500), "X")
    doc = await empty_store.document("https://news.example/g1")
    assert doc is not None and len(doc.title) <= 300


async def test_two_feeds_filing_one_article_at_once_make_one_document(empty_store: Store) -> None:
    one = await empty_store.add_feed("https://news.example/rss")
    two = await empty_store.add_feed("https://mirror.example/rss")
    outcomes = await asyncio.gather(
        empty_store.save_article(one, article(), "Example"),
        empty_store.save_article(two, article(), "Mirror"),
    )
    assert sorted(outcomes) == sorted([Outcome.ADDED, Outcome.UNCHANGED])
    assert await empty_store.document_count() == 1
