"""The store: migrations, seed build, idempotent ingest, updates, removals, bad files."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from storage.backends import open_store
from storage.db import Database
from storage.files import READ_CHUNK
from storage.models import Outcome, PushKind
from storage.store import Store
from storage.timestamps import iso
from tests.conftest import SEEDS, index_counts, indexed_passages, rows_of, sqlite_only

LATEST_MIGRATION = max(
    int(p.name[:4]) for p in (Path(__file__).parent.parent / "storage/migrations").glob("*.sql")
)


@sqlite_only
async def test_seed_build_and_migrations(store: Store) -> None:
    stats = await store.stats()
    assert (stats.documents, stats.passages) == (5, 55)
    assert await store.schema_version() == LATEST_MIGRATION
    doc = await store.document("004_e7ca63b51393100c")
    assert doc is not None and doc.outlet == "راديو ألوان"
    assert len(doc.sha256) == 64


async def test_reopen_does_not_reapply(tmp_path: Path) -> None:
    s = await open_store(tmp_path / "a.db", seeds=SEEDS)
    await s.close()
    s = await open_store(tmp_path / "a.db", seeds=SEEDS)
    try:
        assert (await s.stats()).documents == 5
        assert await s.schema_version() == LATEST_MIGRATION
    finally:
        await s.close()


async def test_reingest_is_idempotent(store: Store) -> None:
    report = await store.ingest([SEEDS])
    assert report.count(Outcome.UNCHANGED) == 5
    assert report.summary() == "0 added, 0 updated, 5 unchanged, 0 failed"
    assert (await store.stats()).passages == 55


async def test_changed_file_replaces_its_passages(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    target = folder / "000_d5ad7216e4dfa7f1.txt"
    target.write_text("عنوان جديد\n\nفقرة وحيدة عن الزرافة الطائرة.", encoding="utf-8")
    report = await store.ingest([target])
    assert report.count(Outcome.UPDATED) == 1
    assert (await store.stats()).passages == 55 - 12 + 1
    assert [h.doc for h in await store.search("الزرافة")] == ["000_d5ad7216e4dfa7f1"]
    assert await store.search("كاليبر") == []  # the old passages left the index too
    assert await indexed_passages(store, "كاليبر") == 0


async def test_remove_document_keeps_index_consistent(store: Store) -> None:
    assert await indexed_passages(store, "راديو") == 0
    assert await indexed_passages(store, "فيسبوك") == 1
    assert await store.remove_document("004_e7ca63b51393100c")
    assert await indexed_passages(store, "فيسبوك") == 0
    assert not await store.remove_document("004_e7ca63b51393100c")
    assert (await store.stats()).documents == 4


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("latin1.txt", "خبر".encode() + b"\xff\xfe caf\xe9", "not UTF-8"),
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t ", "empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("controls.txt", b"\x01\x02\x03\x04" * 10 + "نص".encode(), "binary"),
        ("huge.txt", "ا".encode() * (3 * 1024 * 1024), "larger than 5 MB"),
        ("furniture.txt", "Ad\n\nالوسوم\n\nالتعليقات".encode(), "no article text"),
    ],
)
async def test_bad_file_is_reported_and_the_rest_lands(
    empty_store: Store, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(content)
    shutil.copy(SEEDS / "001_0aea0dda11806ef6.txt", folder)
    report = await empty_store.ingest([folder])
    failed = [f for f in report.files if f.outcome is Outcome.FAILED]
    assert len(failed) == 1 and failed[0].reason and reason in failed[0].reason
    assert report.count(Outcome.ADDED) == 1
    assert (await empty_store.stats()).documents == 1


async def test_agency_is_stored_and_returned(empty_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    wire = folder / "wire.txt"
    wire.write_text("اتفاق الموانئ\n\nالرياض - واس\n\nوقعت هيئة الموانئ اتفاق التشغيل أمس.\n")
    (folder / "own.txt").write_text("افتتاح المعرض\n\nنبأ- جدة: افتتح معرض الكتاب أمس.\n")
    await empty_store.ingest([folder])
    doc = await empty_store.document("wire")
    assert doc is not None and (doc.outlet, doc.agency) == (None, "واس")
    own = await empty_store.document("own")
    assert own is not None and (own.outlet, own.agency) == ("نبأ", None)
    assert [(h.doc, h.agency) for h in await empty_store.search("الموانئ")] == [("wire", "واس")]
    assert [(h.doc, h.agency) for h in await empty_store.search("معرض الكتاب")] == [("own", None)]
    # A changed file carries its new dateline's agency.
    wire.write_text("اتفاق الموانئ\n\nدبي (وام) - وقعت هيئة الموانئ اتفاق التشغيل أمس.\n")
    await empty_store.ingest([folder])
    doc = await empty_store.document("wire")
    assert doc is not None and doc.agency == "وام"


async def test_missing_path_is_reported(empty_store: Store, tmp_path: Path) -> None:
    report = await empty_store.ingest([tmp_path / "nope.txt"])
    assert report.files[0].outcome is Outcome.FAILED
    assert report.files[0].reason


async def test_files_land_in_order_across_read_chunks(empty_store: Store, tmp_path: Path) -> None:
    n = READ_CHUNK * 2 + 5
    for i in range(n):
        (tmp_path / f"{i:03d}_report.txt").write_text(
            f"عنوان الخبر {i}\n\nتقدمت القوات في الحي رقم {i} صباح اليوم وسط اشتباكات عنيفة.\n",
            encoding="utf-8",
        )
    report = await empty_store.ingest([tmp_path])
    assert [f.key for f in report.files] == [f"{i:03d}_report" for i in range(n)]
    assert report.count(Outcome.ADDED) == n == (await empty_store.stats()).documents


async def _counts(store: Store) -> tuple[set[tuple[object, ...]], set[tuple[str, str, int]]]:
    kept = set(await rows_of(store, "SELECT col, term, df FROM terms"))
    totals = dict(await rows_of(store, "SELECT key, value FROM state"))
    texts = await rows_of(store, "SELECT surface FROM passages")
    passages, tokens = len(texts), sum(len(str(t).split()) for (t,) in texts)
    assert (int(totals["passages"]), int(totals["surface_tokens"])) == (passages, tokens)
    return kept, await index_counts(store)


async def test_term_counts_follow_adds_updates_and_removals(store: Store, tmp_path: Path) -> None:
    # The counts search plans with are kept by ingest; the FTS5 index is the truth.
    kept, truth = await _counts(store)
    assert kept == truth and len(kept) > 1000
    changed = tmp_path / "004_e7ca63b51393100c.txt"
    text = (SEEDS / changed.name).read_text(encoding="utf-8")
    changed.write_text(text.replace("الرقة", "البرهومي"), encoding="utf-8")
    assert (await store.ingest([changed])).count(Outcome.UPDATED) == 1
    kept, truth = await _counts(store)
    assert kept == truth and any(term == "البرهومي" for _, term, _ in kept)
    assert await store.remove_document("004_e7ca63b51393100c")
    assert await store.remove_document("000_d5ad7216e4dfa7f1")
    kept, truth = await _counts(store)
    assert kept == truth


async def test_terms_migration_counts_an_existing_archive(tmp_path: Path) -> None:
    s = await open_store(tmp_path / "old.db", seeds=SEEDS)
    await s.close()
    # Roll the archive back to before migration 5, as an archive built by an older release.
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        await conn.execute("DROP TABLE terms")
        await conn.execute("DELETE FROM state WHERE key IN ('passages', 'surface_tokens')")
        await conn.execute("DELETE FROM schema_migrations WHERE version = 5")
        await conn.commit()
    s = await open_store(tmp_path / "old.db", seeds=SEEDS)
    try:
        kept, truth = await _counts(s)
        assert kept == truth and await s.schema_version() == LATEST_MIGRATION
    finally:
        await s.close()


async def test_outbox_rebuild_keeps_pending_pushes(tmp_path: Path) -> None:
    # An archive built by a release before migration 6, holding pushes, is upgraded.
    db = await Database.open(str(tmp_path / "old.db"), upto=5)
    at = iso(datetime(2026, 11, 22, tzinfo=UTC))
    await db.writer.executemany(
        "INSERT INTO outbox (idempotency_key, chat_id, kind, text, not_before, created_at)"
        " VALUES (?, ?, 'broadcast', ?, ?, ?)",
        [(f"broadcast:{i}:x", i, f"نص {i}", at, at) for i in range(3)],
    )
    await db.close()
    s = await open_store(tmp_path / "old.db")
    at = datetime(2026, 11, 22, tzinfo=UTC)
    try:
        assert await s.schema_version() == LATEST_MIGRATION
        due = await s.claim_due(at, 10)
        assert [(p.key, p.chat_id, p.text) for p in due] == [
            (f"broadcast:{i}:x", i, f"نص {i}") for i in range(3)
        ]
        assert not await s.enqueue("broadcast:0:x", 0, PushKind.BROADCAST, "مكرر", None, at, at)
        indexes = await s._read.execute_fetchall("PRAGMA index_list(outbox)")
        assert {"outbox_due", "outbox_chat"} <= {row["name"] for row in indexes}
        assert not await s._read.execute_fetchall("PRAGMA foreign_key_list(outbox)")
    finally:
        await s.close()


async def test_same_key_twice_in_one_batch_updates(empty_store: Store, tmp_path: Path) -> None:
    # One ingest run can meet a key twice (two folders): the later file replaces the earlier,
    # within one batch, and the passages and term counts follow.
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, word in ((first, "الرقة"), (second, "البرهومي")):
        folder.mkdir()
        (folder / "k.txt").write_text(
            f"عنوان الخبر\n\nقصف على {word} اليوم.\n\nفقرة ثانية عن {word}.", encoding="utf-8"
        )
    (first / "other.txt").write_text("خبر آخر\n\nنص الخبر الآخر هنا.", encoding="utf-8")
    report = await empty_store.ingest([first, second])
    assert [f.outcome for f in report.files] == [Outcome.ADDED, Outcome.ADDED, Outcome.UPDATED]
    assert (await empty_store.stats()).documents == 2
    hits = await empty_store.search("البرهومي")
    assert len(hits) == 2 and not await empty_store.search("الرقة")
    kept, truth = await _counts(empty_store)
    assert kept == truth
