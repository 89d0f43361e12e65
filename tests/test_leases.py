"""Replicas elect one sender through a lease in the database: one pace, one recovery."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.sender import SENDER_LEASE, Limits, Sender
from storage.models import PushKind
from storage.store import Store
from tests.fake_botapi import DEFAULT_TOKEN, FakeBotAPI, RateLimits

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(seconds=15)


async def test_a_lease_is_held_by_one_until_it_expires_or_is_released(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    assert await a.acquire_lease("sender", "a", T0, TTL)
    assert not await b.acquire_lease("sender", "b", T0 + timedelta(seconds=14), TTL)
    assert await a.acquire_lease("sender", "a", T0 + timedelta(seconds=10), TTL)  # renewed
    assert not await b.acquire_lease("sender", "b", T0 + timedelta(seconds=20), TTL)
    assert await b.acquire_lease("sender", "b", T0 + timedelta(seconds=25), TTL)  # lapsed
    assert await b.lease_holder("sender", T0 + timedelta(seconds=26)) == "b"
    assert not await a.acquire_lease("sender", "a", T0 + timedelta(seconds=26), TTL)
    assert not await a.release_lease("sender", "a")  # not a's to give
    assert await b.release_lease("sender", "b")
    assert await a.acquire_lease("sender", "a", T0 + timedelta(seconds=27), TTL)
    assert await a.acquire_lease("other", "b", T0 + timedelta(seconds=27), TTL)  # by name


async def test_two_stores_racing_for_a_free_lease_get_one_holder(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    won = await asyncio.gather(
        *(s.acquire_lease("sender", h, T0, TTL) for _ in range(5) for s, h in ((a, "a"), (b, "b")))
    )
    holder = await a.lease_holder("sender", T0)
    assert holder in ("a", "b")
    assert won.count(True) == 5  # only the holder's own tries (renewals) succeed


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    # The fake enforces Telegram's limits too: a sender breaking them would meet 429s.
    async with FakeBotAPI(rate_limits=RateLimits(global_rate=10, global_burst=2)) as s:
        yield s


async def fill(store: Store, chats: range, ref: str = "1") -> None:
    now = datetime.now(UTC)
    for chat in chats:
        await store.ensure_chat(chat, "private", "ar", "UTC", now)
        await store.enqueue(
            f"alert:{chat}:{ref}", chat, PushKind.ALERT, f"خبر {ref}", None, now, now
        )


def sender(store: Store, bot: Bot, name: str, ttl: float = 15.0) -> Sender:
    limits = Limits(global_per_s=10, retry_base=0.05, concurrency=4)
    return Sender(store, bot, limits, rng=random.Random(1), lease_ttl=ttl, holder=name)


async def statuses(store: Store) -> list[str]:
    return [status async for _, _, status in store.sent_pushes()]


async def test_two_replicas_send_each_push_once_at_one_pace(
    server: FakeBotAPI, two_stores: tuple[Store, Store]
) -> None:
    a, b = two_stores
    await fill(a, range(1, 21))
    async with Bot(DEFAULT_TOKEN, base_url=server.base_url, request=HTTPXRequest()) as bot:
        senders = [sender(a, bot, "a"), sender(b, bot, "b")]
        runs = [asyncio.create_task(s.run()) for s in senders]
        try:
            await server.wait_for_async(lambda: len(server.sent) >= 20, timeout=60)
        finally:
            for s in senders:
                await s.stop()
            await asyncio.gather(*runs)
    assert await statuses(a) == ["sent"] * 20
    sent = server.calls_to("sendMessage")
    assert sorted(c.params["chat_id"] for c in sent) == list(range(1, 21))  # once each, no 429
    times = sorted(c.time for c in sent)
    # Ten a second overall, whoever sends: 20 sends span at least 1.9 s (10% slack for clocks).
    assert times[-1] - times[0] >= 19 / 10 * 0.9
    assert await a.lease_holder(SENDER_LEASE, datetime.now(UTC)) is None  # released on stop


async def test_a_live_holder_keeps_its_in_flight_rows_from_a_starting_replica(
    server: FakeBotAPI, two_stores: tuple[Store, Store]
) -> None:
    a, b = two_stores
    await fill(a, range(1, 4))
    assert await a.acquire_lease(SENDER_LEASE, "a", datetime.now(UTC), TTL)
    claimed = await a.claim_due(datetime.now(UTC), 2)  # a is sending these right now
    async with Bot(DEFAULT_TOKEN, base_url=server.base_url, request=HTTPXRequest()) as bot:
        late = sender(b, bot, "b")
        assert not await late.renew_lease()
        await late.drain()  # a drain without the lease claims nothing
    assert len(claimed) == 2
    assert sorted(await statuses(b)) == ["pending", "sending", "sending"]
    assert server.calls_to("sendMessage") == []


async def test_a_crashed_holder_is_taken_over_within_the_ttl(
    server: FakeBotAPI, two_stores: tuple[Store, Store]
) -> None:
    a, b = two_stores
    await fill(a, range(1, 11))
    async with Bot(DEFAULT_TOKEN, base_url=server.base_url, request=HTTPXRequest()) as bot:
        first = sender(a, bot, "a", ttl=1.0)
        assert await first.renew_lease()
        claimed = await a.claim_due(datetime.now(UTC), 3)  # in flight when it dies
        died = datetime.now(UTC)
        second = sender(b, bot, "b", ttl=1.0)
        run = asyncio.create_task(second.run())
        try:
            await server.wait_for_async(lambda: len(server.sent) >= 10, timeout=60)
        finally:
            await second.stop()
            await run
    assert len(claimed) == 3
    assert await statuses(a) == ["sent"] * 10
    sent = server.calls_to("sendMessage")
    assert sorted(c.params["chat_id"] for c in sent) == list(range(1, 11))
    # Taken over once the lease lapsed, and not before: no send while the dead one held it.
    assert min(datetime.fromtimestamp(c.time, UTC) for c in sent) >= died + timedelta(seconds=0.9)
