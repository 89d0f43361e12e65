"""What every handler needs: the store, the reply language, and the one error boundary."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.callbacks import BadCallback
from handlers.render import finish
from handlers.texts import Lang, lang_of, t
from search.results import SearchHit
from storage.store import Store

log = logging.getLogger(__name__)

STORE_KEY = "store"
SETTINGS_KEY = "settings"
CLOCK_KEY = "clock"
FETCHER_KEY = "fetcher"
FLOOD_KEY = "flood"
INLINE_FLOOD_KEY = "inline_flood"
METRICS_KEY = "metrics"


class SearchMetrics(Protocol):
    """Where handlers report search latency (the bot keeps its metrics in bot_data)."""

    def observe_search(self, seconds: float) -> None:
        """Record how long one search took."""


@runtime_checkable
class HandlerSettings(Protocol):
    """The settings handlers read; the application puts an object with them under SETTINGS_KEY."""

    @property
    def admin_ids(self) -> frozenset[int]: ...
    @property
    def timezone(self) -> str: ...
    @property
    def max_subscriptions(self) -> int: ...
    @property
    def watch_dir(self) -> Path: ...
    @property
    def allow_private_urls(self) -> bool: ...
    @property
    def mode(self) -> str: ...


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> HandlerSettings:
    """Return the settings the application was built with."""
    settings: HandlerSettings = context.application.bot_data[SETTINGS_KEY]
    return settings


def clock_of(context: ContextTypes.DEFAULT_TYPE) -> Callable[[], datetime]:
    """Return the application's clock (tests inject their own)."""
    clock: Callable[[], datetime] = context.application.bot_data.get(CLOCK_KEY, _utc_now)
    return clock


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _seconds() -> float:
    """Return the flood gates' clock (tests hold it still): the wall's, as replicas share it."""
    return time.time()


def store_of(context: ContextTypes.DEFAULT_TYPE) -> Store:
    """Return the store the application opened in post_init."""
    store: Store = context.application.bot_data[STORE_KEY]
    return store


async def timed_search(
    context: ContextTypes.DEFAULT_TYPE, query: str, limit: int, offset: int = 0
) -> list[SearchHit]:
    """Search the store, reporting the time it took to the application's metrics."""
    started = time.perf_counter()
    try:
        return await store_of(context).search(query, limit=limit, offset=offset)
    finally:
        metrics: SearchMetrics | None = context.application.bot_data.get(METRICS_KEY)
        if metrics is not None:
            metrics.observe_search(time.perf_counter() - started)


def lang_for(update: Update, query: str = "") -> Lang:
    """Return the language to answer this update in."""
    return lang_of(update.effective_user, query)


async def reply(update: Update, text: str, lang: Lang, **kwargs: object) -> None:
    """Reply in the chat of the update with text in the interface direction."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(finish(text, lang), **kwargs)  # type: ignore[arg-type]


@dataclass
class FloodGate:
    """Token buckets per user: a burst, then a steady rate; one warning per flood."""

    burst: float = 10.0
    per_second: float = 1.0
    buckets: dict[int, tuple[float, float, bool]] = field(default_factory=dict)

    def admit(self, user_id: int, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn): whether to handle the update and whether to warn once."""
        tokens, last, warned = self.buckets.get(user_id, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens >= 1:
            self.buckets[user_id] = (tokens - 1, now, False)
            return True, False
        self.buckets[user_id] = (tokens, now, True)
        return False, not warned


@dataclass(frozen=True)
class SharedFloodGate:
    """Token buckets kept in the store, so that every replica spends from the user's one bucket.

    Its cost is a write per update: 0.16 ms, about 6,000 updates/s on one SQLite file (9,000
    with 32 at once), against 3.5 million/s in memory. A polling bot is one process (Telegram
    refuses a second getUpdates), so it keeps the in-memory gate and its writer stays free for
    ingest and matching; webhook replicas share this one.
    """

    store: Store
    bucket: str
    burst: float = 10.0
    per_second: float = 1.0

    async def admit(self, user_id: int, now: float) -> tuple[bool, bool]:
        """Return (admitted, warn), as FloodGate.admit does."""
        verdict = await self.store.take_flood_token(
            user_id, self.bucket, now, self.burst, self.per_second
        )
        return verdict.admitted, verdict.warn


async def _admit(context: ContextTypes.DEFAULT_TYPE, key: str, user_id: int) -> tuple[bool, bool]:
    """Spend one of the user's tokens in the gate under key, making the gate on first use."""
    data = context.application.bot_data
    gate = data.get(key)
    if gate is None:
        shared = settings_of(context).mode == "webhook"
        gate = SharedFloodGate(store_of(context), key) if shared else FloodGate()
        data[key] = gate
    if isinstance(gate, SharedFloodGate):
        return await gate.admit(user_id, _seconds())
    admitted: tuple[bool, bool] = gate.admit(user_id, _seconds())
    return admitted


async def flood_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop a user's updates beyond their rate, warning them once; others are untouched."""
    user = update.effective_user
    if user is None:
        return
    if update.inline_query is not None:
        # Typing sends a query every few letters: inline mode has a bucket of its own.
        if not (await _admit(context, INLINE_FLOOD_KEY, user.id))[0]:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
            raise ApplicationHandlerStop
        return
    admitted, warn = await _admit(context, FLOOD_KEY, user.id)
    if admitted:
        return
    if warn and update.effective_chat and update.effective_chat.type == ChatType.PRIVATE:
        await reply(update, t(lang_for(update), "slow_down"), lang_for(update))
    if update.callback_query:
        await update.callback_query.answer(t(lang_for(update), "slow_down"))
    raise ApplicationHandlerStop


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a sticker, photo, voice, file or location with a hint."""
    lang = lang_for(update)
    await reply(update, t(lang, "non_text"), lang)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (the token is redacted by the log filter) and tell the user kindly."""
    stale = isinstance(context.error, BadCallback)
    if stale:
        log.info("stale or forged callback data: %r", context.error)
    else:
        log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and (update.effective_chat or update.callback_query):
        lang = lang_for(update)
        try:
            if update.callback_query:
                key = "stale_button" if stale else "error"
                await update.callback_query.answer(t(lang, key), show_alert=stale)
            elif update.effective_message:
                await reply(update, t(lang, "error"), lang)
        except Exception:  # the error may be the network itself; never loop on it
            log.warning("could not tell the user about the error", exc_info=True)
