"""The store: migrations, seed build, idempotent ingest, updates, removals, bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiosqlite
import pytest

from storage.models import Outcome
from storage.store import Store
from tests.conftest import SEEDS


async def _fts_count(store: Store, term: str) -> int:
    async with aiosqlite.connect(store.path) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM passages_fts WHERE passages_fts MATCH ?", (f'"{term}"',)
        )
        row = await cur.fetchone()
        cur = await conn.execute(
            "INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')"
        )
    assert row is not None
    return int(row[0])


async def test_seed_build_and_migrations(store: Store) -> None:
    stats = await store.stats()
    assert (stats.documents, stats.passages) == (5, 55)
    assert await store.schema_version() == 3
    doc = await store.document("004_e7ca63b51393100c")
    assert doc is not None and doc.outlet == "راديو ألوان"
    assert len(doc.sha256) == 64


async def test_reopen_does_not_reapply(tmp_path: Path) -> None:
    s = await Store.open(tmp_path / "a.db", seeds=SEEDS)
    await s.close()
    s = await Store.open(tmp_path / "a.db", seeds=SEEDS)
    try:
        assert (await s.stats()).documents == 5
        assert await s.schema_version() == 3
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
    assert await _fts_count(store, "كاليبر") == 0


async def test_remove_document_keeps_index_consistent(store: Store) -> None:
    assert await _fts_count(store, "راديو") == 0
    assert await _fts_count(store, "فيسبوك") == 1
    assert await store.remove_document("004_e7ca63b51393100c")
    assert await _fts_count(store, "فيسبوك") == 0
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


async def test_missing_path_is_reported(empty_store: Store, tmp_path: Path) -> None:
    report = await empty_store.ingest([tmp_path / "nope.txt"])
    assert report.files[0].outcome is Outcome.FAILED
    assert report.files[0].reason
