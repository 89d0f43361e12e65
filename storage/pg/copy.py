"""Copy a SQLite archive's documents and passages into PostgreSQL: the archive part of
`furat migrate-to` (chats, subscriptions, feeds and the outbox are not copied yet)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import asyncpg

from storage.pg.terms import passage_terms

_DOCUMENTS = (
    "id, key, source_path, sha256, title, outlet, body, title_terms, ingested_at, root, size,"
    " mtime_ns, url, published, guid, excerpt, sketch"
)
_PASSAGES = 'id, document_id, ordinal, text, "offset", surface, stem'
BATCH = 1000


def _read(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


async def copy_archive(sqlite_path: Path, pool: asyncpg.Pool) -> int:
    """Copy documents, passages, term counts and totals not yet in PostgreSQL; return how many
    documents were copied. Running it again copies nothing twice."""
    documents = _read(sqlite_path, f"SELECT {_DOCUMENTS} FROM documents ORDER BY id")
    passages = _read(sqlite_path, f"SELECT {_PASSAGES} FROM passages ORDER BY id")
    terms = _read(sqlite_path, "SELECT col, term, df FROM terms")
    state = _read(
        sqlite_path,
        "SELECT key, value FROM state WHERE key IN ('passages', 'surface_tokens',"
        " 'last_document_id')",
    )
    marks = ", ".join(f"${i}" for i in range(1, 18))
    async with pool.acquire() as conn, conn.transaction():
        known = {row["id"] for row in await conn.fetch("SELECT id FROM documents")}
        new_documents = [d for d in documents if d[0] not in known]
        await conn.executemany(
            f"INSERT INTO documents ({_DOCUMENTS}) VALUES ({marks})", new_documents
        )
        fresh = {d[0] for d in new_documents}
        rows = [
            (*p, passage_terms(str(p[5]).split(), str(p[6]).split()))
            for p in passages
            if p[1] in fresh
        ]
        for start in range(0, len(rows), BATCH):
            await conn.executemany(
                f"INSERT INTO passages ({_PASSAGES}, terms)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::tsvector)",
                rows[start : start + BATCH],
            )
        if new_documents:
            # The counts describe the whole archive copied: SQLite's, taken as they stand.
            await conn.execute("DELETE FROM terms")
            await conn.executemany("INSERT INTO terms (col, term, df) VALUES ($1, $2, $3)", terms)
            await conn.executemany(
                "UPDATE state SET value = $2 WHERE key = $1", [(k, str(v)) for k, v in state]
            )
        for table in ("documents", "passages"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" greatest((SELECT max(id) FROM {table}), 1))"
            )
    return len(new_documents)
