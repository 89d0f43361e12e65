"""Operator commands (FURAT_ADMIN_IDS): /broadcast, /status, /reload."""

from __future__ import annotations

import html
from datetime import datetime

from telegram import Update
from telegram.ext import ContextTypes

from handlers.common import clock_of, lang_for, reply, settings_of, store_of
from handlers.health import Health, State
from handlers.texts import Lang, counted, t

SENDER_KEY = "sender"
HEALTH_KEY = "health"


async def is_operator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Tell whether the sender is an operator; tell anyone else the command is not theirs."""
    user = update.effective_user
    if user is not None and user.id in settings_of(context).admin_ids:
        return True
    lang = lang_for(update)
    await reply(update, t(lang, "operators_only"), lang)
    return False


def _wake_sender(context: ContextTypes.DEFAULT_TYPE) -> None:
    sender = context.application.bot_data.get(SENDER_KEY)
    if sender is not None:
        sender.wake()


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue a message to every active chat through the outbox."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text.partition(" ")[2].strip()
    if not text:
        await reply(update, t(lang, "broadcast_usage"), lang)
        return
    count = await store_of(context).enqueue_broadcast(html.escape(text), clock_of(context)())
    _wake_sender(context)
    await reply(update, t(lang, "broadcast_queued", chats=counted(lang, "chats", count)), lang)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "?"


def health_lines(health: Health, lang: Lang) -> list[str]:
    """Return the /status lines about the sender and the jobs' last failures."""
    sender = health.sender
    if sender.state is State.RESTARTING:
        lines = [t(lang, "sender_restarting", since=_when(sender.since))]
    elif sender.state is State.RUNNING:
        lines = [t(lang, "sender_running", since=_when(sender.since))]
    else:
        lines = [t(lang, "sender_stopped")]
    if sender.last_error:
        lines.append(
            t(
                lang,
                "sender_last_error",
                at=_when(sender.failed_at),
                restarts=sender.restarts,
                error=html.escape(sender.last_error),
            )
        )
    for job, (at, error) in sorted(health.jobs.items()):
        lines.append(
            t(lang, "job_failed", job=html.escape(job), at=_when(at), error=html.escape(error))
        )
    return lines


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show queue depth, recent deliveries, chats, subscriptions, the last ingest and health."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    s = await store_of(context).queue_status(clock_of(context)())
    text = t(
        lang,
        "status",
        pending=s.pending,
        sent=s.sent_24h,
        failed=s.failed_24h,
        chats=s.active_chats,
        subs=s.subscriptions,
        last=html.escape(s.last_ingest or t(lang, "never")),
    )
    health: Health | None = context.application.bot_data.get(HEALTH_KEY)
    if health is not None:
        text = "\n".join([text, *health_lines(health, lang)])
    await reply(update, text, lang)


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ingest the watched folder now."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    report = await store_of(context).ingest([settings_of(context).watch_dir])
    await reply(update, t(lang, "reloaded", summary=html.escape(report.summary())), lang)
