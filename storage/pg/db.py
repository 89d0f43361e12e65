"""A PostgreSQL pool that the stores read and write as they do the SQLite file.

The stores' portable SQL is written with SQLite's `?` placeholders; `numbered` turns them into
PostgreSQL's `$n`. Writes take one advisory lock, as SQLite's writes take its one write lock:
the stores read and then write in one transaction, and their counters and high-water marks
rely on no other writer running in between, whichever replica it is in. Claims of work that
replicas share (the outbox, feeds) take row locks instead (`transaction(exclusive=False)`).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from storage.pg.migrate import available, migrate

WRITE_LOCK = 0x4675726174_0002  # "Furat", 2: held by every write transaction
POOL_SIZE = 10
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?(\d*)")


@functools.lru_cache(maxsize=2048)
def numbered(sql: str) -> str:
    """Return sql with its `?` and `?N` placeholders as `$N` (quoted text is left alone)."""
    count = 0

    def swap(m: re.Match[str]) -> str:
        nonlocal count
        if m[0][0] in "'\"":
            return m[0]
        if m[1]:
            return "$" + m[1]
        count += 1
        return f"${count}"

    return _TOKENS.sub(swap, sql)


@dataclass(frozen=True)
class Done:
    """What a statement without rows did: how many rows it changed."""

    rowcount: int


def _count(status: str) -> int:
    """Return the row count of a command status such as 'INSERT 0 5' or 'UPDATE 3'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgConn:
    """One connection, spoken to as the stores speak to aiosqlite."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Done:
        """Run one statement; return how many rows it changed."""
        return Done(_count(await self.raw.execute(numbered(sql), *parameters)))

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one statement; return all its rows."""
        return list(await self.raw.fetch(numbered(sql), *parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        batch = list(rows)
        if batch:
            await self.raw.executemany(numbered(sql), batch)


class PgReader:
    """Reads on any free connection of the pool: each sees what was committed when it began."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one query; return all its rows."""
        return list(await self._pool.fetch(numbered(sql), *parameters))


class PgDatabase:
    """A pool of connections to one PostgreSQL database, shared with other replicas."""

    busy_retries = 0  # PostgreSQL writers wait for each other: no retries to count

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._reader = PgReader(pool)
        # Writers of this process queue here, each without a pool connection: only one waits
        # for the advisory lock, and readers still find free connections.
        self.write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str, size: int = POOL_SIZE) -> PgDatabase:
        """Connect, and apply the migrations this database lacks (once, however many start)."""
        pool: asyncpg.Pool = await asyncpg.create_pool(url, min_size=1, max_size=size)
        try:
            await migrate(pool)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    def read(self) -> PgReader:
        """Return the reader."""
        return self._reader

    async def close(self) -> None:
        """Close the pool."""
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self, exclusive: bool = True) -> AsyncIterator[PgConn]:
        """Hold one transaction, and the write lock unless it only claims rows."""
        async with (
            self.write_lock if exclusive else _nothing(),
            self.pool.acquire() as conn,
            conn.transaction(),
        ):
            if exclusive:
                await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            yield PgConn(conn)

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        return int(await self.pool.fetchval("SELECT max(version) FROM schema_migrations") or 0)

    async def ready(self) -> bool:
        """Tell whether the database answers and every shipped migration is applied."""
        try:
            return await self.schema_version() == available()[-1].version
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
