"""The archive: documents, passages and their index, with chats, pushes and feeds beside them.

This is the SQLite store; `storage.pg.store.PgStore` changes what differs on PostgreSQL, and
`storage.backends.open_store` chooses between them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from search.engine import SearchRows, SearchStore
from search.index import PassageIndex
from search.query import Stemmer
from storage.db import Backend, Database
from storage.feeds import FeedStore
from storage.leases import LeaseStore
from storage.models import (
    Document,
    DocumentSummary,
    OutletCount,
    Stats,
)
from storage.outbox import OutboxStore
from storage.presence import PresenceStore
from storage.pushes import PushStore
from storage.search_sqlite import SqliteSearchRows
from storage.timestamps import iso


def _now() -> str:
    return iso(datetime.now(UTC))


class Store(SearchStore, FeedStore, PushStore, OutboxStore, PresenceStore, LeaseStore):
    """Async access to the archive; create with `await open_store(path)`."""

    def __init__(
        self,
        db: Backend,
        path: str,
        stemmer: Stemmer,
        rows: SearchRows,
        index: PassageIndex | None = None,
    ) -> None:
        self._db = db
        self._stem = stemmer
        self.path = path
        self._start_search(rows, index)
        self._match_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: str, stemmer: Stemmer, index: PassageIndex | None) -> Store:
        """Open (creating and migrating) the SQLite file at path."""
        db = await Database.open(path)
        return cls(db, path, stemmer, SqliteSearchRows(db.read), index)

    async def close(self) -> None:
        """Close the connections."""
        await self.close_search()
        await self._db.close()

    @property
    def busy_retries(self) -> int:
        """Return how many writes found the file locked by another process and tried again."""
        return self._db.busy_retries

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        return await self._db.schema_version()

    # --- reading ------------------------------------------------------------------------

    async def document_count(self) -> int:
        """Return the number of documents."""
        rows = await self._read.execute_fetchall("SELECT count(*) FROM documents")
        return next((int(row[0]) for row in rows), 0)

    async def document(self, key: str | int) -> Document | None:
        """Return one document by key, or by id when given an int."""
        column = "id" if isinstance(key, int) else "key"
        rows = await self._read.execute_fetchall(
            "SELECT id, key, title, outlet, body, source_path, sha256, ingested_at, url, published,"
            f" excerpt, agency FROM documents WHERE {column} = ?",
            (key,),
        )
        row = next(iter(rows), None)
        return Document(**{**dict(row), "excerpt": bool(row["excerpt"])}) if row else None

    async def latest(self, limit: int = 10, offset: int = 0) -> list[DocumentSummary]:
        """Return the most recently ingested documents."""
        rows = await self._read.execute_fetchall(
            "SELECT id, key, title, outlet, ingested_at, url, published FROM documents"
            " ORDER BY ingested_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [DocumentSummary(**dict(row)) for row in rows]

    async def outlets(self) -> list[OutletCount]:
        """Return the outlets in the archive with their article counts."""
        rows = await self._read.execute_fetchall(
            "SELECT outlet, count(*) FROM documents WHERE outlet IS NOT NULL"
            " GROUP BY outlet ORDER BY count(*) DESC, outlet"
        )
        return [OutletCount(row[0], row[1]) for row in rows]

    async def remember_query(self, text: str) -> int:
        """Return a stable id for a query text, storing it if new."""
        # A query seen before costs a read, not a write.
        rows = await self._read.execute_fetchall("SELECT id FROM queries WHERE text = ?", (text,))
        if not rows:
            async with self._transaction() as conn:
                rows = await conn.execute_fetchall(
                    "INSERT INTO queries (text, last_used) VALUES (?, ?)"
                    " ON CONFLICT (text) DO UPDATE SET last_used = excluded.last_used"
                    " RETURNING id",
                    (text, _now()),
                )
        return int(next(iter(rows))[0])

    async def recall_query(self, query_id: int) -> str | None:
        """Return the query text stored under an id."""
        rows = await self._read.execute_fetchall(
            "SELECT text FROM queries WHERE id = ?", (query_id,)
        )
        return next((str(row[0]) for row in rows), None)

    async def all_passages(self) -> list[str]:
        """Return the original text of every passage, in document order."""
        rows = await self._read.execute_fetchall(
            "SELECT text FROM passages ORDER BY document_id, ordinal"
        )
        return [row[0] for row in rows]

    async def stats(self) -> Stats:
        """Return the size of the archive."""
        rows = await self._read.execute_fetchall(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages),"
            " (SELECT count(DISTINCT outlet) FROM documents),"
            " (SELECT max(finished_at) FROM ingest_runs)"
        )
        row = next(iter(rows))
        size = sum(
            p.stat().st_size for p in (Path(self.path), Path(self.path + "-wal")) if p.exists()
        )
        return Stats(row[0], row[1], row[2], self.path, size, row[3])
