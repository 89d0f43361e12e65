"""What a search returns: the passages found, and the copies of each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Copy:
    """A near-copy of a result, in another document: folded into the result's card."""

    doc_id: int
    doc: str
    title: str
    outlet: str | None


@dataclass(frozen=True)
class SearchHit:
    """One ranked passage; `snippet` is HTML-escaped with matched words in <b>."""

    doc_id: int
    doc: str
    title: str
    outlet: str | None
    passage: str
    ordinal: int
    score: float
    snippet: str
    url: str | None = None
    published: str | None = None
    copies: tuple[Copy, ...] = ()  # near-copies of the passage in other documents, best first
    agency: str | None = None  # the news agency its article's dateline names
