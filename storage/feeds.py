"""Feeds and the articles they bring: what to poll when, and web documents written whole."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from search.analysis import tokens
from search.cleaning import clean_article
from search.nearcopy import sketch
from search.query import Stemmer
from search.vocabulary import TermCounts
from storage.db import Conn
from storage.ingest import IngestStore
from storage.models import Outcome
from storage.timestamps import iso


class PollStatus(StrEnum):
    """How reading a feed once ended."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


class FeedExists(ValueError):
    """The feed's URL is already in the list."""


@dataclass(frozen=True)
class Feed:
    """A feed as the poller needs it."""

    id: int
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None
    errors: int  # failures in a row


@dataclass(frozen=True)
class FeedInfo:
    """A feed as listed for its operator."""

    id: int
    url: str
    name: str | None
    last_polled: str | None
    last_status: str | None
    articles: int
    errors: int
    last_error: str | None
    next_poll: str


@dataclass(frozen=True)
class PollRecord:
    """What one poll of a feed found, to be kept with it."""

    status: PollStatus
    next_poll: datetime
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None  # the feed's own title: names a feed added without a name


@dataclass(frozen=True)
class WebArticle:
    """An article fetched for a feed entry, ready to be cleaned and indexed."""

    entry: str  # the entry's id within its feed: GUID, else canonical link
    fingerprint: str  # changes when the entry changes
    url: str | None
    guid: str | None
    title: str
    text: str  # paragraphs separated by blank lines
    published: str | None
    excerpt: bool = False  # the page could not be had: the text is the entry's own summary


_FEED_COLUMNS = "id, url, name, etag, last_modified, errors"
NAME_CHARS = 100  # of a feed's name, as an operator or the feed itself gives it
TITLE_CHARS = 300  # of an article's headline from the web: cards and alerts show it whole


def _clipped(text: str | None, limit: int) -> str | None:
    """Return text on one line, cut at limit characters with an ellipsis; None when empty."""
    text = " ".join((text or "").split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def _now() -> str:
    return iso(datetime.now(UTC))


Passage = tuple[int, str, int, str, str]  # ordinal, text, offset, surface, stem


@dataclass(frozen=True)
class _Analysed:
    """A web article cleaned and analysed, ready to be written."""

    title: str
    body: str
    title_terms: str
    passages: list[Passage]
    sketch: str
    agency: str | None  # the news agency its dateline names


def _analysed(article: WebArticle, stem: Stemmer) -> _Analysed:
    """Clean and analyse an article (worker thread)."""
    clean = clean_article(f"{article.title}\n\n{article.text}" if article.title else article.text)
    title = _clipped(article.title, TITLE_CHARS) or clean.title
    rows: list[Passage] = []
    for p in clean.passages:
        toks = tokens(p.text)
        rows.append((p.ordinal, p.text, p.offset, " ".join(toks), " ".join(map(stem, toks))))
    signature = sketch(p[4].split() for p in rows)
    return _Analysed(title, clean.text, " ".join(tokens(title)), rows, signature, clean.agency)


class FeedStore(IngestStore):
    """The feeds side of the Store (mixed into it; shares its connections)."""

    async def add_feed(self, url: str, name: str | None = None) -> Feed:
        """Add a feed, due at once; raise FeedExists if its URL is listed already."""
        now = _now()
        async with self._transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO feeds (url, name, added_at, next_poll) VALUES (?, ?, ?, ?)"
                f" ON CONFLICT (url) DO NOTHING RETURNING {_FEED_COLUMNS}",
                (url, _clipped(name, NAME_CHARS), now, now),
            )
        if not rows:
            raise FeedExists(url)
        return Feed(*next(iter(rows)))

    async def feeds(self) -> list[FeedInfo]:
        """Return every feed with the number of articles it brought."""
        rows = await self._read.execute_fetchall(
            "SELECT f.id, f.url, f.name, f.last_polled, f.last_status,"
            " (SELECT count(*) FROM feed_entries e WHERE e.feed_id = f.id"
            "  AND e.document_id IS NOT NULL), f.errors, f.last_error, f.next_poll"
            " FROM feeds f ORDER BY f.id"
        )
        return [FeedInfo(*row) for row in rows]

    async def find_feed(self, ref: str | int) -> Feed | None:
        """Return a feed by id, or by URL."""
        by_id = isinstance(ref, int) or ref.isdigit()
        rows = await self._read.execute_fetchall(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE {'id' if by_id else 'url'} = ?",
            (int(ref) if by_id else ref,),
        )
        return next((Feed(*row) for row in rows), None)

    async def remove_feed(self, ref: str | int) -> Feed | None:
        """Remove a feed by id or URL; its articles stay in the archive."""
        feed = await self.find_feed(ref)
        if feed is None:
            return None
        async with self._transaction() as conn:
            cur = await conn.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
        return feed if cur.rowcount else None

    async def claim_feeds(
        self, now: datetime, lease: timedelta, due_only: bool = True
    ) -> list[Feed]:
        """Take the feeds to poll now (those due, or all), unless another poll holds them.

        A claim lasts until the poll is recorded or the lease expires (a process that died),
        so the bot and a `furat feeds poll` in another process never read a feed together.
        """
        stamp, expired = iso(now), iso(now - lease)
        async with self._transaction(exclusive=not self._dialect.row_locks) as conn:
            rows = await conn.execute_fetchall(
                "UPDATE feeds SET claimed_at = ? WHERE id IN (SELECT id FROM feeds"
                " WHERE (claimed_at IS NULL OR claimed_at < ?) AND (? OR next_poll <= ?)"
                f"{self._dialect.skip_locked('feeds')}) RETURNING {_FEED_COLUMNS}",
                (stamp, expired, not due_only, stamp),
            )
        return sorted((Feed(*row) for row in rows), key=lambda f: f.id)

    async def record_poll(self, feed: Feed, record: PollRecord) -> None:
        """Keep what a poll found and when the feed is due next; release its claim."""
        failed = record.status is PollStatus.ERROR
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE feeds SET last_polled = ?, last_status = ?, last_error = ?,"
                " errors = CASE WHEN ? THEN errors + 1 ELSE 0 END, next_poll = ?,"
                " etag = CASE WHEN ? THEN ? ELSE etag END,"
                " last_modified = CASE WHEN ? THEN ? ELSE last_modified END,"
                " name = coalesce(name, ?), claimed_at = NULL WHERE id = ?",
                (
                    _now(),
                    record.status.value,
                    record.error,
                    failed,
                    iso(record.next_poll),
                    record.status is PollStatus.OK,
                    record.etag,
                    record.status is PollStatus.OK,
                    record.last_modified,
                    _clipped(record.title, NAME_CHARS),
                    feed.id,
                ),
            )

    async def seen_entries(self, feed_id: int, entries: list[str]) -> dict[str, str]:
        """Return the fingerprints recorded for those of these entries the feed gave before."""
        seen: dict[str, str] = {}
        for i in range(0, len(entries), 500):
            rows = await self._read.execute_fetchall(
                "SELECT entry, fingerprint FROM feed_entries WHERE feed_id = ?"
                f" AND entry IN (SELECT value FROM {self._dialect.json_texts})",
                (feed_id, json.dumps(entries[i : i + 500])),
            )
            seen.update((str(e), str(f)) for e, f in rows)
        return seen

    async def known_article(self, guid: str | None, url: str | None) -> int | None:
        """Return the id of the document with this GUID, else this URL, if any."""
        rows = await self._read.execute_fetchall(
            "SELECT id FROM documents WHERE guid = ?1 UNION ALL"
            " SELECT id FROM documents WHERE url = ?2 LIMIT 1",
            (guid, url),
        )
        return next((int(row[0]) for row in rows), None)

    async def note_entry(
        self, feed_id: int, entry: str, fingerprint: str, doc_id: int | None
    ) -> None:
        """Remember an entry of a feed (and the document it gave), so it is not read again."""
        async with self._transaction() as conn:
            await self._note(conn, feed_id, entry, fingerprint, doc_id)

    @staticmethod
    async def _note(
        conn: Conn, feed_id: int, entry: str, fingerprint: str, doc_id: int | None
    ) -> None:
        await conn.execute(
            "INSERT INTO feed_entries (feed_id, entry, fingerprint, document_id, seen_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (feed_id, entry) DO UPDATE SET"
            " fingerprint = excluded.fingerprint,"
            " document_id = coalesce(excluded.document_id, feed_entries.document_id)",
            (feed_id, entry, fingerprint, doc_id, _now()),
        )

    async def save_article(self, feed: Feed, article: WebArticle, outlet: str) -> Outcome:
        """Add or replace the document of a feed entry, in one transaction with its entry.

        An article is known by its GUID, else its URL: the same article in two feeds is one
        document. Nothing is written when its text is unchanged.
        """
        analysed = await asyncio.to_thread(_analysed, article, self._stem)
        title, body, title_terms, passages = (
            analysed.title,
            analysed.body,
            analysed.title_terms,
            analysed.passages,
        )
        if not passages:
            await self.note_entry(feed.id, article.entry, article.fingerprint, None)
            return Outcome.FAILED
        digest = hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()
        counts = TermCounts()
        await asyncio.to_thread(counts.add, [(p[3], p[4]) for p in passages])
        async with self._transaction() as conn:
            found = await conn.execute_fetchall(
                "SELECT id, sha256 FROM documents WHERE guid = ?1 UNION ALL"
                " SELECT id, sha256 FROM documents WHERE url = ?2 LIMIT 1",
                (article.guid, article.url),
            )
            row = next(iter(found), None)
            values = (
                article.url or "",
                digest,
                title,
                outlet,
                body,
                title_terms,
                article.url,
                article.published,
                article.guid,
                int(article.excerpt),
                analysed.sketch,
                analysed.agency,
            )
            if row is not None and row[1] == digest:
                await self._note(conn, feed.id, article.entry, article.fingerprint, row[0])
                return Outcome.UNCHANGED
            if row is not None:
                doc_id, outcome = int(row[0]), Outcome.UPDATED
                await self._delete_passages(conn, doc_id, counts)
                await conn.execute(
                    "UPDATE documents SET source_path = ?, sha256 = ?, title = ?, outlet = ?,"
                    " body = ?, title_terms = ?, url = ?, published = ?, guid = ?, excerpt = ?,"
                    " sketch = ?, agency = ?, ingested_at = ? WHERE id = ?",
                    (*values, _now(), doc_id),
                )
            else:
                outcome = Outcome.ADDED
                doc_id = await self._last_document_id(conn) + 1
                key = article.url or f"entry:{article.entry}"
                taken = await conn.execute_fetchall(
                    "SELECT 1 FROM documents WHERE key = ?", (key,)
                )
                if taken:  # another entry's document has kept this URL as its key
                    key = f"{key}#{doc_id}"
                await conn.execute(
                    "INSERT INTO documents (source_path, sha256, title, outlet, body, title_terms,"
                    " url, published, guid, excerpt, sketch, agency, id, key, ingested_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, doc_id, key, _now()),
                )
                await self._set_last_document_id(conn, doc_id)
            rows = [json.dumps([doc_id, *p], ensure_ascii=False) for p in passages]
            await self._insert_rows(conn, [], rows, _now())
            await self._save_counts(conn, counts)
            await self._note(conn, feed.id, article.entry, article.fingerprint, doc_id)
        return outcome
