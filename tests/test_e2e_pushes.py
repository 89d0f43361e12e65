"""Pushes end to end: the real `furat run`, `furat ingest` in another process, the local
Bot API server injecting 429, 500, timeouts and 403, and a kill -9 during a fan-out."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.backends import open_store
from tests.conftest import ROOT, SEEDS
from tests.fake_botapi import FakeBotAPI, RateLimits, ThreadedServer
from tests.test_e2e import WAIT, BotProcess, texts, wait_polling, wait_text

ARTICLE = """{title}

{lead} في مدينة الرقة {n}.

{more}"""
# Each report is its own story: a near-copy of one already alerted is not alerted again.
STORIES = (
    ("أعلنت قوات سوريا الديمقراطية أن طائرات التحالف قصفت مواقع",
     "وقال مراسلون إن الاشتباكات امتدت إلى ريف دير الزور الشرقي."),
    ("افتتحت بلدية المدينة سوقاً شعبية جديدة للخضار والفواكه",
     "وأكد رئيس البلدية أن السوق ستعمل يومياً من الصباح حتى المساء."),
    ("بدأ فريق طبي حملة تلقيح واسعة ضد شلل الأطفال",
     "وشملت الحملة المدارس والمخيمات وعدداً من القرى المجاورة للنهر."),
    ("وصلت قافلة مساعدات غذائية تحمل الطحين والزيت",
     "ووزعت المنظمات الإنسانية الحصص على العائلات النازحة في الأحياء الشمالية."),
)  # fmt: skip
FAST = {
    "FURAT_TICK_SECONDS": "0.3",
    "FURAT_RETRY_BASE": "0.2",
    "FURAT_RATE_GLOBAL": "0",
    "FURAT_RATE_PRIVATE": "0",
    "FURAT_RATE_GROUP_PER_MIN": "0",
}


@pytest.fixture
def server() -> Iterator[FakeBotAPI]:
    with ThreadedServer(rate_limits=RateLimits(enabled=False)) as s:
        yield s


def ingest(db: Path | str, folder: Path, n: int) -> None:
    """Add one new article with `furat ingest`, in its own process."""
    path = folder / f"news_{n:03d}.txt"
    lead, more = STORIES[n % len(STORIES)]
    text = ARTICLE.format(title=f"تقرير ميداني رقم {n}", lead=lead, n=n, more=more)
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(SEEDS)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def alerts(server: FakeBotAPI, chat: int) -> list[str]:
    return [t for t in texts(server, chat) if t.startswith(("🔔", "\u200f🔔"))]


def chat_active(db: Path | str, chat: int) -> bool:
    async def read() -> bool:
        store = await open_store(db)
        try:
            found = await store.chat(chat)
        finally:
            await store.close()
        return bool(found and found.active)

    return asyncio.run(read())


def test_alert_across_processes(server: FakeBotAPI, db_target: Path | str, tmp_path: Path) -> None:
    # The digest's timing runs on the injected clock in tests/test_digest_clock.py.
    bot = BotProcess(server, db_target, **FAST)
    try:
        wait_polling(server)
        server.send_text(11, "/subscribe الرقة", user_id=11)
        wait_text(server, 11, "ستصلك")
        ingest(db_target, tmp_path, 1)
        server.wait_for(lambda: alerts(server, 11), timeout=WAIT)
        time.sleep(1.5)  # several more ticks: still exactly one alert
        assert len(alerts(server, 11)) == 1
        assert "تقرير ميداني رقم 1" in alerts(server, 11)[0]
    finally:
        out = bot.stop()
    assert "update failed" not in out


def test_failures_are_retried_or_deactivate(
    server: FakeBotAPI, db_target: Path | str, tmp_path: Path
) -> None:
    bot = BotProcess(server, db_target, **FAST)
    try:
        wait_polling(server)
        for chat in (21, 22):
            server.send_text(chat, "/subscribe الرقة", user_id=chat)
            wait_text(server, chat, "ستصلك")
        # 429 then 500 then a timeout (the bot waits 5 s for an answer): still delivered.
        server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        server.fail_next("sendMessage", 500, "Internal Server Error")
        server.delay_next("sendMessage", 6)
        server.block_chat(22)
        ingest(db_target, tmp_path, 1)
        server.wait_for(lambda: alerts(server, 21), timeout=WAIT)
        statuses = [c.status for c in server.calls_to("sendMessage")[-6:]]
        assert {429, 500} <= set(statuses)
        server.wait_for(lambda: not chat_active(db_target, 22), timeout=WAIT)  # 403: inactive
        server.unblock_chat(22)
        ingest(db_target, tmp_path, 2)
        time.sleep(1.5)
        assert not alerts(server, 22)  # inactive chats get nothing
        server.send_text(22, "مرحبا", user_id=22)  # writing again reactivates
        server.wait_for(lambda: chat_active(db_target, 22), timeout=WAIT)
        ingest(db_target, tmp_path, 3)
        server.wait_for(lambda: alerts(server, 22), timeout=WAIT)
        # A timed-out request may still have been delivered: the retry can make one copy more.
        server.wait_for(lambda: len(set(alerts(server, 21))) == 3, timeout=WAIT)
        assert len(alerts(server, 21)) <= 4
    finally:
        bot.stop()


async def _subscribers(db: Path | str, count: int) -> None:
    store = await open_store(db, seeds=SEEDS)
    try:
        now = datetime.now(UTC)
        for chat in range(1, count + 1):
            await store.ensure_chat(10_000 + chat, "private", "ar", "UTC", now)
            await store.subscribe(10_000 + chat, "الرقة", 50)
        await store.mark_documents_seen()
    finally:
        await store.close()


def test_kill_during_fan_out(server: FakeBotAPI, db_target: Path | str, tmp_path: Path) -> None:
    subscribers, concurrency = 500, 8
    asyncio.run(_subscribers(db_target, subscribers))
    env = {**FAST, "FURAT_SEND_CONCURRENCY": str(concurrency)}
    server.delay_next("sendMessage", 0.02, count=10_000)
    bot = BotProcess(server, db_target, **env)
    wait_polling(server)
    ingest(db_target, tmp_path, 1)
    server.wait_for(lambda: len(server.calls_to("sendMessage")) >= 150, timeout=WAIT)
    bot.kill()
    sent_before = len(server.calls_to("sendMessage"))
    polls = len(server.calls_to("getUpdates"))
    bot = BotProcess(server, db_target, **env)
    try:
        wait_polling(server, polls)
        chats = range(10_001, 10_001 + subscribers)
        server.wait_for(lambda: all(alerts(server, c) for c in chats), timeout=120)
        time.sleep(1)
    finally:
        bot.stop()
    copies = Counter({c: len(alerts(server, c)) for c in chats})
    duplicates = sum(n - 1 for n in copies.values())
    print(
        f"\nkill -9 after {sent_before} sends: {subscribers} subscribers, "
        f"{duplicates} duplicates (bound: {concurrency} in flight)"
    )
    assert all(n >= 1 for n in copies.values())
    assert duplicates <= concurrency
