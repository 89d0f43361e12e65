"""Frozen records the store hands out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What ingesting one file did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    RENAMED = "renamed"  # the file of a document moved: its key follows
    REMOVED = "removed"  # the file of a document left the folder it was ingested from


_RARE = (Outcome.RENAMED, Outcome.REMOVED)  # in a run's tally only when they happened


@dataclass(frozen=True)
class FileResult:
    """The outcome of ingesting one file, with the reason when it failed."""

    path: str
    outcome: Outcome
    key: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class IngestReport:
    """Per-file outcomes of one ingest run."""

    files: tuple[FileResult, ...]

    def count(self, outcome: Outcome) -> int:
        """Count the files that ended with this outcome."""
        return sum(1 for f in self.files if f.outcome is outcome)

    def summary(self) -> str:
        """Return the one-line tally printed after a run."""
        shown = [o for o in Outcome if o not in _RARE or self.count(o)]
        return ", ".join(f"{self.count(o)} {o.value}" for o in shown)


@dataclass(frozen=True)
class Document:
    """A cleaned article."""

    id: int
    key: str
    title: str
    outlet: str | None
    body: str
    source_path: str
    sha256: str
    ingested_at: str
    url: str | None = None  # the original on the web; None for documents from files
    published: str | None = None  # ISO 8601, UTC
    excerpt: bool = False  # its page could not be had: the text is the feed entry's summary
    agency: str | None = None  # the news agency its dateline names ("واس"), not its outlet


@dataclass(frozen=True)
class Stats:
    """Size of the archive."""

    documents: int
    passages: int
    outlets: int
    path: str
    size_bytes: int
    last_ingest: str | None


@dataclass(frozen=True)
class DocumentSummary:
    """An article as listed: no body."""

    id: int
    key: str
    title: str
    outlet: str | None
    ingested_at: str
    url: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class OutletCount:
    """An outlet and how many of its articles the archive holds."""

    outlet: str
    documents: int


class SubscribeResult(StrEnum):
    """What /subscribe did."""

    ADDED = "added"
    EXISTS = "exists"
    LIMIT = "limit"
    EMPTY = "empty"


class PushKind(StrEnum):
    """Kinds of outbox rows."""

    ALERT = "alert"
    DIGEST = "digest"
    BROADCAST = "broadcast"


class PushStatus(StrEnum):
    """Life of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Chat:
    """A chat that follows topics."""

    id: int
    type: str
    language: str
    timezone: str
    digest_time: str | None
    quiet_start: str | None
    quiet_end: str | None
    active: bool
    last_digest_at: str
    digest_doc: int = 0  # the last document its digest covered


@dataclass(frozen=True)
class Subscription:
    """One followed query."""

    id: int
    chat_id: int
    query: str


@dataclass(frozen=True)
class Push:
    """An outbox row claimed for sending."""

    id: int
    key: str
    chat_id: int
    kind: str
    text: str
    reply_markup: str | None
    attempts: int


@dataclass(frozen=True)
class QueueStatus:
    """Numbers for /status."""

    pending: int
    sent_24h: int
    failed_24h: int
    active_chats: int
    subscriptions: int
    last_ingest: str | None
