"""What replicas share through the store: per-user flood buckets, and chats' state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from telegram.ext import ContextTypes

from bot.config import Settings
from handlers.common import (
    FLOOD_KEY,
    SETTINGS_KEY,
    STORE_KEY,
    FloodGate,
    SharedFloodGate,
    _admit,
)
from storage.store import Store

NOW = 1_000_000.0


async def test_replicas_alternating_share_one_burst(two_stores: tuple[Store, Store]) -> None:
    gates = [SharedFloodGate(s, "flood") for s in two_stores]
    verdicts = [await gates[i % 2].admit(7, NOW) for i in range(12)]
    assert verdicts[:10] == [(True, False)] * 10
    assert verdicts[10:] == [(False, True), (False, False)]  # refused; warned once
    assert await gates[1].admit(8, NOW) == (True, False)  # another user is unaffected
    assert await gates[0].admit(7, NOW + 1.0) == (True, False)  # refilled at one a second
    assert await gates[1].admit(7, NOW + 1.0) == (False, True)  # a new flood, a new warning


async def test_concurrent_updates_on_two_replicas_spend_each_token_once(
    two_stores: tuple[Store, Store],
) -> None:
    gates = [SharedFloodGate(s, "flood") for s in two_stores]
    verdicts = await asyncio.gather(*(gates[i % 2].admit(7, NOW) for i in range(30)))
    assert [admitted for admitted, _ in verdicts].count(True) == 10
    assert [warn for _, warn in verdicts].count(True) == 1


async def test_buckets_are_kept_apart(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    for _ in range(10):
        assert await SharedFloodGate(a, "flood").admit(7, NOW) == (True, False)
    assert await SharedFloodGate(b, "inline_flood").admit(7, NOW) == (True, False)


def context(store: Store, mode: str) -> ContextTypes.DEFAULT_TYPE:
    data: dict[str, Any] = {STORE_KEY: store, SETTINGS_KEY: Settings(mode=mode)}
    app = SimpleNamespace(bot_data=data)
    return cast(ContextTypes.DEFAULT_TYPE, SimpleNamespace(application=app))


@pytest.mark.parametrize(("mode", "gate"), [("webhook", SharedFloodGate), ("polling", FloodGate)])
async def test_webhook_replicas_share_the_gate_and_a_poller_keeps_it_in_memory(
    two_stores: tuple[Store, Store], mode: str, gate: type
) -> None:
    replicas = [context(s, mode) for s in two_stores]
    admitted = [(await _admit(replicas[i % 2], FLOOD_KEY, 7))[0] for i in range(12)]
    assert isinstance(replicas[0].application.bot_data[FLOOD_KEY], gate)
    # Shared, the 11th update across both is refused; in memory, each replica has its own 10.
    assert admitted.count(True) == (10 if mode == "webhook" else 12)


async def test_a_chat_blocked_through_one_replica_is_reactivated_by_a_message_to_another(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    now = datetime.now(UTC)
    assert not await a.touch_chat(5, "private", "ar", "UTC", now)  # a has seen it active
    assert await b.set_active(5, False)  # b's sender met "bot was blocked by the user"
    assert await a.touch_chat(5, "private", "ar", "UTC", now)  # unblocked: it writes to a
    chat = await b.chat(5)
    assert chat is not None and chat.active


async def test_chat_settings_changed_on_one_replica_are_read_on_the_other(
    two_stores: tuple[Store, Store],
) -> None:
    a, b = two_stores
    await a.ensure_chat(5, "private", "ar", "UTC", datetime.now(UTC))
    assert (await b.chat(5)) is not None
    await a.update_chat(5, timezone="Europe/Berlin", digest_time="08:00")
    chat = await b.chat(5)
    assert chat is not None and (chat.timezone, chat.digest_time) == ("Europe/Berlin", "08:00")
