"""Poll feeds: read each due feed, fetch its new entries' pages, file them as documents."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sources.feeds import FeedEntry, FeedError, ParsedFeed, parse_feed
from sources.fetch import Fetcher, FetchError
from sources.pages import extract_article
from sources.text import decode_html
from sources.urls import UnsafeURL
from storage.feeds import Feed, PollRecord, PollStatus, WebArticle
from storage.models import Outcome
from storage.store import Store

log = logging.getLogger(__name__)
# A feed lists its latest entries; one that lists more is read this far.
MAX_ENTRIES = 200
MAX_RETRY_AFTER = timedelta(days=1)
PAGE_BATCH = 16
# Feeds read at once: fetching outruns extraction, and every page fetched waits in memory
# (500 feeds at once peaked at 400 MiB in the bench).
FEEDS_AT_ONCE = 8


@dataclass(frozen=True)
class PollPolicy:
    """How often feeds are read, and how long a failing feed rests."""

    interval: timedelta = timedelta(seconds=900)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=10)  # a claim left by a dead poller expires

    def after_failure(self, errors: int, retry_after: float | None) -> timedelta:
        """Return the rest after the errors-th failure in a row: doubling, capped."""
        rest = min(self.max_backoff, self.interval * 2 ** min(errors, 32))
        if retry_after:
            rest = max(rest, min(MAX_RETRY_AFTER, timedelta(seconds=retry_after)))
        return rest


@dataclass(frozen=True)
class PollResult:
    """What reading one feed once did."""

    feed: int
    url: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        """Return the line `furat feeds poll --json` prints for this feed."""
        return {
            "feed": self.feed,
            "url": self.url,
            "status": self.status.value,
            "new": self.new,
            "updated": self.updated,
            "error": self.error,
        }


async def poll_feeds(
    store: Store, fetcher: Fetcher, policy: PollPolicy, now: datetime, due_only: bool = True
) -> list[PollResult]:
    """Read the feeds that are due (or all) once, together; a failing feed stops no other."""
    feeds = await store.claim_feeds(now, policy.lease, due_only)
    slots = asyncio.Semaphore(FEEDS_AT_ONCE)

    async def one(feed: Feed) -> PollResult:
        async with slots:
            return await poll_feed(store, fetcher, feed, policy, now)

    return list(await asyncio.gather(*(one(f) for f in feeds)))


async def poll_feed(
    store: Store, fetcher: Fetcher, feed: Feed, policy: PollPolicy, now: datetime
) -> PollResult:
    """Read one claimed feed, file its new and changed entries, and record the poll."""
    try:
        result, record = await _read_feed(store, fetcher, feed, policy, now)
    except (FetchError, FeedError, UnsafeURL) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        retry_after = getattr(exc, "retry_after", None)
        result = PollResult(feed.id, feed.url, PollStatus.ERROR, error=reason)
        rest = policy.after_failure(feed.errors + 1, retry_after)
        record = PollRecord(PollStatus.ERROR, now + rest, error=reason)
    except Exception as exc:  # a bug met on one feed's bytes must not stop the others
        log.exception("polling feed %s failed", feed.id)
        reason = f"internal error: {type(exc).__name__}"
        result = PollResult(feed.id, feed.url, PollStatus.ERROR, error=reason)
        record = PollRecord(
            PollStatus.ERROR, now + policy.after_failure(feed.errors + 1, None), error=reason
        )
    await store.record_poll(feed, record)
    return result


async def _read_feed(
    store: Store, fetcher: Fetcher, feed: Feed, policy: PollPolicy, now: datetime
) -> tuple[PollResult, PollRecord]:
    fetched = await fetcher.get(feed.url, feed.etag, feed.last_modified)
    if fetched.status == 304:
        return (
            PollResult(feed.id, feed.url, PollStatus.NOT_MODIFIED),
            PollRecord(PollStatus.NOT_MODIFIED, now + policy.interval),
        )
    parsed: ParsedFeed = await asyncio.to_thread(
        parse_feed, fetched.body, fetched.url, fetched.charset
    )
    outlet = feed.name or parsed.title or urlsplit(feed.url).hostname or feed.url
    entries = list(parsed.entries[:MAX_ENTRIES])
    seen = await store.seen_entries(feed.id, [e.id for e in entries])
    fresh: list[FeedEntry] = []
    for entry in entries:
        if entry.id in seen:
            if seen[entry.id] != entry.fingerprint:
                fresh.append(entry)
        elif (doc := await store.known_article(_guid(entry, feed), entry.link)) is not None:
            # Another feed brought this article: it is one document, its page read once.
            await store.note_entry(feed.id, entry.id, entry.fingerprint, doc)
        else:
            fresh.append(entry)
    new = updated = 0
    # Feeds list the newest first: the oldest is filed first and gets the lowest id. Pages are
    # fetched a batch at a time, so that at most a batch of articles waits in memory.
    fresh.reverse()
    for start in range(0, len(fresh), PAGE_BATCH):
        batch = fresh[start : start + PAGE_BATCH]
        articles = await asyncio.gather(*(_article(fetcher, e, _guid(e, feed)) for e in batch))
        for entry, article in zip(batch, articles, strict=True):
            if article is None:
                await store.note_entry(feed.id, entry.id, entry.fingerprint, None)
                continue
            outcome = await store.save_article(feed, article, outlet)
            new += outcome is Outcome.ADDED
            updated += outcome is Outcome.UPDATED
    record = PollRecord(
        PollStatus.OK,
        now + policy.interval,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        title=parsed.title,
    )
    return PollResult(feed.id, feed.url, PollStatus.OK, new, updated), record


def _guid(entry: FeedEntry, feed: Feed) -> str | None:
    """Return the entry's GUID as a document is known by it; None when the entry has none."""
    if entry.id == entry.link:
        return None
    if ":" in entry.id:  # a URL, URN or tag: unique across outlets
        return entry.id
    # Many sites number their entries ("1234"): numbers are unique only within an outlet.
    return f"{urlsplit(feed.url).hostname}#{entry.id}"


async def _article(fetcher: Fetcher, entry: FeedEntry, guid: str | None) -> WebArticle | None:
    """Fetch and extract an entry's page; fall back on the entry's own text, marked so."""
    page = None
    if entry.link:
        try:
            fetched = await fetcher.get(entry.link)
            html = await asyncio.to_thread(decode_html, fetched.body, fetched.charset)
            # An entry with its own title and date needs only the page's text.
            metadata = not (entry.title and entry.published)
            page = await asyncio.to_thread(extract_article, html, fetched.url, metadata)
        except (FetchError, UnsafeURL) as exc:
            log.info("page of %s not used: %s", entry.link, getattr(exc, "reason", exc))
        except Exception:  # extraction met bytes it cannot handle: the entry's text stands
            log.exception("extracting %s failed", entry.link)
    title = entry.title or (page.title if page else None) or ""
    if page is not None and page.text.strip():
        return WebArticle(
            entry.id,
            entry.fingerprint,
            entry.link,
            guid,
            title,
            page.text,
            entry.published or page.published,
        )
    text = entry.content or entry.summary
    if not text.strip():
        return None
    return WebArticle(
        entry.id, entry.fingerprint, entry.link, guid, title, text, entry.published, excerpt=True
    )
