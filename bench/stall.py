"""Event-loop stalls under hostile load: the longest time the loop was late to wake.

Twenty users send worst-case inputs through the real Application while a 5 MB article is
ingested in the same process (the watch job's path); a monitor task sleeps 1 ms at a time and
records how late it wakes. The baseline is the same monitor over an idle loop, in the same run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from bench.corpus import generate

TICK = 0.001
FTS_SYNTAX = 'NEAR("داعش" OR -*) ^: AND title:x {a b} "unclosed * col: NOT ( ) + ^ الرقة*'
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةى"


@dataclass
class Monitor:
    """Sleep TICK at a time and remember the worst lateness, in seconds."""

    worst: float = 0.0
    wakes: int = 0
    running: bool = True

    async def run(self) -> None:
        """Measure until stopped."""
        loop = asyncio.get_running_loop()
        while self.running:
            started = loop.time()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, loop.time() - started - TICK)
            self.wakes += 1


def _random_unicode(rng: Random, n: int) -> str:
    """Return n code points from every plane in use, surrogates and controls left out."""
    out: list[str] = []
    while len(out) < n:
        cp = rng.choice((rng.randrange(0x20, 0x3000), rng.randrange(0x1F300, 0x1FAFF)))
        if not 0xD800 <= cp <= 0xDFFF:
            out.append(chr(cp))
    return "".join(out)


def hostile_inputs(rng: Random, chars: int) -> list[tuple[str, str]]:
    """Return (kind, text) worst cases: 'inline' texts go as inline queries, others as messages."""
    one_word = "".join(rng.choice(ARABIC) for _ in range(chars))
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append("".join(rng.choice(ARABIC) for _ in range(rng.randint(3, 9))))
    many = " ".join(words)[:chars]
    return [
        ("message", one_word),
        ("message", many),
        ("message", (FTS_SYNTAX * (chars // len(FTS_SYNTAX) + 1))[:chars]),
        ("message", _random_unicode(rng, chars)),
        ("message", "/subscribe " + many[: chars - 11]),
        ("inline", many[:256]),  # Telegram caps inline queries at 256 characters
        ("inline", one_word[:256]),
    ]


def big_article(folder: Path, megabytes: float) -> Path:
    """Write one article of about megabytes MB, made of generated paragraphs."""
    folder.mkdir(parents=True, exist_ok=True)
    target = int(megabytes * 1e6)
    parts, size = ["تقرير مطول عن الأوضاع الميدانية"], 0
    for _, text in generate(100_000, seed=11):
        body = text.split("\n\n", 1)[-1]
        parts.append(body)
        size += len(body.encode("utf-8"))
        if size >= target:
            break
    path = folder / "stall_big_article.txt"
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


def loop_stall(db: Path, workdir: Path, users: int, chars: int, megabytes: float) -> dict[str, Any]:
    """Return the worst loop lateness under hostile load and over an idle loop, in ms."""
    from bot.app import build_application, running
    from bot.config import Settings
    from bot.loopback import LoopbackRequest, User
    from handlers.common import STORE_KEY

    article = big_article(workdir / "stall", megabytes)
    settings = Settings(
        token="1:bench",
        db_path=db,
        seeds=Path("/nonexistent"),
        watch_dir=article.parent,
        rate_global=0,
        rate_group_per_min=0,
    )

    async def run() -> dict[str, Any]:
        request = LoopbackRequest()
        # No sender and no jobs: the bench drives the ingest itself, as the watch job would.
        async with running(build_application(settings, request, background=False)) as app:
            idle = Monitor()
            watcher = asyncio.create_task(idle.run())
            await asyncio.sleep(1.0)
            idle.running = False
            await watcher

            # Made before the clock starts: generating them is the bench's work, not the bot's.
            inputs = [hostile_inputs(Random(i), chars) for i in range(users)]

            async def one_user(i: int) -> None:
                user = User(app.bot, user_id=70_000 + i, chat_id=70_000 + i)
                for kind, text in inputs[i]:
                    update = user.inline(text) if kind == "inline" else user.text(text)
                    await app.process_update(update)

            async def ingest() -> float:
                started = time.perf_counter()
                await app.bot_data[STORE_KEY].ingest([article.parent], record_unchanged=False)
                return time.perf_counter() - started

            busy = Monitor()
            watcher = asyncio.create_task(busy.run())
            started = time.perf_counter()
            ingest_s, *_ = await asyncio.gather(ingest(), *(one_user(i) for i in range(users)))
            elapsed = time.perf_counter() - started
            busy.running = False
            await watcher
            replies = len(request.sent()) + len(request.sent("answerInlineQuery"))
        return {
            "max_loop_stall_ms": busy.worst * 1000,
            "loop_stall_idle_ms": idle.worst * 1000,
            "loop_stall_phase_s": elapsed,
            "loop_stall_ingest_s": ingest_s,
            "loop_stall_article_mb": article.stat().st_size / 1e6,
            "loop_stall_users": users,
            "loop_stall_chars": chars,
            "loop_stall_answers": replies,
        }

    return asyncio.run(run())
