"""`furat chat`: typed lines in, the bot's messages and numbered buttons out."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from storage.backends import open_store
from storage.models import PushKind
from tests.conftest import ROOT, SEEDS


def console(db: Path, lines: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FURAT_DB": str(db),
        "FURAT_SEEDS": str(SEEDS),
        "FURAT_LOG_LEVEL": "WARNING",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=lines,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_console_conversation(tmp_path: Path) -> None:
    proc = console(tmp_path / "c.db", "كاليبر\n1\n/inline Raqqa\n/about\n/quit\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "🔎 نتائج" in out and "[1] 📄 المقال كاملاً (1)" in out
    assert "ومستودعات أسلحة وذخائر للتنظيم" in out  # button 1 opened the full article
    assert "— inline:" in out and "الرقة" in out
    assert "المقالات: 5" in out
    assert "<b>" not in out
    assert "running bot" not in out  # no bot uses this database


async def _bot_database(db: Path) -> None:
    """Leave the outbox as a running bot has it: one push due, one being sent; and its beat."""
    store = await open_store(db, seeds=SEEDS)
    try:
        now = datetime.now(UTC)
        for chat in (7, 8):
            await store.ensure_chat(chat, "private", "ar", "UTC", now)
            await store.enqueue(f"alert:{chat}:x", chat, PushKind.ALERT, "خبر", None, now, now)
        assert len(await store.claim_due(now, 1)) == 1  # the bot is sending the first one
        await store.beat("host:4242", now, datetime.now(UTC))
    finally:
        await store.close()


async def _outbox(db: Path) -> list[tuple[str, str]]:
    store = await open_store(db)
    try:
        return [(key, status) async for key, _, status in store.sent_pushes()]
    finally:
        await store.close()


def test_console_leaves_a_running_bots_outbox_alone(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    asyncio.run(_bot_database(db))
    proc = console(db, "كاليبر\n/broadcast hi\n/about\n/quit\n")
    assert proc.returncode == 0, proc.stderr
    notes = [line for line in proc.stdout.splitlines() if "running bot" in line]
    assert len(notes) == 1 and "host:4242" in notes[0]
    assert asyncio.run(_outbox(db)) == [("alert:7:x", "sending"), ("alert:8:x", "pending")]
