"""The derived passage index: it follows every change of the archive, in any process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import search.follow as follow_module
from search.index import IndexBusy, Mark, PassageIndex, Row
from search.plan import Alternative, Column, Concept, Kind
from storage.backends import open_store
from storage.store import Store
from tests.conftest import SEEDS, furat, on_postgres


def concept(word: str) -> Concept:
    return Concept(word, (Alternative(Column.SURFACE, tuple(word.split()), Kind.SURFACE),))


def test_the_index_ranks_holds_phrases_and_replaces(tmp_path: Path) -> None:
    index = PassageIndex.open(tmp_path / "i")
    assert index.mark is None and index.count() == 0
    index.write(
        [Row(1, "قصف على حلب", "قصف على حلب"), Row(2, "حلب حلب مدينه قديمه", "حلب حلب مدين قديم"),
         Row(3, "دمشق", "دمشق")],
        [],
        Mark("a", 3),
    )
    assert index.count() == 3 and index.mark == Mark("a", 3)
    assert index.top([concept("حلب")], 10) == [2, 1]
    assert index.top([concept("حلب"), concept("قصف")], 1) == [1]  # more of the query first
    assert index.top([concept("على حلب")], 10) == [1]
    # A passage changed in place is removed, then added: only its new words are found.
    index.write([Row(1, "دمشق اليوم", "دمشق يوم")], [1, 3], Mark("a", 3, 2))
    assert index.top([concept("حلب")], 10) == [2]
    assert index.top([concept("دمشق")], 10) == [1]
    assert PassageIndex.open(tmp_path / "i").mark == Mark("a", 3, 2)  # committed with the rows


def test_headlines_are_ranked_by_how_much_of_the_query_they_hold(tmp_path: Path) -> None:
    index = PassageIndex.open(tmp_path / "i")
    index.write(
        [Row(1, "نص", "نص", "مقتل قائد في حلب"), Row(2, "نص", "نص"),  # not a first passage
         Row(3, "نص", "نص", "حلب اليوم"), Row(4, "مقتل قائد في حلب", "مقتل قائد في حلب")],
        [],
        Mark("a", 4),
    )
    assert index.titled([["مقتل"], ["قائد"], ["حلب"]], 10) == [1, 3]
    assert index.titled([["حلب"]], 1) == [3]  # the shorter headline is more about it
    assert index.titled([], 10) == []


def test_only_one_process_writes_the_index(tmp_path: Path) -> None:
    folder = tmp_path / "i"
    PassageIndex.open(folder).write([Row(1, "حلب", "حلب")], [], Mark("a", 1))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from search.index import PassageIndex;"
         "i = PassageIndex.open(Path(sys.argv[1])); w = i._index.writer(15_000_000, 1);"
         "print('held', flush=True); time.sleep(30)", str(folder)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        index = PassageIndex.open(folder)
        with pytest.raises(IndexBusy):
            index.write([Row(2, "دمشق", "دمشق")], [], Mark("a", 2))
        assert index.top([concept("حلب")], 5) == [1]  # reading goes on meanwhile
    finally:
        holder.kill()
        holder.wait()
    index.write([Row(2, "دمشق", "دمشق")], [], Mark("a", 2))
    assert index.top([concept("دمشق")], 5) == [2]


async def _docs(store: Store, query: str) -> list[str]:
    return [hit.doc for hit in await store.search(query)]


def _article(folder: Path, name: str, title: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return path


async def test_search_follows_ingest_updates_and_removals(store: Store, tmp_path: Path) -> None:
    await store.search("دير الزور")
    status = await store.index_status()
    assert status is not None and status.in_step and status.indexed == 55
    news = tmp_path / "news"
    _article(news, "zz_new", "خبر جديد", "افتتح متحف الزرافات في مدينة تدمر.")
    await store.ingest([news])
    assert await _docs(store, "متحف الزرافات") == ["zz_new"]
    # Rewritten: its passages are removed and new ones added, possibly under the same ids.
    _article(news, "zz_new", "خبر جديد", "أغلق مرفأ السلاحف في مدينة طرطوس.")
    await store.ingest([news])
    assert await _docs(store, "متحف الزرافات") == []
    assert await _docs(store, "مرفأ السلاحف") == ["zz_new"]
    assert await store.remove_document("zz_new")
    assert await _docs(store, "مرفأ السلاحف") == []
    status = await store.index_status()
    assert status is not None and status.in_step and status.indexed == status.passages == 55


async def test_another_process_sees_what_this_one_ingested(tmp_path: Path) -> None:
    if on_postgres():
        pytest.skip("the CLI below opens the SQLite file")
    db = tmp_path / "furat.db"
    store = await open_store(db, seeds=SEEDS)
    try:
        await store.search("دير الزور")
        _article(tmp_path / "news", "zz_new", "خبر جديد", "افتتح متحف الزرافات في مدينة تدمر.")
        await store.ingest([tmp_path / "news"])
        # The other process follows the archive itself: this one has not searched since.
        done = await asyncio.to_thread(furat, ["search", "--json", "متحف الزرافات"], db)
        assert done.returncode == 0 and '"doc": "zz_new"' in done.stdout
        status = await store.index_status()
        assert status is not None and status.in_step and status.indexed == 56
    finally:
        await store.close()


async def test_an_index_of_another_archive_is_built_anew(tmp_path: Path) -> None:
    folder = tmp_path / "shared.index"
    other = await open_store(tmp_path / "other.db", index=folder)
    _article(tmp_path / "o", "only_other", "خبر", "افتتح متحف الزرافات في مدينة تدمر.")
    await other.ingest([tmp_path / "o"])
    assert await _docs(other, "متحف الزرافات") == ["only_other"]
    await other.close()
    store = await open_store(tmp_path / "furat.db", seeds=SEEDS, index=folder)
    try:
        status = await store.index_status()
        assert status is not None and not status.in_step  # it says so before following
        assert await _docs(store, "متحف الزرافات") == []
        status = await store.index_status()
        assert status is not None and status.in_step and status.indexed == 55
    finally:
        await store.close()


async def test_a_search_far_behind_uses_the_archive_until_caught_up(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow_module, "INLINE", 10)
    monkeypatch.setattr(follow_module, "BATCH", 10)
    expected = await _docs(store, "معركة دير الزور")  # 55 passages: behind, answered anyway
    assert expected
    status = await store.index_status()
    assert status is not None and not status.in_step and status.indexed < 55
    for _ in range(100):  # the rest is followed in the background
        await asyncio.sleep(0.05)
        status = await store.index_status()
        assert status is not None
        if status.in_step:
            break
    assert status.in_step and status.indexed == 55
    assert await _docs(store, "معركة دير الزور") == expected


async def test_reindex_resumes_where_it_was_interrupted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follow_module, "BATCH", 20)
    seen: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        seen.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await store.reindex(stop_after_first)
    assert seen == [20]
    resumed: list[int] = []
    status = await store.reindex(lambda done, total: resumed.append(done))
    assert resumed == [40, 55]  # not from the start
    assert status.in_step and status.indexed == 55
    assert await _docs(store, "دير الزور")


def test_cli_reindex_and_stats(tmp_path: Path) -> None:
    db = tmp_path / "furat.db"
    stats = furat(["stats"], db)
    assert stats.returncode == 0 and "search index" in stats.stdout
    assert "(0 passages, of 55: run furat reindex)" in stats.stdout
    done = furat(["reindex"], db)
    assert done.returncode == 0
    assert "indexed 55 of 55 passages" in done.stderr and ": 55 passages in" in done.stdout
    off = furat(["reindex"], db, FURAT_INDEX="off")
    assert off.returncode == 1 and "no derived search index" in off.stderr


def test_cli_ingest_leaves_the_index_in_step(tmp_path: Path) -> None:
    db = tmp_path / "furat.db"
    _article(tmp_path / "news", "zz_new", "خبر جديد", "افتتح متحف الزرافات في مدينة تدمر.")
    assert furat(["ingest", str(SEEDS), str(tmp_path / "news")], db).returncode == 0
    stats = furat(["stats"], db)
    assert stats.returncode == 0 and "(56 passages, in step)" in stats.stdout


async def test_an_index_changed_behind_the_archive_says_so(store: Store) -> None:
    await store.search("دير الزور")
    status = await store.index_status()
    assert status is not None
    index = PassageIndex.open(Path(status.folder))
    assert index.mark is not None
    index.write([], [index.mark.passage], index.mark)  # one passage lost, the mark unchanged
    status = await store.index_status()
    assert status is not None and not status.in_step and status.indexed == 54
    status = await store.reindex()
    assert status.in_step and status.indexed == 55


async def test_replicas_each_follow_every_write_made_at_once(
    db_target: Path | str, tmp_path: Path
) -> None:
    # Two replicas write and search at the same time, each following with its own index: no
    # passage may be passed over because a write with a lower id committed after a higher one.
    folders = [tmp_path / "a", tmp_path / "b"]
    for n in range(60):
        _article(folders[n % 2], f"zz_{n:03}", f"خبر رقم {n}", f"وصل القطار رقم ك{n}ق إلى المحطة.")
    a = await open_store(db_target, seeds=SEEDS, index=tmp_path / "a.index")
    b = await open_store(db_target, index=tmp_path / "b.index")
    try:

        async def search_meanwhile(store: Store) -> None:
            for _ in range(30):
                await store.search("القطار")
                await asyncio.sleep(0)

        writes = [
            store.ingest([path])
            for store, folder in zip((a, b), folders, strict=True)
            for path in sorted(folder.glob("*.txt"))
        ]
        await asyncio.gather(
            *writes,
            search_meanwhile(a),
            search_meanwhile(b),
        )
        for store in (a, b):
            status = await store.follow_index()
            assert status is not None and status.in_step and status.indexed == 55 + 60
            for n in range(60):  # each found by its own word (together they fold as copies)
                assert await _docs(store, f"ك{n}ق") == [f"zz_{n:03}"]
    finally:
        await a.close()
        await b.close()


async def test_a_rebuild_by_another_process_is_read_at_once(tmp_path: Path) -> None:
    if on_postgres():
        pytest.skip("the CLI below opens the SQLite file")
    db = tmp_path / "furat.db"
    store = await open_store(db, seeds=SEEDS)
    try:
        expected = await _docs(store, "معركة دير الزور")
        done = await asyncio.to_thread(furat, ["reindex"], db)
        assert done.returncode == 0 and ": 55 passages in" in done.stdout
        # The archive did not change, but the folder did: this process reads the new index.
        assert await _docs(store, "معركة دير الزور") == expected
        assert store._follower is not None and not store._follower.index.replaced()
    finally:
        await store.close()
