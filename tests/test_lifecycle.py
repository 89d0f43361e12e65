"""The bot's background work through the real Application: health in /status, presence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import Settings
from bot.jobs import backing_off
from bot.loopback import LoopbackRequest, User
from handlers.admin import HEALTH_KEY, SENDER_KEY, health_lines
from handlers.common import STORE_KEY
from handlers.health import Health, State, Worker
from handlers.texts import Lang
from storage.backends import open_store
from storage.models import PushKind
from storage.store import Store
from tests.conftest import SEEDS
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
ADMIN = 1001


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Yield to the loop until predicate() holds; fail after timeout (a guard, not a measure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.01)


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        token=TOKEN,
        db_path=tmp_path / "bot.db",
        seeds=SEEDS,
        admin_ids=frozenset({ADMIN}),
        watch_dir=tmp_path / "absent",
        **overrides,
    )


async def test_status_shows_sender_and_failed_job(tmp_path: Path) -> None:
    request = LoopbackRequest()
    app = build_application(settings(tmp_path, tick_seconds=0.05), request)
    async with running(app):
        store: Store = app.bot_data[STORE_KEY]

        async def broken(*args: object) -> int:
            raise RuntimeError("matching exploded")

        store.match_new_documents = broken  # type: ignore[method-assign]
        health: Health = app.bot_data[HEALTH_KEY]
        await until(lambda: "tick" in health.jobs)
        user = User(app.bot, user_id=ADMIN, chat_id=ADMIN, language_code="en")
        await app.process_update(user.text("/status"))
    text = request.sent()[-1].params["text"]
    assert "Sender: running since" in text
    assert "Job tick last failed" in text and "RuntimeError: matching exploded" in text


async def test_running_bot_beats_and_leaves(tmp_path: Path) -> None:
    app = build_application(settings(tmp_path), LoopbackRequest())
    async with running(app):
        store: Store = app.bot_data[STORE_KEY]
        now = datetime.now(UTC)
        bots = await store.live_bots(now, timedelta(seconds=60))
        assert len(bots) == 1 and bots[0].seen_at <= now
    store = await open_store(tmp_path / "bot.db")
    try:
        assert await store.live_bots(datetime.now(UTC), timedelta(seconds=60)) == []
    finally:
        await store.close()


async def test_without_background_nothing_runs(tmp_path: Path) -> None:
    app = build_application(settings(tmp_path, tick_seconds=0.05), LoopbackRequest(), False)
    async with running(app):
        assert app.job_queue is not None and app.job_queue.jobs() == ()
        assert SENDER_KEY not in app.bot_data
        store: Store = app.bot_data[STORE_KEY]
        assert await store.live_bots(datetime.now(UTC), timedelta(seconds=60)) == []


@pytest.mark.parametrize(
    ("answer_after", "grace", "ends"), [(0.2, 10.0, "sent"), (30.0, 0.5, "pending")]
)
async def test_push_in_flight_at_shutdown_is_settled(
    tmp_path: Path, answer_after: float, grace: float, ends: str
) -> None:
    store = await open_store(tmp_path / "bot.db", seeds=SEEDS)
    now = datetime.now(UTC)
    await store.ensure_chat(5, "private", "ar", "UTC", now)
    await store.enqueue("alert:5:x", 5, PushKind.ALERT, "خبر", None, now, now)
    await store.close()
    async with FakeBotAPI(rate_limits=RateLimits(enabled=False)) as server:
        server.delay_next("sendMessage", answer_after)
        options = settings(tmp_path, api_url=server.base_url, shutdown_grace=grace)
        app = build_application(replace(options, token=DEFAULT_TOKEN))
        async with running(app):
            await server.wait_for_async(lambda: server.calls_to("sendMessage"), timeout=10)
        # The application is shut down and its store closed; the row tells what happened.
        store = await open_store(tmp_path / "bot.db")
        try:
            assert [s async for _, _, s in store.sent_pushes()] == [ends]
        finally:
            await store.close()


AT = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("worker", "lines"),
    [
        (Worker(State.RUNNING, AT), ["Sender: running since 2026-11-30 09:30:00 UTC"]),
        (
            Worker(State.RESTARTING, AT, "OperationalError: database is locked", AT, 2),
            [
                "Sender: restarting since 2026-11-30 09:30:00 UTC",
                "Sender's last error (2026-11-30 09:30:00 UTC, 2 restarts):"
                " OperationalError: database is locked",
            ],
        ),
        (Worker(State.STOPPED), ["Sender: stopped"]),
    ],
)
def test_health_lines(worker: Worker, lines: list[str]) -> None:
    assert health_lines(Health(worker), Lang.EN) == lines


async def test_a_failing_job_rests_longer_after_each_failure() -> None:
    now = [0.0]
    calls: list[float] = []
    fail = [True]

    async def flaky(context: object) -> None:
        calls.append(now[0])
        if fail[0]:
            raise RuntimeError("database is locked")

    context: Any = SimpleNamespace(application=SimpleNamespace(bot_data={}))
    job = backing_off("tick", flaky, clock=lambda: now[0])
    for t, fails in ((0.0, True), (0.5, False), (1.1, True), (2.0, False), (3.2, True)):
        now[0] = t
        if fails:
            with pytest.raises(RuntimeError):
                await job(context)
        else:
            await job(context)  # resting: the job is skipped
    assert calls == [0.0, 1.1, 3.2]  # rests of 1 s, then 2 s
    now[0], fail[0] = 7.3, False  # 3.2 + 4 s
    await job(context)
    now[0] = 7.4
    await job(context)  # a success ends the rest
    assert calls == [0.0, 1.1, 3.2, 7.3, 7.4]
