"""One SQLite file in WAL mode: a writer connection, reader connections, migrations."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Protocol

import aiosqlite

from storage.timestamps import iso

log = logging.getLogger(__name__)

READERS = 2  # searches and other reads run beside the writer, and beside each other
CACHE_KIB = 64 * 1024  # SQLite page cache per connection
# A write waits this long for another process's transaction (an ingest, say) to end. Each try
# blocks the writer's thread for at most BUSY_MS, so the event loop only sleeps between tries.
WRITE_WAIT_S = 120.0
BUSY_MS = 250
OPEN_BUSY_MS = 30_000
_MIGRATION_RE = re.compile(r"^(\d{4})_.+\.sql$")


def is_busy(exc: BaseException) -> bool:
    """Tell whether an error means another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (a trigger body stays whole)."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    if pending.strip() and not pending.strip().startswith("--"):
        found.append(pending.strip())
    return [s for s in found if not all(ln.strip().startswith("--") for ln in s.splitlines())]


async def _connect(path: str, busy_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        # A long wait first: switching a new file to WAL needs a lock that another process
        # opening the same file may hold.
        for pragma in (
            f"busy_timeout = {OPEN_BUSY_MS}",
            "journal_mode = WAL",
            f"busy_timeout = {busy_ms}",
            "foreign_keys = ON",
            "synchronous = NORMAL",
            # SQLite's default page cache is 2 MiB; FTS5 posting lists and the outbox indexes
            # of a large archive then come from the OS page by page (p99 at 100k documents:
            # 160-190 ms with 2 MiB, 22 ms with 64 MiB; the process peak grew by 64 MiB).
            f"cache_size = -{CACHE_KIB}",
        ):
            await conn.execute(f"PRAGMA {pragma}")
    except BaseException:
        await conn.close()  # its thread would keep the process alive
        raise
    return conn


def _migration_files() -> list[tuple[int, Traversable]]:
    """Return each migration script with its version number."""
    folder = resources.files("storage").joinpath("migrations")
    return [(int(m.group(1)), f) for f in folder.iterdir() if (m := _MIGRATION_RE.match(f.name))]


def latest_migration() -> int:
    """Return the version of the newest migration this code ships."""
    return max(version for version, _ in _migration_files())


class Database:
    """A writer connection behind a lock, and readers that never wait for it."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        write_wait_s: float = WRITE_WAIT_S,
    ) -> None:
        self.writer = writer
        self.readers = readers
        self.write_wait_s = write_wait_s
        self.write_lock = asyncio.Lock()
        self.busy_retries = 0  # writes that found the file locked and tried again
        self._next_reader = itertools.cycle(readers)

    @classmethod
    async def open(
        cls,
        path: str,
        readers: int = READERS,
        upto: int | None = None,
    ) -> Database:
        """Open the writer (migrating the schema, up to a version if given) and the readers."""
        writer = await _connect(path, BUSY_MS)
        opened = [writer]
        try:
            db = cls(writer, [])
            await db._migrate(upto)
            for _ in range(readers):
                # A reader in WAL mode waits only while the file is being recovered.
                opened.append(await _connect(path, OPEN_BUSY_MS))
            db.readers = opened[1:]
            db._next_reader = itertools.cycle(db.readers)
        except BaseException:
            for conn in opened:
                await conn.close()
            raise
        return db

    def read(self) -> aiosqlite.Connection:
        """Return a reader connection (each sees what was committed when its statement began)."""
        return next(self._next_reader)

    async def close(self) -> None:
        """Close every connection."""
        for conn in (*self.readers, self.writer):
            await conn.close()

    async def _begin(self) -> None:
        """Start a write transaction, retrying while another process writes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.write_wait_s
        pause = 0.05
        while True:
            try:
                await self.writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or loop.time() >= deadline:
                    raise
            self.busy_retries += 1
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)

    @asynccontextmanager
    async def transaction(self, exclusive: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """Hold the write lock and one IMMEDIATE transaction; roll back on any error.

        Every SQLite transaction is exclusive: the file has one writer at a time.
        """
        async with self.write_lock:
            await self._begin()
            try:
                yield self.writer
            except BaseException:
                await self.writer.rollback()
                raise
            await self.writer.commit()

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        rows = await self.read().execute_fetchall("SELECT max(version) FROM schema_migrations")
        return int(next(iter(rows))[0] or 0)

    async def ready(self) -> bool:
        """Tell whether a reader answers and the schema is at the latest migration."""
        try:
            return await self.schema_version() == latest_migration()
        except (sqlite3.Error, ValueError):  # aiosqlite raises ValueError once closed
            return False

    async def _migrate(self, upto: int | None) -> None:
        """Apply each migration not yet recorded, in one transaction with its record.

        The record is read inside the migration's transaction: two processes opening a new
        file at once take turns, and the second finds the work done.
        """
        scripts = sorted(
            (version, f.name, f.read_text(encoding="utf-8")) for version, f in _migration_files()
        )
        async with self.transaction() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        for version, name, sql in scripts:
            if upto is not None and version > upto:
                break
            async with self.transaction() as conn:
                done = await conn.execute_fetchall(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                )
                if done:
                    continue
                for statement in statements(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, iso(datetime.now(UTC))),
                )


# A connection the stores run their SQL on: aiosqlite's, or storage.pg.db's PgConn, which
# speaks the same three methods (execute, execute_fetchall, executemany).
Conn = Any
Row = Any  # a row of either driver: read by position or by column name


@dataclass(frozen=True)
class Dialect:
    """The few SQL fragments whose spelling differs between the backends."""

    json_items: str = "json_each(?)"  # rows `value` of a JSON array parameter (use `->>`)
    json_texts: str = "json_each(?)"  # rows `value` of a JSON array of strings, as text
    fan_join: str = "CROSS JOIN"  # SQLite's hint to keep the left table the outer loop
    row_locks: bool = False  # claims lock the rows they take, not the whole database
    # PostgreSQL plans a join of temporary tables blind unless they are analysed (autovacuum
    # never sees them): the fan-out of 40,000 alerts took 8.9 s instead of 0.5.
    analyze_temp: bool = False

    def skip_locked(self, table: str) -> str:
        """Return what ends a claim's SELECT: lock the table's rows, skip those others hold."""
        return f" FOR UPDATE OF {table} SKIP LOCKED" if self.row_locks else ""


SQLITE = Dialect()


class Backend(Protocol):
    """A database the stores use: SQLite's Database or PostgreSQL's PgDatabase."""

    busy_retries: int

    def read(self) -> Conn: ...

    def transaction(self, exclusive: bool = True) -> AbstractAsyncContextManager[Conn]: ...

    async def schema_version(self) -> int: ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...


class Connected:
    """What the Store and its parts share: the database and how to read and write it."""

    _db: Backend
    _dialect: Dialect = SQLITE

    @property
    def _read(self) -> Conn:
        """Return a reader connection: reads never queue behind a write."""
        return self._db.read()

    def _transaction(self, exclusive: bool = True) -> AbstractAsyncContextManager[Conn]:
        """Return a write transaction: exclusive holds the one write lock (every replica's);
        on PostgreSQL, a claim of rows under their own locks need not."""
        return self._db.transaction(exclusive)

    async def ready(self) -> bool:
        """Tell whether the database answers and its schema is the latest (for /readyz)."""
        return await self._db.ready()
