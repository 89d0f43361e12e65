"""Shared fixtures: a store built from the seeds in a temporary folder."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from storage.backends import open_store
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def furat(
    args: list[str], db: Path | str, stdin: str | None = None, **env: str
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


def on_postgres() -> bool:
    """Tell whether this run puts the store fixtures on PostgreSQL (FURAT_TEST_BACKEND)."""
    return os.environ.get("FURAT_TEST_BACKEND", "sqlite") == "postgresql"


@pytest.fixture(scope="session")
def pg_seeded(pg_url: str) -> str:
    """Return the name of a PostgreSQL template database holding the seeds."""
    name = f"furat_seeded_{secrets.token_hex(6)}"

    async def build() -> None:
        await _create_database(pg_url, name)
        store = await open_store(_database_url(pg_url, name), seeds=SEEDS)
        await store.close()

    # Requested from inside a test's event loop: built on a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, build()).result()
    return name


@asynccontextmanager
async def _store_for(
    request: pytest.FixtureRequest, path: Path, seeded: bool
) -> AsyncIterator[Store]:
    """Open a store on this run's backend: a SQLite file at path, or a new PostgreSQL database."""
    if not on_postgres():
        s = await open_store(path, seeds=SEEDS if seeded else None)
        try:
            yield s
        finally:
            await s.close()
        return
    template = request.getfixturevalue("pg_seeded") if seeded else "template0"
    async with _new_database(request, template) as url:
        # Each replica keeps its own derived index: this one's beside where SQLite's would be.
        s = await open_store(url, index=Path(f"{path}.index"))
        try:
            yield s
        finally:
            await s.close()


@asynccontextmanager
async def _new_database(request: pytest.FixtureRequest, template: str) -> AsyncIterator[str]:
    """Create a PostgreSQL database for one test (a copy of template); drop it after."""
    pg_url: str = request.getfixturevalue("pg_url")
    name = f"furat_test_{secrets.token_hex(6)}"
    await _create_database(pg_url, name, template)
    try:
        yield _database_url(pg_url, name)
    finally:
        await _drop_database(pg_url, name)


@pytest.fixture
async def database(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    """Yield the Settings fields naming a new database on this run's backend (for an app)."""
    if not on_postgres():
        yield {"db_path": tmp_path / "bot.db"}
        return
    async with _new_database(request, "template0") as url:
        yield {"db_url": url}


@pytest.fixture
def db_target(database: dict[str, Any]) -> Path | str:
    """Return this run's database as FURAT_DB names it: a SQLite file, or a PostgreSQL URL."""
    return database.get("db_url") or database["db_path"]


@pytest.fixture
async def two_stores(db_target: Path | str) -> AsyncIterator[tuple[Store, Store]]:
    """Yield two stores on one database, as two replicas have."""
    a = await open_store(db_target)
    b = await open_store(db_target)
    yield a, b
    await a.close()
    await b.close()


@pytest.fixture
async def store(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Yield a store holding the five seed articles."""
    async with _store_for(request, tmp_path / "furat.db", seeded=True) as s:
        yield s


@pytest.fixture
async def empty_store(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """Yield a store with no documents."""
    async with _store_for(request, tmp_path / "empty.db", seeded=False) as s:
        yield s


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


def _database_url(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def _create_database(server_url: str, name: str, template: str = "template0") -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """Yield the URL of a new, empty PostgreSQL database on pg_url's server; drop it after."""
    name = f"furat_test_{secrets.token_hex(6)}"
    await _create_database(pg_url, name)
    try:
        yield _database_url(pg_url, name)
    finally:
        await _drop_database(pg_url, name)


async def rows_of(
    store: Store, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    """Read rows straight from a store's database, whichever backend (portable SQL, `?`)."""
    return [tuple(row) for row in await store._read.execute_fetchall(sql, params)]


async def change(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    """Write straight to a store's database, whichever backend, as another writer would."""
    async with store._transaction() as conn:
        await conn.execute(sql, params)


async def index_counts(store: Store) -> set[tuple[str, str, int]]:
    """Return (column, term, passages holding it) as the search index itself has them."""
    if not on_postgres():
        return {tuple(r) for r in await rows_of(store, "SELECT col, term, doc FROM passages_vocab")}
    df: Counter[tuple[str, str]] = Counter()
    for surface, stem in await rows_of(store, "SELECT surface, stem FROM passages"):
        for col, text in (("surface", surface), ("stem", stem)):
            df.update((col, term) for term in set(str(text).split()))
    return {(col, term, n) for (col, term), n in df.items()}


async def indexed_passages(store: Store, term: str) -> int:
    """Return how many passages the search index finds holding term (surface or stem)."""
    if on_postgres():
        from storage.pg.terms import quote

        found = await rows_of(
            store, "SELECT count(*) FROM passages WHERE terms @@ CAST(? AS tsquery)", (quote(term),)
        )
        return int(found[0][0])  # type: ignore[call-overload]
    found = await rows_of(
        store, "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?", (f'"{term}"',)
    )
    await change(store, "INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
    return int(found[0][0])  # type: ignore[call-overload]


sqlite_only = pytest.mark.skipif(
    on_postgres(), reason="checks SQLite itself (its file, FTS5 or migrations)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, keep the tests whose database is the run's: the rest ran already."""
    if not on_postgres():
        return
    wanted = {"store", "empty_store", "database"}
    kept = [i for i in items if wanted & set(getattr(i, "fixturenames", ()))]
    chosen = set(kept)
    config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
    items[:] = kept
