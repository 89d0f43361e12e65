"""The PostgreSQL backend: a connection pool, its migrations and its index terms."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from storage.pg.migrate import Migration, MigrationRun, available, migrate, missing

__all__ = [
    "Migration",
    "MigrationRun",
    "available",
    "connect",
    "is_postgres_url",
    "migrate",
    "missing",
    "without_password",
]


def is_postgres_url(database: str) -> bool:
    """Tell whether a FURAT_DB value names a PostgreSQL database rather than a SQLite file."""
    return database.startswith(("postgresql://", "postgres://"))


def without_password(url: str) -> str:
    """Return a database URL fit to show: no user, no password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


async def connect(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool of connections to the PostgreSQL database at URL."""
    pool: asyncpg.Pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
    return pool
