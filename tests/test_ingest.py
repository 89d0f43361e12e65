"""Ingest: document identity, encodings, special files, renames and removals, off-loop work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from pathlib import Path

import pytest

import storage.ingest
from storage.files import article_key, decode_article
from storage.models import IngestReport, Outcome
from storage.store import Store
from tests.conftest import SEEDS, furat, index_counts, rows_of

ARTICLE = "عنوان الخبر\n\nقال المتحدث باسم الوزارة إن الاجتماع سيعقد غدا في {word}.\n"
OLD_NS = 1_600_000_000 * 10**9  # a modification time long past: stable, so recorded


def write(path: Path, word: str, when: int | None = OLD_NS) -> Path:
    """Write an article naming word; give it an old mtime unless when is None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ARTICLE.format(word=word), encoding="utf-8")
    if when is not None:
        os.utime(path, ns=(when, when))
    return path


async def consistent_counts(store: Store) -> bool:
    """Tell whether the kept term counts match the search index."""
    return set(await rows_of(store, "SELECT col, term, df FROM terms")) == await index_counts(store)


def outcomes(report: IngestReport) -> list[tuple[str | None, Outcome]]:
    return [(f.key, f.outcome) for f in report.files]


async def test_same_name_in_two_folders_is_two_documents(
    empty_store: Store, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "a" / "k.txt", "دمشق")
    write(tmp_path / "in" / "b" / "k.txt", "حلب")
    report = await empty_store.ingest([tmp_path / "in"])
    assert outcomes(report) == [("a/k", Outcome.ADDED), ("b/k", Outcome.ADDED)]
    assert [h.doc for h in await empty_store.search("حلب")] == ["b/k"]
    again = await empty_store.ingest([tmp_path / "in"])
    assert outcomes(again) == [("a/k", Outcome.UNCHANGED), ("b/k", Outcome.UNCHANGED)]


@pytest.mark.parametrize(
    ("path", "root", "key"),
    [
        ("seeds/000_x.txt", "seeds", "000_x"),
        ("in/a/k.txt", "in", "a/k"),
        ("in/A.TXT", "in", "A"),
        ("in/sub.txt/b.Txt", "in", "sub.txt/b"),
        ("in/خبر عاجل.txt", "in", "خبر عاجل"),
        ("elsewhere/000_x.txt", None, "000_x"),
        ("notes.v2.TXT", None, "notes.v2"),
    ],
)
def test_article_key(path: str, root: str | None, key: str) -> None:
    assert article_key(Path(path), Path(root) if root else None) == key


async def test_seed_keys_stay_their_file_stems(store: Store) -> None:
    doc = await store.document("000_d5ad7216e4dfa7f1")
    assert doc is not None and doc.source_path.endswith("000_d5ad7216e4dfa7f1.txt")


@pytest.mark.parametrize(
    ("encode", "detail"),
    [
        (lambda t: t.encode("utf-8"), None),
        (lambda t: "\ufeff".encode() + t.encode("utf-8"), None),
        (lambda t: t.encode("cp1256"), "decoded from windows-1256"),
        (lambda t: b"\xff\xfe" + t.encode("utf-16-le"), "decoded from UTF-16LE"),
        (lambda t: b"\xfe\xff" + t.encode("utf-16-be"), "decoded from UTF-16BE"),
    ],
)
async def test_legacy_encodings_are_decoded_and_said(
    empty_store: Store, tmp_path: Path, encode: object, detail: str | None
) -> None:
    path = tmp_path / "legacy.txt"
    assert callable(encode)
    path.write_bytes(encode(ARTICLE.format(word="الرقة") + "وأضاف أن الوفد وصل صباح اليوم.\n"))
    report = await empty_store.ingest([path])
    assert [(f.outcome, f.reason) for f in report.files] == [(Outcome.ADDED, detail)]
    assert [h.doc for h in await empty_store.search("الرقة")] == ["legacy"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        # UTF-8 Arabic with one broken byte would read as Arabic-looking mojibake in cp1256.
        ("خبر عاجل عن القصف على المدينة".encode() + b"\xff", "not UTF-8"),
        ("café crème au lait".encode("latin-1"), "not UTF-8"),
        (b"\xff\xfe\x00\xd8A\x00", "binary"),  # a lone surrogate after a UTF-16 BOM
        (b"\xff\xfe\x00\x00" + "نص".encode("utf-32-le"), "binary"),  # UTF-32: NULs
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\x01\x02\x03\x04\x05\x06" * 5 + "نص قصير".encode(), "control characters"),
    ],
)
def test_undecodable_bytes_are_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_article(raw)


@pytest.mark.parametrize(
    "text",
    [
        # U+001A as bullet marks, two in a short list: over one character in a hundred.
        "عنوان\n\n\x1a البند الأول\n\x1a البند الثاني\n",
        "نص\x1aملتصق بعلامة واحدة.",
        "فقرة فيها\x0b فاصل عمودي و\x1b رمز هروب.",
    ],
)
def test_stray_control_characters_do_not_refuse_text(text: str) -> None:
    assert decode_article(text.encode()) == (text, "UTF-8")


async def test_fifo_named_directly_is_refused_unopened(empty_store: Store, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    inside = tmp_path / "in" / "x.txt"
    inside.parent.mkdir()
    os.mkfifo(inside)
    write(tmp_path / "in" / "ok.txt", "حلب")
    try:
        # An open for reading would wait for a writer forever: the guard only ends the test.
        report = await asyncio.wait_for(empty_store.ingest([fifo, tmp_path / "in"]), 60)
    finally:
        for pipe in (fifo, inside):  # release a reader the old code left blocked
            with contextlib.suppress(OSError):  # no reader left: nothing to release
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    assert [(f.key, f.outcome, f.reason) for f in report.files] == [
        ("pipe", Outcome.FAILED, "not a regular file (FIFO)"),
        ("ok", Outcome.ADDED, None),
        ("x", Outcome.FAILED, "not a regular file (FIFO)"),
    ]


async def test_folder_named_txt_and_upper_case_suffixes(empty_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "news.txt"
    write(folder / "A.TXT", "دمشق")
    write(folder / "sub.txt" / "b.Txt", "حلب")
    (folder / "notes.md").write_text("ليس مقالا", encoding="utf-8")
    report = await empty_store.ingest([folder])
    assert outcomes(report) == [("A", Outcome.ADDED), ("sub.txt/b", Outcome.ADDED)]


async def test_renamed_file_moves_its_document(empty_store: Store, tmp_path: Path) -> None:
    old = write(tmp_path / "in" / "old.txt", "حلب")
    await empty_store.ingest([tmp_path / "in"])
    before = await empty_store.document("old")
    assert before is not None
    old.rename(tmp_path / "in" / "new.txt")
    report = await empty_store.ingest([tmp_path / "in"])
    assert [(f.key, f.outcome, f.reason) for f in report.files] == [
        ("new", Outcome.RENAMED, "was old")
    ]
    after = await empty_store.document("new")
    assert after is not None and after.id == before.id
    assert await empty_store.document("old") is None
    assert [h.doc for h in await empty_store.search("حلب")] == ["new"]


async def test_file_gone_from_its_folder_removes_its_document(
    empty_store: Store, tmp_path: Path
) -> None:
    write(tmp_path / "in" / "a.txt", "حلب")
    gone = write(tmp_path / "in" / "b.txt", "الرقة")
    elsewhere = write(tmp_path / "other" / "c.txt", "إدلب")
    await empty_store.ingest([tmp_path / "in", elsewhere])
    gone.unlink()
    report = await empty_store.ingest([tmp_path / "in"])
    assert outcomes(report) == [("a", Outcome.UNCHANGED), ("b", Outcome.REMOVED)]
    assert report.summary() == "0 added, 0 updated, 1 unchanged, 0 failed, 1 removed"
    assert await empty_store.search("الرقة") == []
    assert (await empty_store.stats()).documents == 2  # c was named alone: not in the folder
    assert await consistent_counts(empty_store)


async def test_removed_document_id_is_never_reused(empty_store: Store, tmp_path: Path) -> None:
    await empty_store.ingest([write(tmp_path / "a.txt", "حلب")])
    await empty_store.ingest([write(tmp_path / "b.txt", "دمشق")])
    b = await empty_store.document("b")
    assert b is not None
    assert await empty_store.remove_document("b")
    await empty_store.ingest([write(tmp_path / "c.txt", "الرقة")])
    c = await empty_store.document("c")
    assert c is not None and c.id > b.id


async def test_unchanged_folder_is_skipped_without_reading(
    empty_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write(tmp_path / "in" / "a.txt", "حلب")
    write(tmp_path / "in" / "b.txt", "دمشق")
    await empty_store.ingest([tmp_path / "in"])
    reads: list[Path] = []
    real = storage.ingest.read_article

    def counting(path: Path) -> bytes:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(storage.ingest, "read_article", counting)
    report = await empty_store.ingest([tmp_path / "in"], record_unchanged=False)
    assert report.count(Outcome.UNCHANGED) == 2 and reads == []
    # Same size and mtime: taken as unchanged before any byte is read or hashed.
    a.write_text(ARTICLE.format(word="حمص"), encoding="utf-8")  # as many bytes
    os.utime(a, ns=(OLD_NS, OLD_NS))
    report = await empty_store.ingest([tmp_path / "in"])
    assert report.count(Outcome.UNCHANGED) == 2 and reads == []


async def test_fresh_file_is_read_until_its_mtime_is_settled(
    empty_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file written this instant may change again within its mtime tick (git's racy clean).
    fresh = write(tmp_path / "in" / "a.txt", "حلب", when=None)
    await empty_store.ingest([tmp_path / "in"])
    reads: list[Path] = []
    real = storage.ingest.read_article
    monkeypatch.setattr(storage.ingest, "read_article", lambda p: reads.append(p) or real(p))
    assert (await empty_store.ingest([tmp_path / "in"])).count(Outcome.UNCHANGED) == 1
    assert reads == [fresh]
    os.utime(fresh, ns=(OLD_NS, OLD_NS))
    await empty_store.ingest([tmp_path / "in"])  # read once more, and its stat recorded
    await empty_store.ingest([tmp_path / "in"])
    assert reads == [fresh, fresh]


async def test_heavy_work_runs_off_the_event_loop(
    empty_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, set[int]] = {}

    def spy(name: str, real: object) -> object:
        assert callable(real)

        def wrapper(*args: object, **kwargs: object) -> object:
            seen.setdefault(name, set()).add(threading.get_ident())
            return real(*args, **kwargs)

        return wrapper

    for name in ("find_articles", "read_article", "clean_article", "tokens", "_added_counts"):
        monkeypatch.setattr(storage.ingest, name, spy(name, getattr(storage.ingest, name)))
    write(tmp_path / "in" / "a.txt", "حلب")
    changed = write(tmp_path / "in" / "b.txt", "دمشق")
    await empty_store.ingest([tmp_path / "in"])
    changed.write_text(ARTICLE.format(word="الرقة") + "وفقرة أخرى.\n", encoding="utf-8")
    await empty_store.ingest([tmp_path / "in"])  # an update counts the old passages out
    assert set(seen) == {"find_articles", "read_article", "clean_article", "tokens"} | {
        "_added_counts"
    }
    assert all(loop_thread not in threads for threads in seen.values()), seen


async def test_title_paragraph_stays_searchable(empty_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("سقوط قذائف على حي الميدان.\n\nوقال شهود إن الأضرار مادية.", encoding="utf-8")
    report = await empty_store.ingest([path])
    assert report.count(Outcome.ADDED) == 1
    assert [h.doc for h in await empty_store.search("قذائف الميدان")] == ["short"]
    doc = await empty_store.document("short")
    assert doc is not None and doc.title == "سقوط قذائف على حي الميدان"


async def test_words_only_in_the_headline_find_the_article(
    empty_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "summit.txt"
    path.write_text(
        "قمة استثنائية في الدوحة\n\nاجتمع القادة العرب اليوم لبحث الأوضاع في المنطقة.\n",
        encoding="utf-8",
    )
    await empty_store.ingest([path])
    hits = await empty_store.search("قمة استثنائية")
    assert [(h.doc, h.passage[:12]) for h in hits] == [("summit", "اجتمع القادة")]
    assert await empty_store.search('استثنائية" OR *') != []  # quoted: no FTS5 syntax
    await empty_store.remove_document("summit")
    assert await empty_store.search("استثنائية") == []


async def test_article_of_one_paragraph_citing_hashtags_lands(
    empty_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "tags.txt"
    path.write_text(
        "وانتشر وسما #أنقذوا_حلب و #حلب_تحترق على مواقع التواصل بعد قصف المدينة أمس.",
        encoding="utf-8",
    )
    report = await empty_store.ingest([path])
    assert report.count(Outcome.ADDED) == 1
    assert [h.doc for h in await empty_store.search("مواقع التواصل")] == ["tags"]


async def test_two_overlapping_ingests_agree(empty_store: Store, tmp_path: Path) -> None:
    for i in range(40):
        write(tmp_path / "in" / f"{i:02d}.txt", f"حي رقم {i}")
    first, second = await asyncio.gather(
        empty_store.ingest([tmp_path / "in"]), empty_store.ingest([tmp_path / "in"])
    )
    assert first.count(Outcome.ADDED) + second.count(Outcome.ADDED) == 40
    assert first.count(Outcome.UPDATED) + second.count(Outcome.UPDATED) == 0
    assert (await empty_store.stats()).documents == 40
    assert await consistent_counts(empty_store)


def test_cli_remove(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    assert furat(["ingest", str(SEEDS)], db).returncode == 0
    proc = furat(["remove", "004_e7ca63b51393100c"], db)
    assert (proc.returncode, proc.stdout) == (0, "removed 004_e7ca63b51393100c\n")
    proc = furat(["remove", "004_e7ca63b51393100c"], db)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "004_e7ca63b51393100c" in proc.stderr
    assert "documents  4" in furat(["stats"], db).stdout


async def test_one_file_reached_from_two_roots_is_one_document(
    empty_store: Store, tmp_path: Path
) -> None:
    inner = write(tmp_path / "in" / "sub" / "k.txt", "حلب")
    await empty_store.ingest([tmp_path / "in"])
    for named in (tmp_path / "in" / "sub", inner):
        report = await empty_store.ingest([named])
        assert outcomes(report) == [("sub/k", Outcome.UNCHANGED)]
    assert (await empty_store.stats()).documents == 1


@pytest.mark.parametrize(
    ("sizes", "limit", "arrays"),
    [
        ([], 10, 0),
        ([3, 3, 3], 10, 2),  # 3+1+3+1 fits, the third starts a new array
        ([30], 10, 1),  # one row longer than the limit still goes, alone
        ([1] * 50, 10, 10),
    ],
)
def test_rows_are_sent_in_bounded_json_arrays(
    monkeypatch: pytest.MonkeyPatch, sizes: list[int], limit: int, arrays: int
) -> None:
    monkeypatch.setattr(storage.ingest, "STATEMENT_CHARS", limit)
    rows = [json.dumps("x" * (n - 2)) if n >= 2 else "1" for n in sizes]
    chunks = list(storage.ingest._chunks(rows))
    assert len(chunks) == arrays
    assert [row for chunk in chunks for row in json.loads(chunk)] == [json.loads(r) for r in rows]
