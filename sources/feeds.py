"""Parse RSS and Atom feeds into entries with plain text, canonical links and UTC dates."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from sources.text import choose_codec, declared_charset, html_to_text
from sources.urls import canonical_url


@dataclass(frozen=True)
class FeedEntry:
    """One entry: its identity, canonical link, plain texts, UTC date and change fingerprint."""

    id: str
    link: str | None
    title: str
    summary: str
    content: str
    published: str | None
    fingerprint: str


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title and entries in the feed's order."""

    title: str | None
    entries: tuple[FeedEntry, ...]


class FeedError(Exception):
    """A feed that yields no entries; reason is one line for the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = " ".join(reason.split())


def _utc(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC).isoformat()
    except (TypeError, ValueError):
        return None


def _text(detail: Any, value: str) -> str:
    """Return plain text of a feedparser text construct (HTML unless it says plain)."""
    kind = (detail or {}).get("type", "text/html") if isinstance(detail, dict) else "text/html"
    if kind == "text/plain":
        return "\n\n".join(" ".join(p.split()) for p in value.split("\n\n") if p.strip())
    return html_to_text(value)


def _link(entry: Any) -> str | None:
    link = (entry.get("link") or "").strip()
    if not link.lower().startswith(("http://", "https://")):
        return None
    return canonical_url(link)


def _entry(entry: Any) -> FeedEntry:
    title = " ".join(_text(entry.get("title_detail"), entry.get("title", "")).split())
    summary = _text(entry.get("summary_detail"), entry.get("summary", ""))
    parts = [_text(c, c.get("value", "")) for c in entry.get("content", [])]
    content = "\n\n".join(p for p in parts if p)
    if content == summary:
        # feedparser fills summary from content when an Atom entry has only content.
        summary = ""
    link = _link(entry)
    # dict.get skips feedparser's deprecated fallback between "updated" and "published" keys.
    published = _utc(dict.get(entry, "published_parsed")) or _utc(
        dict.get(entry, "updated_parsed")
    )
    updated = dict.get(entry, "updated") or dict.get(entry, "published") or ""
    digest = hashlib.sha256(
        "\x00".join((title, summary, content, updated)).encode("utf-8")
    ).hexdigest()
    guid = " ".join((entry.get("id") or "").split())
    if guid:
        ident = guid
    elif link:
        ident = link
    else:
        ident = "sha256:" + hashlib.sha256(f"{title}\x00{summary}".encode()).hexdigest()
    return FeedEntry(ident, link, title, summary, content, published, digest)


def parse_feed(body: bytes, url: str, charset: str | None = None) -> ParsedFeed:
    """Parse a feed's bytes; relative links resolve against url; raise FeedError if no entries."""
    if not charset and declared_charset(body) is None:
        # feedparser would fall back to windows-1252: mojibake for an undeclared Arabic feed.
        charset = choose_codec(body)
    content_type = "application/xml" + (f"; charset={charset}" if charset else "")
    # A stream, not bytes: feedparser opens bytes as a local file name when one exists.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-location": url, "content-type": content_type},
        resolve_relative_uris=True,
        sanitize_html=True,
    )
    entries = tuple(_entry(e) for e in parsed.entries)
    if not entries:
        if parsed.get("bozo"):
            raise FeedError(f"not a feed: {parsed.get('bozo_exception')}")
        if not parsed.get("version"):
            raise FeedError("not a feed: no RSS or Atom element found")
        raise FeedError("feed has no entries")
    title = " ".join((parsed.feed.get("title") or "").split()) or None
    return ParsedFeed(title, entries)
