"""The Store on PostgreSQL: the same code as on SQLite, with the few statements that differ."""

from __future__ import annotations

import json

from search.index import PassageIndex
from search.query import Stemmer
from storage.db import Conn, Dialect
from storage.models import Stats
from storage.pg import without_password
from storage.pg.db import PgDatabase
from storage.pg.search import PgSearchRows
from storage.pg.terms import passage_terms
from storage.store import Store

POSTGRES = Dialect(
    json_items="json_array_elements(CAST(? AS json)) AS j(value)",
    json_texts="json_array_elements_text(CAST(? AS json)) AS j(value)",
    fan_join="JOIN",
    row_locks=True,
    analyze_temp=True,
)


class PgStore(Store):
    """The archive, chats, pushes and feeds in a PostgreSQL database that replicas share."""

    _dialect = POSTGRES

    @classmethod
    async def connect(cls, url: str, stemmer: Stemmer, index: PassageIndex | None) -> PgStore:
        """Open a pool to the database at url, migrating it first."""
        db = await PgDatabase.open(url)
        return cls(db, url, stemmer, PgSearchRows(db.pool), index)

    async def stats(self) -> Stats:
        """Return the size of the archive (the database's size on disk)."""
        found = await self._read.execute_fetchall(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages),"
            " (SELECT count(DISTINCT outlet) FROM documents),"
            " (SELECT max(finished_at) FROM ingest_runs), pg_database_size(current_database())"
        )
        docs, passages, outlets, last, size = found[0]
        return Stats(docs, passages, outlets, without_password(self.path), size, last)

    async def _insert_passages(self, conn: Conn, chunk: str) -> None:
        """Insert passages with their index terms, which PostgreSQL takes as written."""
        rows = json.loads(chunk)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 6
        terms = [passage_terms(surface.split(), stem.split()) for *_, surface, stem in rows]
        await conn.execute(
            'INSERT INTO passages (document_id, ordinal, text, "offset", surface, stem, terms)'
            " SELECT * FROM unnest(CAST(? AS bigint[]), CAST(? AS integer[]), CAST(? AS text[]),"
            " CAST(? AS integer[]), CAST(? AS text[]), CAST(? AS text[]),"
            " CAST(? AS tsvector[]))",
            (*(list(c) for c in columns), terms),
        )
