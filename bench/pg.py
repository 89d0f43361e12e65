"""The PostgreSQL side of the bench: a server (FURAT_BENCH_PG, else a throwaway one) and databases.

Each benched store gets a new database of its own on that server, dropped at the end, so a
server given in FURAT_BENCH_PG keeps its own databases untouched.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ENV = "FURAT_BENCH_PG"


@contextmanager
def server() -> Iterator[str]:
    """Yield a PostgreSQL server's URL: FURAT_BENCH_PG, else a throwaway server's, stopped after."""
    url = os.environ.get(ENV, "").strip()
    if url:
        yield url
        return
    from tests import pgserver

    started = pgserver.start()
    try:
        yield started.url
    finally:
        pgserver.stop(started.base)


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def database(server_url: str) -> Iterator[str]:
    """Yield the URL of a new, empty database on server_url's server; drop it after."""
    name = f"furat_bench_{secrets.token_hex(6)}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)'))
