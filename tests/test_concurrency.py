"""The real jobs against one database while everything else runs at once.

Overlapping matching passes, two watch passes over a folder that fills up, an ingest in another
process, new followers and two senders all run together, from two stores on one database as two
replicas would; afterwards every alert must have reached exactly the chats whose subscriptions
match its document, once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.jobs import run_tick
from bot.sender import Limits, Sender
from search.matching import PassageKeys, satisfies
from storage.backends import open_store
from storage.models import PushKind, SubscribeResult
from storage.store import Store
from tests.conftest import ROOT, SEEDS
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits

TOPICS = ["الرقة", "داعش", "دير الزور", "البغيلية", "Peskov", "كاليبر", "الجسر", "التحالف"]
FAST = Limits(global_per_s=0, private_per_s=0, group_per_min=0, retry_base=0.05)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted(SEEDS.glob("*.txt")):
        body = path.read_text(encoding="utf-8").split("\n\n")[1:]
        paragraphs += [p.strip() for p in body if len(p.strip()) > 80]
    return paragraphs


def write_articles(
    folder: Path, prefix: str, count: int, rng: random.Random, used: set[frozenset[str]]
) -> None:
    """Write articles made of seed paragraphs, each under a title of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = _paragraphs()
    for n in range(count):
        # No two articles share both paragraphs: they would be one story, alerted once.
        chosen = rng.sample(paragraphs, 2)
        while frozenset(chosen) in used:
            chosen = rng.sample(paragraphs, 2)
        used.add(frozenset(chosen))
        text = f"تقرير {prefix} رقم {n}\n\n" + "\n\n".join(chosen) + "\n"
        (folder / f"{prefix}_{n:03d}.txt").write_text(text, encoding="utf-8")


async def expected_alerts(store: Store, after_doc: int) -> set[tuple[int, int]]:
    """Return the (chat, document) pairs whose subscriptions match, computed from scratch."""
    conn = store._read
    plans: dict[int, list[object]] = {}
    for chat_id, plan in await conn.execute_fetchall("SELECT chat_id, plan FROM subscriptions"):
        plans.setdefault(chat_id, []).append(json.loads(plan))
    keys: dict[int, list[PassageKeys]] = {}
    for doc_id, surface, stem in await conn.execute_fetchall(
        "SELECT document_id, surface, stem FROM passages WHERE document_id > ?", (after_doc,)
    ):
        keys.setdefault(doc_id, []).append(PassageKeys.of(surface.split(), stem.split()))
    return {
        (chat, doc)
        for chat, compiled in plans.items()
        for doc, passages in keys.items()
        if any(satisfies(c, p) for c in compiled for p in passages)  # type: ignore[arg-type]
    }


async def alert_rows(store: Store) -> list[tuple[int, int]]:
    rows = [(key, chat) async for key, chat, _ in store.sent_pushes() if key.startswith("alert:")]
    return [(chat, int(key.rsplit(":", 1)[1])) for key, chat in rows]


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(rate_limits=RateLimits(enabled=False)) as s:
        yield s


async def _ingest_elsewhere(folder: Path, db: Path | str) -> None:
    env = {**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(SEEDS)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ingest", str(folder), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()


async def test_overlapping_jobs_alert_exactly_the_right_chats_once(
    server: FakeBotAPI,
    tmp_path: Path,
    db_target: Path | str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small batches: every pass awaits between many transactions, so passes interleave.
    monkeypatch.setattr("storage.pushes.MATCH_BATCH", 2)
    rng = random.Random(13)
    db = db_target
    store = await open_store(db, seeds=SEEDS)
    replica = await open_store(db)  # a second process's store on the same database
    try:
        await store.mark_documents_seen()
        seen = int(await store._state("matched_doc", "0"))
        for chat in range(1, 61):
            await store.ensure_chat(chat, "private", rng.choice(["ar", "en"]), "UTC", NOW)
            for topic in rng.sample(TOPICS, rng.randint(1, 3)):
                assert await store.subscribe(chat, topic, 50) is SubscribeResult.ADDED
        used: set[frozenset[str]] = set()
        write_articles(tmp_path / "drop", "here", 24, rng, used)
        write_articles(tmp_path / "there", "there", 24, rng, used)
        watched = tmp_path / "watched"
        watched.mkdir()

        bot = Bot(DEFAULT_TOKEN, base_url=server.base_url, request=HTTPXRequest(read_timeout=5))
        stop = asyncio.Event()

        async def ticking(store: Store) -> None:
            while not stop.is_set():
                await run_tick(store, Settings(), NOW)
                await asyncio.sleep(0)

        async def dropping() -> None:
            # Articles arrive in the watched folder one by one while two watch passes read it.
            for path in sorted((tmp_path / "drop").glob("*.txt")):
                path.rename(watched / path.name)
                await asyncio.sleep(0.02)

        async def watching(store: Store) -> None:
            while not stop.is_set():
                await store.ingest([watched], record_unchanged=False)
                await asyncio.sleep(0)

        async def joining() -> None:
            # New followers sort first, so every pass groups the chats differently.
            for chat in range(-1, -31, -1):
                await store.ensure_chat(chat, "group", "ar", "UTC", NOW)
                await store.subscribe(chat, rng.choice(TOPICS), 50)
                await asyncio.sleep(0.01)

        async with bot:
            sender = Sender(store, bot, FAST, clock=lambda: NOW)

            async def sending(sender: Sender) -> None:
                while not stop.is_set():
                    await sender.drain()
                    await asyncio.sleep(0.01)

            background = [
                asyncio.create_task(job)
                for job in (
                    ticking(store),
                    ticking(replica),
                    ticking(store),
                    sending(sender),
                    sending(Sender(replica, bot, FAST, clock=lambda: NOW)),
                    watching(store),
                    watching(replica),
                )
            ]
            try:
                elsewhere = _ingest_elsewhere(tmp_path / "there", db)
                await asyncio.gather(dropping(), joining(), elsewhere)
            finally:
                # Also when a step fails: jobs left running keep the store's threads, and pytest,
                # alive after the report.
                stop.set()
                await asyncio.gather(*background)
            # Whatever the last overlapping passes left is ingested, matched and sent now.
            await store.ingest([watched], record_unchanged=False)
            await run_tick(store, Settings(), NOW)
            while await sender.drain():
                pass

        expected = await expected_alerts(store, seen)
        rows = await alert_rows(store)
        assert await store.document_count() == 5 + 48  # each article once, however many passes
        assert len(expected) > 100  # the topics are common enough for a real fan-out
        assert len(rows) == len(set(rows))  # none twice
        # No chat alerted about a document its topics do not match; the chats that followed from
        # the start got every alert (those that joined midway, the documents matched after).
        assert set(rows) <= expected
        assert {r for r in rows if r[0] > 0} == {e for e in expected if e[0] > 0}
        delivered = [
            (call.params["chat_id"], int(m.group(1)))
            for call in server.sent
            if (m := re.search(r'"a:(\d+)', json.dumps(call.params.get("reply_markup"))))
        ]
        assert sorted(delivered) == sorted(rows)
    finally:
        await replica.close()
        await store.close()


async def test_digest_covers_each_matched_document_once(tmp_path: Path) -> None:
    rng = random.Random(5)
    store = await open_store(tmp_path / "d.db", seeds=SEEDS)
    await store.mark_documents_seen()
    await store.ensure_chat(1, "private", "ar", "UTC", NOW)
    await store.subscribe(1, "دير الزور", 50)
    write_articles(tmp_path / "new", "new", 30, rng, set())
    day = NOW

    async def digesting() -> None:
        nonlocal day
        for _ in range(12):
            day += timedelta(days=1)
            await store.update_chat(1, digest_time="08:00")
            await run_tick(store, Settings(), day)
            await asyncio.sleep(0)

    await asyncio.gather(
        digesting(), *(store.ingest([p]) for p in sorted((tmp_path / "new").glob("*.txt")))
    )
    day += timedelta(days=1)
    await run_tick(store, Settings(), day)
    listed = [
        int(doc)
        for p in await store.claim_due(day, 100)
        if p.key.startswith("digest:")
        for doc in re.findall(r'"a:(\d+)', p.reply_markup or "")
    ]
    expected = {doc for _, doc in await expected_alerts(store, 5)}
    # A matching new document is listed in one digest at most, and only a matching one.
    assert listed and len(listed) == len(set(listed)) and set(listed) <= expected
    await store.close()


def _hold_write_lock(db: Path, locked: threading.Event, release: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO state (key, value) VALUES ('other_process', '1')")
    locked.set()
    release.wait(30)
    conn.execute("COMMIT")
    conn.close()


async def test_reads_go_on_and_writes_wait_while_another_process_writes(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "b.db", seeds=SEEDS)
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(tmp_path / "b.db", locked, release))
    holder.start()
    try:
        await asyncio.to_thread(locked.wait, 10)
        # Reads have their own connections: they answer while the file is locked for writing.
        hits = await asyncio.wait_for(store.search("دير الزور"), 5)
        assert hits
        remembered = asyncio.create_task(store.remember_query("سؤال جديد"))
        for _ in range(1000):  # the write finds the file locked and keeps trying
            if store.busy_retries >= 2:
                break
            await asyncio.sleep(0.01)
        assert store.busy_retries >= 2 and not remembered.done()
    finally:
        release.set()
        await asyncio.to_thread(holder.join)
    query_id = await remembered
    assert await store.recall_query(query_id) == "سؤال جديد"
    await store.close()


async def test_a_claimed_push_returns_to_the_queue_after_its_lease(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "l.db")
    await store.ensure_chat(7, "private", "ar", "UTC", NOW)
    await store.enqueue("alert:7:1", 7, PushKind.ALERT, "خبر", None, NOW, NOW)
    (claimed,) = await store.claim_due(NOW, 10)
    # The sender died (or failed to record the outcome) between claim and finish.
    assert await store.claim_due(NOW + timedelta(minutes=1), 10) == []
    (again,) = await store.claim_due(NOW + timedelta(minutes=11), 10)
    assert again.id == claimed.id and again.attempts == 2
    await store.close()


async def test_processes_opening_a_new_database_together(tmp_path: Path) -> None:
    for round_ in range(4):
        env = {**os.environ, "FURAT_DB": str(tmp_path / f"n{round_}.db"), "FURAT_SEEDS": str(SEEDS)}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "stats", cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        for proc in procs:
            out, _ = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, out.decode()
        store = await open_store(tmp_path / f"n{round_}.db")
        assert await store.document_count() == 5
        await store.close()


async def test_supergroup_merges_into_a_chat_that_wrote_first(store: Store) -> None:
    await store.ensure_chat(-100, "group", "en", "Europe/Paris", NOW)
    await store.update_chat(-100, digest_time="08:00")
    assert await store.subscribe(-100, "الرقة", 50) is SubscribeResult.ADDED
    assert await store.subscribe(-100, "داعش", 50) is SubscribeResult.ADDED
    # A message from the supergroup's id arrived before the migration notice.
    await store.ensure_chat(-1009, "supergroup", "ar", "Asia/Damascus", NOW)
    assert await store.subscribe(-1009, "داعش", 50) is SubscribeResult.ADDED
    await store.enqueue("alert:-100:1", -100, PushKind.ALERT, "خبر", None, NOW, NOW)
    await store.migrate_chat(-100, -1009)
    assert sorted(s.query for s in await store.subscriptions(-1009)) == ["الرقة", "داعش"]
    chat = await store.chat(-1009)
    assert chat is not None and (chat.language, chat.timezone, chat.digest_time) == (
        "en",
        "Europe/Paris",
        "08:00",
    )
    assert await store.chat(-100) is None
    assert [p.chat_id for p in await store.claim_due(NOW, 10)] == [-1009]
