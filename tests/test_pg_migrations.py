"""PostgreSQL migrations: applied once, idempotent, safe when replicas start together; GIN terms."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from search.analysis import light_stem, tokens
from storage.pg import Migration, available, connect, migrate, missing
from storage.pg.migrate import LOCK_KEY
from storage.pg.terms import passage_terms, phrase_query, term_query
from tests.conftest import ROOT
from tests.test_packaging import _installed_tree

VERSIONS = tuple(m.version for m in available())
TABLES = {
    "documents",
    "passages",
    "ingest_runs",
    "queries",
    "chats",
    "subscriptions",
    "push_contents",
    "outbox",
    "state",
    "terms",
    "topic_matches",
    "presence",
    "leases",
    "flood",
    "feeds",
    "feed_entries",
    "passage_removals",
    "schema_migrations",
}


@pytest.fixture
async def pool(pg_database: str) -> AsyncIterator[asyncpg.Pool]:
    """Yield a pool on a new, empty database."""
    p = await connect(pg_database)
    yield p
    await p.close()


async def _schema(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        "SELECT table_name, column_name, data_type, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY 1, 2"
    )
    indexes = await pool.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    )
    records = await pool.fetch("SELECT * FROM schema_migrations ORDER BY version")
    state = await pool.fetch("SELECT key, value FROM state ORDER BY key")
    return [tuple(r) for r in [*rows, *indexes, *records, *state]]


async def test_migrations_apply_and_record_each_version_once(pool: asyncpg.Pool) -> None:
    assert VERSIONS and VERSIONS[0] == 1
    assert await missing(pool) == VERSIONS

    run = await migrate(pool)

    assert run.applied == VERSIONS
    assert run.version == VERSIONS[-1]
    recorded = await pool.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    shipped = [(m.version, m.name) for m in available()]
    assert [(r["version"], r["name"]) for r in recorded] == shipped
    tables = {
        r["tablename"]
        for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables == TABLES
    assert await missing(pool) == ()


async def test_running_the_migrations_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    await migrate(pool)
    before = await _schema(pool)

    again = await migrate(pool)

    assert again.applied == ()
    assert again.version == VERSIONS[-1]
    assert await _schema(pool) == before


async def test_a_failing_migration_leaves_nothing_and_runs_again_next_time(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    good = Migration(900, "notes", "CREATE TABLE notes (id integer PRIMARY KEY);")
    bad = Migration(901, "broken", "CREATE TABLE half (id integer); SELECT no_such_column;")
    fixed = Migration(901, "broken", "CREATE TABLE half (id integer);")

    with pytest.raises(asyncpg.UndefinedColumnError):
        await migrate(pool, [*available(), good, bad])
    kept = await pool.fetchval(
        "SELECT to_regclass('half') IS NULL AND to_regclass('notes') IS NOT NULL"
    )
    versions = [r["version"] for r in await pool.fetch("SELECT version FROM schema_migrations")]
    run = await migrate(pool, [*available(), good, fixed])

    assert kept
    assert sorted(versions) == [*VERSIONS, 900]
    assert run.applied == (901,)
    assert run.version == 901


def test_the_migrations_ship_with_the_package(tmp_path: Path) -> None:
    lib = _installed_tree(tmp_path)
    shipped = sorted(p.name for p in (lib / "storage" / "pg" / "migrations").glob("*.sql"))
    assert shipped == [f"{m.version:04d}_{m.name}.sql" for m in available()]


_RUNNER = """
import asyncio, json, sys
from storage.pg import connect, migrate

async def main() -> None:
    pool = await connect(sys.argv[1], max_size=1)
    try:
        run = await migrate(pool)
    finally:
        await pool.close()
    print(json.dumps(list(run.applied)))

asyncio.run(main())
"""


async def _advisory_waiters(conn: asyncpg.Connection) -> int:
    waiting: int = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return waiting


async def test_three_processes_starting_at_once_apply_each_migration_exactly_once(
    pg_database: str,
) -> None:
    holder = await asyncpg.connect(pg_database)
    procs = []
    try:
        # Holding the migrations' lock keeps all three at the starting line until each waits on
        # it; releasing it lets them race.
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        for _ in range(3):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    _RUNNER,
                    pg_database,
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            )
        deadline = time.monotonic() + 120
        while await _advisory_waiters(holder) < 3:
            exited = [p.returncode for p in procs if p.returncode is not None]
            assert not exited, f"a runner exited before reaching the lock: {exited}"
            assert time.monotonic() < deadline, "the three runners never all waited on the lock"
            await asyncio.sleep(0.05)
        await tx.commit()
        outputs = [await p.communicate() for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await holder.close()

    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()
    applied = [v for out, _ in outputs for v in json.loads(out)]
    assert sorted(applied) == list(VERSIONS)
    conn = await asyncpg.connect(pg_database)
    try:
        rows = await conn.fetch(
            "SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY 1"
        )
    finally:
        await conn.close()
    assert [(r["version"], r["n"]) for r in rows] == [(v, 1) for v in VERSIONS]


def _analysed(text: str) -> tuple[list[str], list[str]]:
    toks = tokens(text)
    return toks, [light_stem(t) for t in toks]


PASSAGES = [
    "أعلنت وزارة التربية عن افتتاح المدارس الجديدة في حلب",
    "ارتفعت أسعار الخبز في دمشق هذا الأسبوع",
    "The ministry of education opened new schools in Aleppo",
]


async def _filed(pool: asyncpg.Pool) -> dict[str, int]:
    await migrate(pool)
    doc_id = await pool.fetchval(
        "INSERT INTO documents (key, source_path, sha256, title, body, title_terms, ingested_at)"
        " VALUES ('k', 'k.txt', 'x', 'مدارس حلب', $1, $2, '2026-01-01T00:00:00Z') RETURNING id",
        "\n\n".join(PASSAGES),
        " ".join(tokens("مدارس حلب")),
    )
    ids = {}
    for ordinal, text in enumerate(PASSAGES):
        surface, stem = _analysed(text)
        ids[text] = await pool.fetchval(
            'INSERT INTO passages (document_id, ordinal, text, "offset", surface, stem, terms)'
            " VALUES ($1, $2, $3, 0, $4, $5, $6::tsvector) RETURNING id",
            doc_id,
            ordinal,
            text,
            " ".join(surface),
            " ".join(stem),
            passage_terms(surface, stem),
        )
    return ids


async def _matching(pool: asyncpg.Pool, query: str) -> tuple[set[int], str]:
    async with pool.acquire() as conn, conn.transaction():
        # Three rows would be read with a sequential scan; the index path is what is tested.
        await conn.execute("SET LOCAL enable_seqscan = off")
        sql = "SELECT id FROM passages WHERE terms @@ $1::tsquery"
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", query))
        found = {r["id"] for r in await conn.fetch(sql, query)}
    return found, plan


@pytest.mark.parametrize(
    ("word", "column", "expected"),
    [
        ("مدارس", "stem", PASSAGES[0]),  # a user's "schools" finds "the schools" by its stem
        ("المدارس", "surface", PASSAGES[0]),
        ("مدارس", "surface", None),  # surface terms are not stems: the columns stay apart
        ("الخبز", "surface", PASSAGES[1]),
        ("aleppo", "stem", PASSAGES[2]),
        ("القاهره", "stem", None),
    ],
)
async def test_a_gin_indexed_term_finds_its_passage(
    pool: asyncpg.Pool, word: str, column: str, expected: str | None
) -> None:
    ids = await _filed(pool)
    (term,) = tokens(word)
    if column == "stem":
        term = light_stem(term)

    found, plan = await _matching(pool, term_query(term, column))

    assert "passages_terms" in plan
    assert found == ({ids[expected]} if expected else set())


async def test_a_phrase_matches_adjacent_terms_in_order(pool: asyncpg.Pool) -> None:
    ids = await _filed(pool)

    near, plan = await _matching(pool, phrase_query(["اسعار", "الخبز"], "surface"))
    apart, _ = await _matching(pool, phrase_query(["الخبز", "اسعار"], "surface"))
    stems, _ = await _matching(pool, phrase_query(_analysed("وأسعار خبز")[1], "stem"))

    assert "passages_terms" in plan
    assert near == {ids[PASSAGES[1]]}
    assert apart == set()
    assert stems == {ids[PASSAGES[1]]}


async def test_document_version_counts_changes(pool: asyncpg.Pool) -> None:
    await _filed(pool)
    await pool.execute("UPDATE documents SET sha256 = 'y'")
    await pool.execute("DELETE FROM documents")

    assert await pool.fetchval("SELECT value FROM state WHERE key = 'doc_version'") == "3"
    assert await pool.fetchval("SELECT count(*) FROM passages") == 0
