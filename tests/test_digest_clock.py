"""A digest through the real Application and its jobs, on the injected clock (no real minutes)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import build_application, running
from bot.config import Settings
from bot.loopback import LoopbackRequest, User
from handlers.common import CLOCK_KEY, STORE_KEY
from storage.store import Store
from tests.conftest import SEEDS

ARTICLE = """تقرير ميداني رقم 1

قصفت طائرات التحالف مواقع في مدينة الرقة صباح اليوم، وفق ما أعلنت قوات سوريا الديمقراطية.
"""


async def _until_sent(request: LoopbackRequest, chat: int, marker: str) -> str:
    deadline = time.monotonic() + 20  # a guard against hanging, not a measure
    while time.monotonic() < deadline:
        for call in request.sent():
            if call.params.get("chat_id") == chat and marker in str(call.params.get("text")):
                return str(call.params["text"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing with {marker!r} was sent to {chat}")


async def test_digest_goes_out_when_the_clock_reaches_its_minute(
    tmp_path: Path, database: dict[str, Any]
) -> None:
    now = [datetime(2026, 11, 22, 7, 58, tzinfo=UTC)]
    request = LoopbackRequest()
    settings = Settings(
        token="1:test",
        **database,
        seeds=SEEDS,
        watch_dir=tmp_path / "absent",
        tick_seconds=0.05,
        rate_global=0,
        rate_private=0,
        rate_group_per_min=0,
    )
    app = build_application(settings, request)
    app.bot_data[CLOCK_KEY] = lambda: now[0]
    async with running(app):
        user = User(app.bot, user_id=12, chat_id=12)
        for line in ("/timezone UTC", "/subscribe الرقة", "/digest 08:00"):
            await app.process_update(user.text(line))
        article = tmp_path / "new" / "news_001.txt"
        article.parent.mkdir()
        article.write_text(ARTICLE, encoding="utf-8")
        store: Store = app.bot_data[STORE_KEY]
        await store.ingest([article.parent])
        await _until_sent(request, 12, "🔔")  # the alert goes out at once
        assert not [c for c in request.sent() if "موجزك" in str(c.params.get("text"))]
        now[0] += timedelta(minutes=2, seconds=5)  # 08:00:05 UTC: the digest is due
        digest = await _until_sent(request, 12, "موجزك")
        assert "تقرير ميداني رقم 1" in digest
