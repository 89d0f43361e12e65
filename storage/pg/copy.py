"""Copy a SQLite archive into PostgreSQL (`furat migrate-to`): documents with their passages and
term counts, chats with their settings, subscriptions, queries, feeds, digests' topic matches and
the pushes still to send. Each batch commits on its own and skips rows already there, so a run
stopped halfway finishes when run again, and a second run changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import asyncpg

from search.vocabulary import TermCounts
from storage.db import Database
from storage.pg import is_postgres_url, migrate
from storage.pg.terms import passage_terms

_DOCUMENTS = (
    "id, key, source_path, sha256, title, outlet, body, title_terms, ingested_at, root, size,"
    " mtime_ns, url, published, guid, excerpt, sketch, agency"
)
_PASSAGES = 'id, document_id, ordinal, text, "offset", surface, stem'
BATCH = 1000
CONNECT_TIMEOUT_S = 15.0
# Only pushes still to send move; the history of sent, failed and cancelled ones stays in SQLite.
_TO_SEND = "status IN ('pending', 'sending')"


@dataclass(frozen=True)
class _Table:
    name: str
    columns: str
    where: str = "true"  # which SQLite rows are copied
    identity: bool = True  # ids come from an identity sequence, set past the copied ones


# In an order that puts every row after the rows it refers to.
TABLES = (
    _Table("ingest_runs", "id, finished_at, added, updated, unchanged, failed"),
    _Table("queries", "id, text, last_used"),
    _Table(
        "chats",
        "id, type, language, timezone, digest_time, quiet_start, quiet_end, active,"
        " last_digest_at, created_at, digest_doc",
        identity=False,
    ),
    _Table("subscriptions", "id, chat_id, query, plan, created_at"),
    _Table("topic_matches", "topic, doc_id, passage_id", identity=False),
    _Table(
        "feeds",
        "id, url, name, added_at, etag, last_modified, last_polled, last_status, last_error,"
        " errors, next_poll, claimed_at",
    ),
    _Table("feed_entries", "feed_id, entry, fingerprint, document_id, seen_at", identity=False),
    _Table(
        "push_contents",
        "id, text, reply_markup",
        where=f"id IN (SELECT content_id FROM outbox WHERE {_TO_SEND})",
    ),
    _Table(
        "outbox",
        "id, idempotency_key, chat_id, kind, text, reply_markup, not_before, status, attempts,"
        " last_error, created_at, sent_at, content_id, claimed_at",
        where=_TO_SEND,
    ),
)


class CopyError(Exception):
    """The copy cannot start or go on; the message says why and never holds a password."""


@dataclass(frozen=True)
class TableCopy:
    """One table's part of a copy: the rows SQLite holds to copy, and those this run added."""

    table: str
    source: int
    copied: int


@dataclass(frozen=True)
class CopyReport:
    """What one run of the copy did, table by table."""

    tables: tuple[TableCopy, ...]

    def copied(self, table: str) -> int:
        """Return how many rows of one table this run added."""
        return next(t.copied for t in self.tables if t.table == table)


class _Source:
    """One read snapshot of the SQLite file, so that the tables copied agree with each other."""

    def __init__(self, path: Path) -> None:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        self.conn.execute("BEGIN")

    def count(self, table: str, where: str = "true") -> int:
        (n,) = self.conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
        return int(n)

    def batches(
        self, sql: str, params: tuple[object, ...] = ()
    ) -> Iterator[list[tuple[object, ...]]]:
        cur = self.conn.execute(sql, params)
        while rows := cur.fetchmany(BATCH):
            yield rows

    def state(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self.conn.close()


async def _stage(
    conn: asyncpg.Connection, table: str, columns: str, rows: list[tuple[object, ...]]
) -> None:
    """Load rows into staged_TABLE, a temporary table of TABLE's columns, gone at commit."""
    # A name per table: asyncpg caches the statement that learns a table's shape, by its text.
    await conn.execute(
        f"CREATE TEMP TABLE staged_{table} ON COMMIT DROP AS"
        f" SELECT {columns} FROM {table} WITH NO DATA"
    )
    await conn.copy_records_to_table(f"staged_{table}", records=rows)


async def _advance_sequence(conn: asyncpg.Connection, table: str) -> None:
    """Move TABLE's id sequence past the ids copied, never back, so later inserts get new ids."""
    await conn.execute(
        "SELECT setval(seq, top) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq,"
        f" (SELECT max(id) FROM {table}) AS top) AS s"
        " WHERE top > coalesce(pg_sequence_last_value(seq), 0)",
        table,
    )


async def _copy_table(source: _Source, pool: asyncpg.Pool, table: _Table) -> TableCopy:
    copied = 0
    for rows in source.batches(f"SELECT {table.columns} FROM {table.name} WHERE {table.where}"):
        async with pool.acquire() as conn, conn.transaction():
            await _stage(conn, table.name, table.columns, rows)
            status = await conn.execute(
                f"INSERT INTO {table.name} ({table.columns})"
                f" SELECT {table.columns} FROM staged_{table.name}"
                " ON CONFLICT DO NOTHING"
            )
            copied += int(status.split()[-1])
            if table.identity:
                await _advance_sequence(conn, table.name)
    return TableCopy(table.name, source.count(table.name, table.where), copied)


async def _copy_documents(
    source: _Source, conn: asyncpg.Connection, rows: list[tuple[object, ...]]
) -> tuple[int, int]:
    """Copy one batch of documents with their passages and term counts; return what it added."""
    await _stage(conn, "documents", _DOCUMENTS, rows)
    clash = await conn.fetchrow(
        "SELECT s.id, s.key FROM staged_documents s"
        " JOIN documents d ON d.id = s.id OR d.key = s.key"
        " WHERE d.id <> s.id OR d.key <> s.key LIMIT 1"
    )
    if clash:
        raise CopyError(
            f"document {clash['id']} ({clash['key']}) clashes with another document in"
            " PostgreSQL: migrate-to fills an empty database, or one it filled before"
        )
    fresh = {
        r["id"]
        for r in await conn.fetch(
            f"INSERT INTO documents ({_DOCUMENTS}) SELECT {_DOCUMENTS} FROM staged_documents"
            " ON CONFLICT DO NOTHING RETURNING id"
        )
    }
    if not fresh:
        return 0, 0
    passages = [
        p
        for batch in source.batches(
            f"SELECT {_PASSAGES} FROM passages WHERE document_id BETWEEN ? AND ?"
            " ORDER BY document_id, ordinal",
            (min(fresh), max(fresh)),
        )
        for p in batch
        if p[1] in fresh
    ]
    await conn.executemany(
        f"INSERT INTO passages ({_PASSAGES}, terms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::tsvector)",
        [(*p, passage_terms(str(p[5]).split(), str(p[6]).split())) for p in passages],
    )
    # Counted from the passages this transaction added, in it: a run that stops and starts
    # again, or a second run beside it, counts each passage once.
    counts = TermCounts()
    counts.add((str(p[5]), str(p[6])) for p in passages)
    changes = sorted(counts.changes())  # one order: concurrent upserts cannot deadlock
    await conn.execute(
        "INSERT INTO terms (col, term, df)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])"
        " ON CONFLICT (col, term) DO UPDATE SET df = terms.df + excluded.df",
        [c for c, _, _ in changes],
        [t for _, t, _ in changes],
        [n for _, _, n in changes],
    )
    await conn.executemany(
        "UPDATE state SET value = (value::bigint + $2)::text WHERE key = $1",
        [("passages", counts.passages), ("surface_tokens", counts.tokens)],
    )
    for table in ("documents", "passages"):
        await _advance_sequence(conn, table)
    return len(fresh), len(passages)


async def _copy_archive(source: _Source, pool: asyncpg.Pool) -> tuple[TableCopy, TableCopy]:
    documents = passages = 0
    for rows in source.batches(f"SELECT {_DOCUMENTS} FROM documents ORDER BY id"):
        async with pool.acquire() as conn, conn.transaction():
            added, their_passages = await _copy_documents(source, conn, rows)
        documents += added
        passages += their_passages
    last_document = source.state("last_document_id")
    matched = source.state("matched_doc")
    async with pool.acquire() as conn, conn.transaction():
        # Ids are never reused: the highest ever given stays the highest.
        if last_document is not None:
            await conn.execute(
                "UPDATE state SET value = $1::text WHERE key = 'last_document_id'"
                " AND value::bigint < $1::text::bigint",
                last_document,
            )
        # Alerts go on from the document SQLite matched last, not from the newest one.
        if matched is not None:
            await conn.execute(
                "INSERT INTO state (key, value) VALUES ('matched_doc', $1)"
                " ON CONFLICT (key) DO NOTHING",
                matched,
            )
    return (
        TableCopy("documents", source.count("documents"), documents),
        TableCopy("passages", source.count("passages"), passages),
    )


async def copy_all(sqlite_path: Path, pool: asyncpg.Pool) -> CopyReport:
    """Copy the archive, chats, subscriptions, feeds and pushes to send not yet in PostgreSQL."""
    with closing(_Source(sqlite_path)) as source:
        copies = list(await _copy_archive(source, pool))
        for table in TABLES:
            copies.append(await _copy_table(source, pool, table))
    return CopyReport(tuple(copies))


async def copy_archive(sqlite_path: Path, pool: asyncpg.Pool) -> int:
    """Copy documents, passages and term counts not yet in PostgreSQL; return how many
    documents were copied. Running it again copies nothing twice."""
    with closing(_Source(sqlite_path)) as source:
        documents, _ = await _copy_archive(source, pool)
    return documents.copied


def describe(url: str) -> str:
    """Return a PostgreSQL URL as user@host:port/database: no password, no parameters."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the PostgreSQL URL given"
    user = f"{unquote(parts.username)}@" if parts.username else ""
    return f"{user}{parts.hostname or 'localhost'}{port}{parts.path}"


def _secrets(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        found += [v for k, v in parse_qsl(parts.query) if k.lower() == "password"]
    except ValueError:
        found = [url]
    return [s for f in found if f for s in (f, unquote(f))]


def _scrub(error: BaseException, url: str) -> str:
    """Return an error's one-line message with anything secret in the URL blanked out."""
    text = " ".join(str(error).split()) or type(error).__name__
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


async def migrate_to(sqlite_path: Path, url: str) -> CopyReport:
    """Apply the PostgreSQL migrations at URL, then copy the SQLite archive at sqlite_path."""
    if not is_postgres_url(url):
        raise CopyError("the target must be a postgresql:// URL, e.g. postgresql://user@host/db")
    if not await asyncio.to_thread(sqlite_path.is_file):
        raise CopyError(f"no SQLite archive at {sqlite_path}")
    try:
        # Brings an older archive's schema up to the one the copy reads (as every command does).
        await (await Database.open(str(sqlite_path), readers=0)).close()
    except sqlite3.Error as e:
        raise CopyError(f"cannot open the SQLite archive {sqlite_path}: {e}") from None
    where = describe(url)
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=CONNECT_TIMEOUT_S)
    except Exception as e:  # any reason not to connect is one line for the operator
        raise CopyError(f"cannot connect to {where}: {_scrub(e, url)}") from None
    try:
        await migrate(pool)
        return await copy_all(sqlite_path, pool)
    # SQLite's loose types reach asyncpg's encoders too (TypeError, ValueError): one line still.
    except (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        OSError,
        sqlite3.Error,
        TypeError,
        ValueError,
    ) as e:
        raise CopyError(
            f"the copy to {where} stopped ({_scrub(e, url)}); what was copied stays: run it again"
        ) from None
    finally:
        await pool.close()
