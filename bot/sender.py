"""Drain the outbox within Telegram's limits, retrying what can be retried.

Delivery is at-least-once with a bound: a row is marked `sending` before the request and `sent`
after it, so a crash between the two re-sends that row after the restart. At most
`concurrency` rows are in flight at any moment, which bounds the duplicates of one crash.

Replicas elect one sender: only the holder of the `sender` lease claims rows, so Telegram's
overall and per-chat limits, paced here in memory, hold across replicas. Another replica takes
the lease over when the holder stops renewing it (it died) or releases it (it stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.metrics import Metrics
from storage.models import Push, PushStatus
from storage.store import Store

log = logging.getLogger(__name__)
SENDER_LEASE = "sender"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Limits:
    """Telegram's broadcast limits; 0 switches a limit off."""

    global_per_s: float = 30.0
    private_per_s: float = 1.0
    group_per_min: float = 20.0
    paid_broadcast: bool = False
    max_attempts: int = 5
    concurrency: int = 32
    retry_base: float = 2.0

    @property
    def overall(self) -> float:
        """Return the overall rate in messages per second (paid broadcasts go to 1,000)."""
        return 1000.0 if self.paid_broadcast else self.global_per_s


@dataclass
class Pacer:
    """Reserve send times: overall spacing plus spacing per chat."""

    limits: Limits
    next_any: float = 0.0
    next_chat: dict[int, float] = field(default_factory=dict)

    def chat_ready(self, chat_id: int) -> float:
        """Return the earliest moment this chat may be sent to again."""
        return self.next_chat.get(chat_id, 0.0)

    def reserve(self, chat_id: int, now: float) -> float:
        """Book the next overall slot for a chat that is ready, and return it."""
        at = max(now, self.next_any, self.chat_ready(chat_id))
        if self.limits.overall > 0:
            self.next_any = at + 1 / self.limits.overall
        group = chat_id < 0
        if group and self.limits.group_per_min:
            self.next_chat[chat_id] = at + 60 / self.limits.group_per_min
        elif not group and self.limits.private_per_s:
            self.next_chat[chat_id] = at + 1 / self.limits.private_per_s
        return at

    def pause(self, until: float) -> None:
        """Hold every send until a moment (Telegram said RetryAfter)."""
        self.next_any = max(self.next_any, until)


def backoff(attempt: int, rng: random.Random, base: float = 2.0) -> timedelta:
    """Return the wait before retry number attempt: exponential, capped, with jitter."""
    wait = min(300.0, base * 2.0 ** (attempt - 1))
    return timedelta(seconds=wait * rng.uniform(0.5, 1.5))


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    """Send due outbox rows with pacing; one instance per running bot."""

    def __init__(
        self,
        store: Store,
        bot: Bot,
        limits: Limits,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        lease_ttl: float = 15.0,
        holder: str | None = None,
    ) -> None:
        self.store, self.bot, self.limits, self.clock = store, bot, limits, clock
        self.lease_ttl = lease_ttl
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Loop time until which the lease is surely ours; None: no lease asked for (drain alone).
        self.lease_until: float | None = None
        self.metrics = metrics
        self.pacer = Pacer(limits)
        self.rng = rng or random.Random()
        self.wakeup = asyncio.Event()
        self.stopping = asyncio.Event()
        self.in_flight = asyncio.Semaphore(limits.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()  # sends in flight, and only those

    def wake(self) -> None:
        """Tell the loop that new rows may be due."""
        self.wakeup.set()

    def holds_lease(self) -> bool:
        """Tell whether this sender may claim rows: it holds the lease (or runs without one)."""
        if self.lease_until is None:
            return True
        return asyncio.get_running_loop().time() < self.lease_until

    async def renew_lease(self) -> bool:
        """Take or renew the sender lease; on taking it over, requeue what a dead holder left."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        had = self.lease_until is not None and asked < self.lease_until
        held = await self.store.acquire_lease(
            SENDER_LEASE, self.holder, self.clock(), timedelta(seconds=self.lease_ttl)
        )
        if not held:
            if had:
                log.warning("the sender lease went to another replica: this one stops sending")
            self.lease_until = 0.0
            return False
        if not had:
            # Only the new holder may: the rows left `sending` are then no live sender's.
            recovered = await self.store.recover_in_flight()
            log.info("this replica sends the outbox (%d rows requeued)", recovered)
        # Counted from before the request: the row may have been written at its very start.
        self.lease_until = asked + self.lease_ttl
        self.wake()
        return True

    async def _keep_lease(self) -> None:
        """Renew a held lease every third of its life, while a drain may last longer."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=self.lease_ttl / 3)
            if self.holds_lease() and not self.stopping.is_set():
                try:
                    await self.renew_lease()
                except Exception:  # a busy or lost database: the lease runs out on its own
                    log.warning("could not renew the sender lease", exc_info=True)

    async def run(self) -> None:
        """Drain while holding the lease: send what is due, then sleep until the next row is due.

        A failure ends the call; the supervisor logs it and calls again after a backoff.
        """
        if self.lease_until is None:
            self.lease_until = 0.0
        keeper = asyncio.create_task(self._keep_lease())
        try:
            while not self.stopping.is_set():
                # Tried here rather than only by the keeper: a database that refuses ends the
                # call, and the supervisor shows the failure and retries.
                if not self.holds_lease() and not await self.renew_lease():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), timeout=self.lease_ttl / 3)
                    continue
                await self.drain()
                nxt = await self.store.next_due()
                delay = 1.0 if nxt is None else (nxt - self.clock()).total_seconds()
                self.wakeup.clear()
                if delay > 0 and not self.stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wakeup.wait(), timeout=min(delay, 1.0))
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let sends in flight finish for up to grace seconds, requeue the rest.

        Then give the lease up, so that another replica sends at once rather than after its TTL.
        """
        self.stopping.set()
        self.wake()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=grace)
        await self._cancel_sends()
        if self.lease_until is not None:
            self.lease_until = 0.0
            try:
                await self.store.release_lease(SENDER_LEASE, self.holder)
            except Exception:  # it then runs out on its own
                log.warning("could not release the sender lease", exc_info=True)

    async def drain(self) -> int:
        """Send every row due now; return how many were claimed."""
        total = 0
        loop = asyncio.get_running_loop()
        try:
            while not self.stopping.is_set() and self.holds_lease():
                pushes = await self.store.claim_due(self.clock(), self.limits.concurrency)
                if not pushes:
                    break
                total += len(pushes)
                waiting = list(pushes)
                try:
                    while waiting:
                        push = waiting[0]
                        wait = self.pacer.chat_ready(push.chat_id) - loop.time()
                        if wait > 0:
                            # This chat is paced: its row waits without taking an overall slot.
                            waiting.pop(0)
                            await self.store.release_push(
                                push.id, self.clock() + timedelta(seconds=wait)
                            )
                            continue
                        await self.in_flight.acquire()
                        waiting.pop(0)
                        at = self.pacer.reserve(push.chat_id, loop.time())
                        task = asyncio.create_task(self._send_at(push, at))
                        self.tasks.add(task)
                        task.add_done_callback(self._forget)
                finally:
                    # Claimed but not handed to a send (cancelled or failed): back in the queue.
                    if waiting:
                        await asyncio.shield(self._requeue(waiting))
            if self.tasks:
                await asyncio.wait(set(self.tasks))
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_sends())
            raise
        return total

    def _forget(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Sent or not, its outcome could not be written: the row waits for its lease.
            log.error("a send could not record its outcome", exc_info=exc)

    async def _cancel_sends(self) -> None:
        """Cancel the sends in flight; each puts its row back in the queue."""
        tasks = set(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _requeue(self, pushes: list[Push]) -> None:
        now = self.clock()
        for push in pushes:
            await self.store.release_push(push.id, now)

    async def _send_at(self, push: Push, at: float) -> None:
        try:
            delay = at - asyncio.get_running_loop().time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                if self.stopping.is_set():
                    await self._requeue([push])
                    return
            await self._send(push)
        except asyncio.CancelledError:
            # Stopped mid-send: the request may have reached Telegram or not. The row goes
            # back to the queue (at least once), never stays 'sending'.
            await asyncio.shield(self._requeue([push]))
            raise
        finally:
            self.in_flight.release()

    async def _send(self, push: Push) -> None:
        markup = (
            InlineKeyboardMarkup.de_json(json.loads(push.reply_markup), self.bot)
            if push.reply_markup
            else None
        )
        paid = self.limits.paid_broadcast or None
        try:
            if isinstance(self.bot, ExtBot) and self.bot.rate_limiter is not None:
                # Our own pacing and retries apply: the limiter must not swallow RetryAfter.
                await self.bot.send_message(
                    push.chat_id,
                    push.text,
                    reply_markup=markup,
                    allow_paid_broadcast=paid,
                    rate_limit_args=0,
                )
            else:
                await self.bot.send_message(
                    push.chat_id, push.text, reply_markup=markup, allow_paid_broadcast=paid
                )
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            self.pacer.pause(asyncio.get_running_loop().time() + wait)
            await self._again(push, timedelta(seconds=wait), f"retry after {wait:g}s")
        except Forbidden as exc:
            await self.store.set_active(push.chat_id, False)
            await self._finish(push, PushStatus.FAILED, str(exc))
        except ChatMigrated as exc:
            await self.store.migrate_chat(push.chat_id, exc.new_chat_id)
            await self._again(push, timedelta(0), f"migrated to {exc.new_chat_id}")
        except BadRequest as exc:
            log.warning("push %s refused: %s", push.key, exc)
            await self._finish(push, PushStatus.FAILED, str(exc))
        except Exception as exc:  # timeouts, network errors, 5xx; and anything unforeseen
            if not isinstance(exc, TelegramError | OSError):
                log.exception("push %s failed unexpectedly", push.key)
            if push.attempts >= self.limits.max_attempts:
                await self._finish(
                    push, PushStatus.FAILED, f"gave up after {push.attempts} attempts: {exc}"
                )
            else:
                await self._again(
                    push, backoff(push.attempts, self.rng, self.limits.retry_base), str(exc)
                )
        else:
            await self._finish(push, PushStatus.SENT)

    async def _finish(self, push: Push, status: PushStatus, error: str | None = None) -> None:
        """Record a push's last outcome, and count it once it is written."""
        await self.store.finish_push(push.id, status, self.clock(), error)
        if self.metrics is not None:
            self.metrics.count_push(status)

    async def _again(self, push: Push, wait: timedelta, reason: str) -> None:
        now = self.clock()
        await self.store.finish_push(push.id, PushStatus.PENDING, now, reason, now + wait)
        self.wake()
