"""Scheduled work: match new documents, queue due digests, watch the ingest folder.

Jobs are rebuilt from the store at every start: they keep no state of their own, so a restart
(or a crash) loses nothing, and registering by name keeps each job single.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.feeds import poll_policy
from bot.metrics import Metrics
from bot.schedule import digest_due, quiet_until
from bot.sender import Limits, Sender
from handlers.admin import SENDER_KEY
from handlers.common import CLOCK_KEY, FETCHER_KEY, METRICS_KEY, SETTINGS_KEY, STORE_KEY
from handlers.render import alert_message, digest_message
from handlers.timeparse import parse_hhmm
from sources.poll import poll_feeds
from storage.feeds import PollStatus
from storage.models import Chat, Outcome
from storage.store import Store

log = logging.getLogger(__name__)
DIGEST_CANDIDATES = 10
TICK_LOCK_KEY = "tick_lock"
BACKOFF_KEY = "job_backoff"
JOB_BACKOFF_CAP_S = 300.0
FEED_CHECK_S = 30.0  # how often the bot looks for due feeds


def alert_not_before(chat: Chat, now: datetime) -> datetime:
    """Return when an alert may go out: now, or the end of the chat's quiet hours."""
    if chat.quiet_start and chat.quiet_end:
        end = quiet_until(
            parse_hhmm(chat.quiet_start), parse_hhmm(chat.quiet_end), chat.timezone, now
        )
        if end is not None:
            return end
    return now


async def run_tick(store: Store, settings: Settings, now: datetime) -> int:
    """Match new documents and queue due digests; return how many pushes were written."""
    written = await store.match_new_documents(alert_message, alert_not_before, now)
    for chat in await store.digest_chats():
        assert chat.digest_time is not None
        occurrence = digest_due(
            parse_hhmm(chat.digest_time),
            chat.timezone,
            datetime.fromisoformat(chat.last_digest_at),
            now,
        )
        if occurrence is None:
            continue
        queries = tuple(s.query for s in await store.subscriptions(chat.id))
        digest = await store.digest_items(chat, DIGEST_CANDIDATES)
        items = digest.items
        if not items and settings.digest_when_empty:
            items = (await store.digest_items(chat, DIGEST_CANDIDATES, since_doc=0)).items
        rendered = digest_message(chat, list(items), queries)
        written += await store.enqueue_digest(chat, occurrence, rendered, digest.through_doc, now)
    return written


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run one scheduling pass and wake the sender if anything was queued."""
    data = context.application.bot_data
    # The watch job, /reload and the schedule all ask for passes: one runs at a time, and a
    # pass that waited finds the work of the one before it done.
    async with data.setdefault(TICK_LOCK_KEY, asyncio.Lock()):
        written = await run_tick(data[STORE_KEY], data[SETTINGS_KEY], data[CLOCK_KEY]())
    if written:
        data[SENDER_KEY].wake()


async def watch(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ingest the watched folder; new documents are matched at the next tick."""
    data = context.application.bot_data
    settings: Settings = data[SETTINGS_KEY]
    if not settings.watch_dir.is_dir():
        return
    report = await data[STORE_KEY].ingest([settings.watch_dir], record_unchanged=False)
    if report.count(Outcome.ADDED) or report.count(Outcome.UPDATED):
        log.info("watched folder: %s", report.summary())
        await tick(context)


async def poll(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Read the feeds that are due; their new articles are matched at once."""
    data = context.application.bot_data
    results = await poll_feeds(
        data[STORE_KEY], data[FETCHER_KEY], poll_policy(data[SETTINGS_KEY]), data[CLOCK_KEY]()
    )
    metrics: Metrics | None = data.get(METRICS_KEY)
    for r in results:
        if metrics is not None:
            metrics.count_poll(r.status)
        if r.status is PollStatus.ERROR:
            log.warning("feed %s (%s): %s", r.feed, r.url, r.error)
    if any(r.new or r.updated for r in results):
        await tick(context)


@dataclass
class Backoff:
    """A failing job's rest: its runs are skipped until `until`, longer after each failure."""

    failures: int = 0
    until: float = 0.0


Job = Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def backing_off(name: str, callback: Job, clock: Callable[[], float] = time.monotonic) -> Job:
    """Wrap a job so that after a failure it rests 1 s, doubling up to JOB_BACKOFF_CAP_S."""

    async def run(context: ContextTypes.DEFAULT_TYPE) -> None:
        rests: dict[str, Backoff] = context.application.bot_data.setdefault(BACKOFF_KEY, {})
        state = rests.setdefault(name, Backoff())
        now = clock()
        if now < state.until:
            return
        try:
            await callback(context)
        except Exception:
            state.failures += 1
            state.until = now + min(JOB_BACKOFF_CAP_S, 2.0 ** (state.failures - 1))
            raise  # the error handlers log it at once and show it in /status
        state.failures, state.until = 0, 0.0

    return run


def schedule(app: Application, settings: Settings) -> None:
    """Register the repeating jobs once each."""
    queue = app.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is required"
    for callback, interval, name in (
        (tick, settings.tick_seconds, "tick"),
        (watch, settings.watch_seconds, "watch"),
        (poll, min(FEED_CHECK_S, settings.feed_interval), "feeds"),
    ):
        if not queue.get_jobs_by_name(name):
            job = backing_off(name, callback)
            queue.run_repeating(job, interval=interval, first=0.5, name=name)


def make_sender(
    app: Application,
    store: Store,
    settings: Settings,
) -> Sender:
    """Build the outbox sender for this application."""
    limits = Limits(
        settings.rate_global,
        settings.rate_private,
        settings.rate_group_per_min,
        settings.paid_broadcast,
        settings.max_attempts,
        settings.send_concurrency,
        settings.retry_base,
    )
    return Sender(
        store,
        app.bot,
        limits,
        clock=app.bot_data[CLOCK_KEY],
        metrics=app.bot_data.get(METRICS_KEY),
        lease_ttl=settings.sender_lease,
    )
