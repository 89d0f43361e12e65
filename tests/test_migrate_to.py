"""`furat migrate-to`: a SQLite archive with its chats, feeds and pending pushes, in PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.jobs import alert_not_before
from handlers.render import alert_message
from storage.backends import open_store
from storage.models import Outcome, PushStatus, SubscribeResult
from storage.pg import connect, migrate
from storage.pg import copy as pgcopy
from storage.pg.copy import TABLES, CopyError, copy_all, describe, migrate_to
from tests.conftest import ROOT, SEEDS, furat

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
NEW_ARTICLE = """قصف على الرقة وريف دير الزور

الرقة - سانا

أعلنت قوات سوريا الديمقراطية، اليوم، أن طائرات التحالف قصفت مواقع لتنظيم الدولة في مدينة الرقة.

وقال مراسلون إن الاشتباكات امتدت إلى ريف دير الزور الشرقي قرب البغيلية."""
OTHER_ARTICLE = "عنوان آخر\n\nنص لا علاقة له بأي شيء في الأرشيف الأول."
# Every table migrate-to copies, with the columns compared, the SQLite rows that move, and order.
COMPARED = {
    "documents": (pgcopy._DOCUMENTS, "true", "id"),
    "passages": (pgcopy._PASSAGES, "true", "id"),
    **{t.name: (t.columns, t.where, t.columns.split(",")[0]) for t in TABLES},
    "terms": ("col, term, df", "df > 0", "col, term"),
    "state": (
        "key, value",
        "key IN ('passages', 'surface_tokens', 'last_document_id', 'matched_doc')",
        "key",
    ),
}
DERIVED = {"terms", "state"}  # kept by each backend: PostgreSQL has rows of its own there
# A process's heartbeat, leases and flood buckets live minutes; each backend's own migrations.
# The processes' own rows, and the removal log a new archive's derived indexes start without.
NOT_COPIED = {"presence", "leases", "flood", "schema_migrations", "passage_removals"}


async def _build(path: Path, tmp_path: Path) -> None:
    """Fill a SQLite store with every kind of row migrate-to copies, and some it leaves."""
    store = await open_store(path, seeds=SEEDS)
    try:
        await store.mark_documents_seen()
        await store.ensure_chat(1, "private", "ar", "Asia/Damascus", NOW)
        await store.update_chat(1, digest_time="08:30", quiet_start="23:00", quiet_end="07:00")
        await store.ensure_chat(-100123, "supergroup", "en", "Europe/Berlin", NOW)
        await store.ensure_chat(3, "private", "en", "Asia/Damascus", NOW)
        for chat, query in ((1, "الرقة"), (1, "البغيلية"), (-100123, "Raqqa"), (3, "الرقة")):
            assert await store.subscribe(chat, query, 50) is SubscribeResult.ADDED
        await store.remember_query("الرقة")
        await store.remember_query("دير الزور")
        article = tmp_path / "new_001.txt"
        article.write_text(NEW_ARTICLE, encoding="utf-8")
        await store.ingest([article])
        doc = await store.document("new_001")
        assert doc is not None and doc.agency == "سانا"  # the dateline's agency moves too
        assert await store.match_new_documents(alert_message, alert_not_before, NOW) == 3
        feed = await store.add_feed("https://example.org/rss", "مثال")
        await store.note_entry(feed.id, "guid-1", "fp-1", 1)
        await store.note_entry(feed.id, "guid-2", "fp-2", None)
        later = NOW + timedelta(hours=1)
        for key, chat in (("broadcast:1:7", 1), ("broadcast:-100123:7", -100123)):
            assert await store.enqueue(key, chat, "broadcast", "نص", None, later, NOW)
        await store.enqueue("digest:3:1", 3, "digest", "موجز", '{"k": 1}', NOW, NOW)
        claimed = {(p.kind, p.chat_id): p.id for p in await store.claim_due(NOW, 10)}
        # History that stays in SQLite: sent (chat 3's alert, whose content is its own), failed.
        await store.finish_push(claimed["alert", 3], PushStatus.SENT, NOW)
        await store.finish_push(claimed["alert", -100123], PushStatus.FAILED, NOW, error="403")
        await store.finish_push(claimed["alert", 1], PushStatus.PENDING, NOW, retry_at=later)
        # The digest stays claimed (`sending`): it moves as it is.
    finally:
        await store.close()


@pytest.fixture
async def source(tmp_path: Path) -> Path:
    """Return a SQLite archive holding chats, subscriptions, feeds and pushes in every state."""
    path = tmp_path / "furat.db"
    await _build(path, tmp_path)
    return path


@pytest.fixture
async def pool(pg_database: str) -> AsyncIterator[asyncpg.Pool]:
    """Yield a pool on a new database with the PostgreSQL schema."""
    p = await connect(pg_database)
    await migrate(p)
    yield p
    await p.close()


def _sqlite(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def _values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite keeps whatever type it was given; state values are text in PostgreSQL.
    return tuple(str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row)


async def assert_copied(path: Path, pool: asyncpg.Pool) -> None:
    """Assert that every table copied holds exactly the SQLite rows meant to move."""
    for table, (columns, where, order) in COMPARED.items():
        mine = _sqlite(path, f"SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}")
        theirs = [
            tuple(r)
            for r in await pool.fetch(
                f"SELECT {columns} FROM {table} WHERE {where if table in DERIVED else 'true'}"
                f" ORDER BY {order}"
            )
        ]
        if table in DERIVED:
            theirs, mine = [_values(r) for r in theirs], [_values(r) for r in mine]
        assert theirs == mine, table


async def snapshot(pool: asyncpg.Pool) -> dict[str, object]:
    """Return every table's rows and every sequence's position."""
    tables = [
        r["tablename"]
        for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    found: dict[str, object] = {}
    for table in tables:
        rows = await pool.fetch(f"SELECT * FROM {table}")
        found[table] = sorted(tuple(map(str, r.values())) for r in rows)
    found["sequences"] = [
        tuple(r)
        for r in await pool.fetch(
            "SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename"
        )
    ]
    return found


async def test_every_table_is_copied_with_its_ids(source: Path, pool: asyncpg.Pool) -> None:
    report = await copy_all(source, pool)
    await assert_copied(source, pool)
    # The fixture has rows of every kind, and history that does not move.
    for t in report.tables:
        assert t.copied == t.source > 0, t
    assert _sqlite(source, "SELECT count(*) FROM outbox") == [(6,)]
    assert report.copied("outbox") == 4
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM outbox ORDER BY id")]
    assert sorted(statuses) == ["pending", "pending", "pending", "sending"]
    (content,) = _sqlite(source, "SELECT count(*) FROM push_contents")
    assert report.copied("push_contents") < content[0]
    chat = await pool.fetchrow("SELECT * FROM chats WHERE id = 1")
    assert (chat["digest_time"], chat["quiet_start"], chat["quiet_end"]) == (
        "08:30",
        "23:00",
        "07:00",
    )


async def test_new_rows_after_the_copy_get_new_ids(source: Path, pool: asyncpg.Pool) -> None:
    await copy_all(source, pool)
    for table in ("documents", "passages", "subscriptions", "outbox", "feeds", "queries"):
        top = await pool.fetchval(f"SELECT max(id) FROM {table}")
        following = await pool.fetchval("SELECT nextval(pg_get_serial_sequence($1, 'id'))", table)
        assert following > top, table


async def test_the_bot_carries_on_on_postgresql_where_sqlite_left_off(
    source: Path, pg_database: str, tmp_path: Path
) -> None:
    await migrate_to(source, pg_database)
    sqlite, pg = await open_store(source), await open_store(pg_database)
    try:
        assert await pg.chat(1) == await sqlite.chat(1)
        assert await pg.subscriptions(1) == await sqlite.subscriptions(1)
        assert await pg.subscribe(1, "الرقة", 50) is SubscribeResult.EXISTS
        for query in ("الرقة", "من سيطر على حي الصناعة"):
            assert await pg.search(query, limit=5) == await sqlite.search(query, limit=5)
        later = NOW + timedelta(hours=1)
        due = sorted((p.key, p.chat_id, p.text) for p in await pg.claim_due(later, 10))
        assert due == sorted((p.key, p.chat_id, p.text) for p in await sqlite.claim_due(later, 10))
        # A new article after the move is matched once, to the chats SQLite would alert.
        (tmp_path / "after").mkdir()
        (tmp_path / "after" / "after_001.txt").write_text(
            "قافلة إلى الرقة\n\nوصلت قافلة مساعدات إلى مدينة الرقة صباح اليوم بعد انقطاع طويل.\n",
            encoding="utf-8",
        )
        alerted = []
        for store in (sqlite, pg):
            before = {k async for k, _, _ in store.sent_pushes()}
            assert (await store.ingest([tmp_path / "after"])).count(Outcome.ADDED) == 1
            assert await store.match_new_documents(alert_message, alert_not_before, NOW) > 0
            assert await store.match_new_documents(alert_message, alert_not_before, NOW) == 0
            alerted.append({k async for k, _, _ in store.sent_pushes()} - before)
        assert alerted[0] == alerted[1]
    finally:
        await pg.close()
        await sqlite.close()


async def test_a_second_run_changes_nothing(source: Path, pool: asyncpg.Pool) -> None:
    await copy_all(source, pool)
    before = await snapshot(pool)
    report = await copy_all(source, pool)
    assert [t.copied for t in report.tables] == [0] * len(report.tables)
    assert await snapshot(pool) == before


# With batches of 2 the fixture's copy loads 15 batches: stop before each in turn.
@pytest.mark.parametrize("stop_at", range(1, 16))
async def test_a_run_stopped_midway_finishes_when_run_again(
    source: Path, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, stop_at: int
) -> None:
    monkeypatch.setattr(pgcopy, "BATCH", 2)  # several batches in every table
    real = pgcopy._stage
    calls = 0

    async def stage_then_stop(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == stop_at:
            raise ConnectionResetError("the process died here")
        await real(*args)

    monkeypatch.setattr(pgcopy, "_stage", stage_then_stop)
    with pytest.raises(ConnectionResetError):
        await copy_all(source, pool)
    assert calls == stop_at  # it did stop in the middle
    await copy_all(source, pool)
    await assert_copied(source, pool)


# Loads batches of 2 and dies by SIGKILL with batch N staged, its transaction still open.
DIE_AT = """
import asyncio, os, signal, sys
from pathlib import Path
from storage.pg import copy

copy.BATCH = 2
real, calls = copy._stage, 0


async def stage(*args):
    global calls
    calls += 1
    await real(*args)
    if calls == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)


copy._stage = stage
asyncio.run(copy.migrate_to(Path(sys.argv[1]), sys.argv[2]))
"""


@pytest.mark.parametrize("die_at", [2, 8, 14])
async def test_a_killed_run_finishes_when_run_again(
    source: Path, pg_database: str, die_at: int
) -> None:
    killed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DIE_AT, str(source), pg_database, str(die_at), cwd=ROOT
    )
    assert await killed.wait() == -signal.SIGKILL
    done = await asyncio.to_thread(furat, ["migrate-to", pg_database], source)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[1:]}
    assert rows["outbox"] == ["4", "4"]  # the outbox comes last: the killed run copied none
    p = await connect(pg_database)
    try:
        await assert_copied(source, p)
    finally:
        await p.close()


async def test_two_runs_at_once_copy_everything_once(
    source: Path, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgcopy, "BATCH", 2)
    first, second = await asyncio.gather(copy_all(source, pool), copy_all(source, pool))
    for a, b in zip(first.tables, second.tables, strict=True):
        assert a.copied + b.copied == a.source, a.table
    await assert_copied(source, pool)


async def test_a_database_holding_other_documents_is_refused(
    source: Path, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    other = await open_store(tmp_path / "other.db")
    try:
        article = tmp_path / "other" / "zzz_other.txt"
        article.parent.mkdir()
        article.write_text(OTHER_ARTICLE, encoding="utf-8")
        await other.ingest([article])
    finally:
        await other.close()
    await copy_all(tmp_path / "other.db", pool)
    with pytest.raises(CopyError, match="clashes"):
        await copy_all(source, pool)


def test_every_column_is_copied(source: Path) -> None:
    for table, (columns, _, _) in COMPARED.items():
        names = {c.strip().strip('"') for c in columns.split(",")}
        have = {r[1] for r in _sqlite(source, f"PRAGMA table_info({table})")}
        assert names == have, table


async def test_every_table_but_the_processes_own_is_compared(pool: asyncpg.Pool) -> None:
    tables = {
        r[0]
        for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert tables - NOT_COPIED == set(COMPARED)


async def test_the_command_copies_and_prints_a_table(source: Path, pg_database: str) -> None:
    first = furat(["migrate-to", pg_database], source)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split() == ["table", "in", "SQLite", "copied"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["outbox"] == ["4", "4"]
    assert set(rows) == set(COMPARED) - {"terms", "state"}
    again = furat(["migrate-to", pg_database], source)
    assert again.returncode == 0, again.stderr
    assert all(line.split()[-1] == "0" for line in again.stdout.splitlines()[1:])
    p = await connect(pg_database)
    try:
        await assert_copied(source, p)
    finally:
        await p.close()


def _assert_clean_failure(done: Any, secret: str, says: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://furat:s3cret-pw@127.0.0.1:1/furat", "cannot connect"),
        ("postgresql://furat:s3cret-pw@127.0.0.1:notaport/furat", "cannot connect"),
        ("postgresql://furat:s3cret-pw@[::1/furat", "cannot connect"),
        ("postgres://furat@127.0.0.1:1/furat?password=s3cret-pw", "cannot connect"),
        ("mysql://furat:s3cret-pw@127.0.0.1/furat", "postgresql://"),
        ("s3cret-pw", "postgresql://"),
    ],
)
def test_a_bad_url_is_one_line_without_the_password(source: Path, url: str, says: str) -> None:
    _assert_clean_failure(furat(["migrate-to", url], source), "s3cret-pw", says)


def test_a_missing_archive_is_one_line(tmp_path: Path) -> None:
    url = "postgresql://furat:s3cret-pw@127.0.0.1:1/furat"
    done = furat(["migrate-to", url], tmp_path / "none.db")
    _assert_clean_failure(done, "s3cret-pw", "no SQLite archive")
    assert not (tmp_path / "none.db").exists()


def test_a_file_that_is_not_an_archive_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    url = "postgresql://furat:s3cret-pw@127.0.0.1:1/furat"
    _assert_clean_failure(furat(["migrate-to", url], junk), "s3cret-pw", "cannot open the SQLite")


def test_a_wrong_password_is_one_line(source: Path, pg_url: str) -> None:
    wrong = pg_url.replace("@", "x9wrong@", 1)
    done = furat(["migrate-to", wrong], source)
    _assert_clean_failure(done, "x9wrong", "cannot connect")


def test_postgres_in_furat_db_asks_for_the_sqlite_file(tmp_path: Path) -> None:
    url = "postgresql://a:s3cret-pw@127.0.0.1:1/b"
    done = furat(["migrate-to", url], tmp_path, FURAT_DB=url)
    _assert_clean_failure(done, "s3cret-pw", "--db")


async def test_db_names_the_sqlite_file(source: Path, pg_database: str) -> None:
    done = furat(["migrate-to", "--db", str(source), pg_database], source, FURAT_DB=pg_database)
    assert done.returncode == 0, done.stderr
    p = await connect(pg_database)
    try:
        await assert_copied(source, p)
    finally:
        await p.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@db.example:5433/furat", "u@db.example:5433/furat"),
        ("postgresql://u%40x:p%40w@h/furat?sslmode=require", "u@x@h/furat"),
        ("postgresql:///furat", "localhost/furat"),
        ("postgresql://u:pw@h:port/furat", "the PostgreSQL URL given"),
    ],
)
def test_describe_hides_the_password(url: str, shown: str) -> None:
    assert describe(url) == shown


async def test_migrate_to_refuses_a_missing_file_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(CopyError, match="no SQLite archive"):
        await migrate_to(tmp_path / "none.db", "postgresql://u:pw@127.0.0.1:1/x")
