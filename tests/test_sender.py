"""The outbox sender against the local Bot API server: 429, 403, 5xx, timeouts, 400."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.sender import Limits, Pacer, Sender
from bot.supervisor import Supervisor
from handlers.health import State, Worker
from storage.backends import open_store
from storage.models import PushKind
from storage.store import Store
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits

FAST = Limits(global_per_s=0, private_per_s=0, group_per_min=0, retry_base=0.05, max_attempts=4)


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(rate_limits=RateLimits(enabled=False)) as s:
        yield s


@pytest.fixture
async def setup(server: FakeBotAPI, tmp_path: Path) -> AsyncIterator[tuple[Store, Sender]]:
    store = await open_store(tmp_path / "s.db")
    request = HTTPXRequest(read_timeout=0.5, connection_pool_size=16)
    bot = Bot(DEFAULT_TOKEN, base_url=server.base_url, request=request)
    async with bot:
        yield store, Sender(store, bot, FAST, rng=random.Random(7))
    await store.close()


async def push(store: Store, chat_id: int, ref: str = "1") -> None:
    now = datetime.now(UTC)
    await store.ensure_chat(chat_id, "private", "ar", "UTC", now)
    await store.enqueue(
        f"alert:{chat_id}:{ref}", chat_id, PushKind.ALERT, f"خبر {ref}", None, now, now
    )


async def settle(sender: Sender) -> None:
    """Drain until nothing is pending or sending (ten seconds at most)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        await sender.drain()
        if (await sender.store.queue_status(datetime.now(UTC))).pending == 0:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("outbox did not settle")


async def statuses(store: Store) -> dict[str, str]:
    return {key: status async for key, _, status in store.sent_pushes()}


async def test_sends_and_marks_sent(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    for chat in (1, 2, 3):
        await push(store, chat)
    await settle(sender)
    assert set((await statuses(store)).values()) == {"sent"}
    assert sorted(c.params["chat_id"] for c in server.sent) == [1, 2, 3]


async def test_retry_after_is_honoured(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    await push(store, 1)
    server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    await settle(sender)
    assert time.monotonic() - started >= 0.9
    assert await statuses(store) == {"alert:1:1": "sent"}
    assert [c.status for c in server.calls_to("sendMessage")] == [429, 200]


async def test_server_errors_and_timeouts_are_retried(
    server: FakeBotAPI, setup: tuple[Store, Sender]
) -> None:
    store, sender = setup
    await push(store, 1)
    server.fail_next("sendMessage", 500, "Internal Server Error", count=1)
    server.delay_next("sendMessage", 1.5, count=1)  # longer than the 0.5 s read timeout
    await settle(sender)
    assert await statuses(store) == {"alert:1:1": "sent"}
    row = next(iter(await store._read.execute_fetchall("SELECT attempts FROM outbox")))
    assert row[0] == 3  # 500, timeout, then delivered


async def test_gives_up_after_max_attempts(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    await push(store, 1)
    server.fail_next("sendMessage", 502, "Bad Gateway", count=10)
    await settle(sender)
    assert await statuses(store) == {"alert:1:1": "failed"}
    rows = await store._read.execute_fetchall("SELECT attempts, last_error FROM outbox")
    attempts, error = next(iter(rows))
    assert attempts == FAST.max_attempts and "gave up" in error


async def test_forbidden_deactivates_chat(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    server.block_chat(1)
    await push(store, 1, "a")
    await settle(sender)
    chat = await store.chat(1)
    assert chat is not None and not chat.active
    assert await statuses(store) == {"alert:1:a": "failed"}
    assert await store.subscriptions(1) == []  # data kept (none here), chat only inactive
    assert await store.set_active(1, True)  # the user wrote again


async def test_bad_request_is_not_retried(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    await push(store, 1)
    server.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await settle(sender)
    assert await statuses(store) == {"alert:1:1": "failed"}
    assert len(server.calls_to("sendMessage")) == 1


async def test_crash_recovery_resends_only_in_flight(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "c.db")
    try:
        for chat in range(1, 6):
            await push(store, chat)
        claimed = await store.claim_due(datetime.now(UTC), 2)  # then the process dies
        assert len(claimed) == 2
        assert await store.recover_in_flight() == 2
        again = await store.claim_due(datetime.now(UTC), 10)
        assert len(again) == 5
    finally:
        await store.close()


def test_pacer_spaces_sends() -> None:
    pacer = Pacer(Limits(global_per_s=10, private_per_s=1, group_per_min=20))
    slots = [pacer.reserve(chat, 0.0) for chat in (1, 2, 3)]
    assert slots == pytest.approx([0.0, 0.1, 0.2])
    assert pacer.chat_ready(1) == pytest.approx(1.0)  # one per second per private chat
    assert pacer.reserve(-5, 0.0) == pytest.approx(0.3)
    assert pacer.chat_ready(-5) == pytest.approx(3.3)  # 20 per minute per group
    assert pacer.chat_ready(4) == 0.0


def send_tasks() -> list[asyncio.Task[object]]:
    """Return the send tasks still alive in this loop."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and getattr(t.get_coro(), "__qualname__", "").endswith("_send_at")
    ]


async def test_cancelled_drain_leaves_no_send_and_no_sending_row(
    server: FakeBotAPI, setup: tuple[Store, Sender]
) -> None:
    store, sender = setup
    for chat in (1, 2, 3):
        await push(store, chat)
    server.delay_next("sendMessage", 30, count=3)  # the answers hang: three sends in flight
    draining = asyncio.create_task(sender.drain())
    await server.wait_for_async(lambda: len(server.calls_to("sendMessage")) == 3, timeout=10)
    draining.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await draining
    assert send_tasks() == []
    assert set((await statuses(store)).values()) == {"pending"}  # back in the queue


async def test_finished_sends_are_not_kept(server: FakeBotAPI, setup: tuple[Store, Sender]) -> None:
    store, sender = setup
    for chat in range(1, 11):
        await push(store, chat)
    assert await sender.drain() == 10
    assert set((await statuses(store)).values()) == {"sent"}
    assert sender.tasks == set()


@pytest.mark.parametrize(
    ("answer_after", "grace", "ends"), [(0.2, 30.0, "sent"), (30, 0.1, "pending")]
)
async def test_stop_settles_the_send_in_flight(
    server: FakeBotAPI,
    setup: tuple[Store, Sender],
    answer_after: float,
    grace: float,
    ends: str,
) -> None:
    store, sender = setup
    await push(store, 1)
    server.delay_next("sendMessage", answer_after)
    running = asyncio.create_task(sender.run())
    await server.wait_for_async(lambda: server.calls_to("sendMessage"), timeout=10)
    await sender.stop(grace)
    await asyncio.wait_for(running, timeout=10)  # the loop ends by itself: nothing to cancel
    assert await statuses(store) == {"alert:1:1": ends}
    assert send_tasks() == []


async def test_stopped_sender_claims_nothing(
    server: FakeBotAPI, setup: tuple[Store, Sender]
) -> None:
    store, sender = setup
    await sender.stop()
    await push(store, 1)
    assert await sender.drain() == 0
    assert await statuses(store) == {"alert:1:1": "pending"}


async def test_locked_database_at_start_is_survived(
    server: FakeBotAPI, setup: tuple[Store, Sender]
) -> None:
    store, sender = setup
    await push(store, 1)
    store._db.write_wait_s = 0.2  # writes give up soon, instead of after two minutes
    other = sqlite3.connect(store.path, isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    worker = Worker()
    supervisor = Supervisor("outbox-sender", sender.run, worker, lambda: datetime.now(UTC), 0.05)
    running = supervisor.start()
    try:
        await asyncio.wait_for(supervisor.failed.wait(), timeout=20)
        assert worker.state is State.RESTARTING
        assert worker.last_error is not None and "locked" in worker.last_error
        other.execute("ROLLBACK")
        await server.wait_for_async(lambda: server.sent, timeout=10)
        await sender.stop()
        # The run returns at its next turn after the stop: under load, not at once.
        await asyncio.wait_for(asyncio.shield(running), timeout=10)
        assert await statuses(store) == {"alert:1:1": "sent"}
        assert worker.state is State.STOPPED
    finally:
        other.close()
        await supervisor.stop()
