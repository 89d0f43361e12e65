"""Shared fixtures: a store built from the seeds in a temporary folder."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def furat(
    args: list[str], db: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` on a database, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(SEEDS), **env},
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """Yield a store holding the five seed articles."""
    s = await Store.open(tmp_path / "furat.db", seeds=SEEDS)
    yield s
    await s.close()


@pytest.fixture
async def empty_store(tmp_path: Path) -> AsyncIterator[Store]:
    """Yield a store with no documents."""
    s = await Store.open(tmp_path / "empty.db")
    yield s
    await s.close()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Yield the URL of a PostgreSQL database: FURAT_TEST_PG, else a throwaway server's."""
    url = os.environ.get("FURAT_TEST_PG")
    if url:
        yield url
        return
    from tests import pgserver

    if pgserver.bin_dir() is None:
        reason = "PostgreSQL: no server and no initdb (set FURAT_TEST_PG)"
    else:
        try:
            server = pgserver.start()
        except RuntimeError as e:
            reason = f"PostgreSQL: the throwaway server did not start: {e}"
        else:
            try:
                yield server.url
            finally:
                pgserver.stop(server.base)
            return
    # CI promises both backends: a PostgreSQL test that cannot get a server is a failure there.
    if _in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """Yield the URL of a new, empty PostgreSQL database on pg_url's server; drop it after."""
    name = f"furat_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()
