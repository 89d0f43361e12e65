"""Build the Application from settings and register every handler in one place."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.feeds import make_fetcher
from bot.jobs import make_sender, schedule
from bot.loopback import visible_text
from bot.metrics import Metrics
from bot.sender import Sender, utc_now
from bot.supervisor import Supervisor, describe
from handlers import admin, articles, feeds, inline, search, subscriptions
from handlers.admin import HEALTH_KEY, SENDER_KEY
from handlers.common import (
    CLOCK_KEY,
    FETCHER_KEY,
    METRICS_KEY,
    SETTINGS_KEY,
    STORE_KEY,
    flood_guard,
    non_text,
    on_error,
)
from handlers.health import Health, Worker
from handlers.texts import Lang, bot_commands, lang_of, t
from storage.backends import open_store
from storage.store import Store

# Edited messages and channel posts are not requested: an edit does not re-run a search
# (the first answer stays), and the bot does not read channels.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
CONSOLE_TOKEN = "1:console"
GIL_SWITCH_S = 0.001
BACKGROUND_KEY = "background"
SUPERVISORS_KEY = "supervisors"
HOLDER_KEY = "presence_holder"
HEARTBEAT_SECONDS = 5.0
log = logging.getLogger(__name__)


class AddressedToBot(filters.MessageFilter):
    """A group message that mentions the bot or replies to it."""

    def filter(self, message: Message) -> bool:
        """Tell whether the message is meant for this bot."""
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied and replied.from_user and replied.from_user.id == bot.id:
            return True
        return bool(bot.username) and f"@{bot.username}".lower() in (message.text or "").lower()


async def _post_init(app: Application) -> None:
    settings: Settings = app.bot_data[SETTINGS_KEY]
    store = await open_store(
        settings.database, seeds=settings.seeds, index=settings.index_folder
    )
    app.bot_data[STORE_KEY] = store
    app.bot_data.setdefault(CLOCK_KEY, utc_now)
    app.bot_data[HEALTH_KEY] = Health()
    await app.bot.set_my_commands(bot_commands(Lang.AR))
    for lang in Lang:
        await app.bot.set_my_commands(bot_commands(lang), language_code=lang.value)
    await store.warm_up()
    # Worker threads (ingest analysis, the SQLite connections) hand the GIL back to the event
    # loop after 1 ms instead of 5: the worst loop stall under load fell from 43-70 to 28-37 ms.
    sys.setswitchinterval(GIL_SWITCH_S)
    if app.bot_data[BACKGROUND_KEY]:
        await _start_background(app, store, settings)


async def _start_background(app: Application, store: Store, settings: Settings) -> None:
    """Start what only the bot process does: heartbeat, sender and jobs."""
    health: Health = app.bot_data[HEALTH_KEY]
    if not await store.latest(1):
        log.warning("%s", visible_text(t(Lang.EN, "fill_archive")))
    # Documents already in the archive at first start are not news.
    await store.mark_documents_seen()
    holder, started = f"{socket.gethostname()}:{os.getpid()}", utc_now()
    app.bot_data[HOLDER_KEY] = holder

    await store.beat(holder, started, started)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await store.beat(holder, started, utc_now())

    # One HTTP client for every feed and page: its connections are kept and its limits shared.
    app.bot_data[FETCHER_KEY] = make_fetcher(settings)
    sender = make_sender(app, store, settings)
    app.bot_data[SENDER_KEY] = sender
    clock = app.bot_data[CLOCK_KEY]
    supervisors = [
        Supervisor("outbox-sender", sender.run, health.sender, clock),
        Supervisor("heartbeat", heartbeat, Worker(), clock),
    ]
    for supervisor in supervisors:
        supervisor.start()
    app.bot_data[SUPERVISORS_KEY] = supervisors
    schedule(app, settings)


async def _post_stop(app: Application) -> None:
    """Stop in order: the sender stops claiming and settles its sends, then the workers end."""
    sender: Sender | None = app.bot_data.get(SENDER_KEY)
    if sender is not None:
        await sender.stop(app.bot_data[SETTINGS_KEY].shutdown_grace)
    for supervisor in app.bot_data.pop(SUPERVISORS_KEY, []):
        await supervisor.stop()
    store: Store | None = app.bot_data.get(STORE_KEY)
    holder = app.bot_data.pop(HOLDER_KEY, None)
    if store is not None and holder is not None:
        try:
            await store.leave(holder)
        except Exception:  # the row then ages out: the console reads only recent beats
            log.warning("could not clear this bot's presence row", exc_info=True)


async def _note_job_failure(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember a job's last failure for /status (on_error has logged it already)."""
    health: Health | None = context.application.bot_data.get(HEALTH_KEY)
    if context.job is not None and context.error is not None and health is not None:
        now = context.application.bot_data[CLOCK_KEY]()
        health.jobs[context.job.name or "job"] = (now, describe(context.error))


async def track_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reactivate a chat that writes again; follow a group that became a supergroup."""
    store: Store = context.application.bot_data[STORE_KEY]
    message = update.effective_message
    chat = update.effective_chat
    if message is not None and message.migrate_to_chat_id and chat is not None:
        await store.migrate_chat(chat.id, message.migrate_to_chat_id)
    elif chat is not None and update.message is not None:
        settings: Settings = context.application.bot_data[SETTINGS_KEY]
        lang = lang_of(update.effective_user).value
        await store.touch_chat(
            chat.id, chat.type, lang, settings.timezone, context.application.bot_data[CLOCK_KEY]()
        )


async def count_update(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Count the update for /metrics."""
    metrics: Metrics = context.application.bot_data[METRICS_KEY]
    metrics.count_update(update)


async def _post_shutdown(app: Application) -> None:
    fetcher = app.bot_data.pop(FETCHER_KEY, None)
    if fetcher is not None:
        await fetcher.aclose()
    store: Store | None = app.bot_data.pop(STORE_KEY, None)
    if store is not None:
        await store.close()


def build_application(
    settings: Settings, request: BaseRequest | None = None, background: bool = True
) -> Application:
    """Return the Application wired with every handler; `request` replaces the network.

    Without background the application only answers updates: no sender, no jobs, no heartbeat,
    and the outbox and the matching state are left as they are (the console).
    """
    builder = (
        Application.builder()
        .token(settings.token or CONSOLE_TOKEN)
        .base_url(settings.api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=1000 if settings.paid_broadcast else settings.rate_global,
                group_max_rate=settings.rate_group_per_min,
                max_retries=3,
            )
        )
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data[SETTINGS_KEY] = settings
    app.bot_data[BACKGROUND_KEY] = background
    app.bot_data[METRICS_KEY] = Metrics()

    # Group -3 counts every update, flooding or not.
    app.add_handler(TypeHandler(Update, count_update), group=-3)
    # Group -2 sees every update too: a chat that writes is active again, even when flooding.
    app.add_handler(TypeHandler(Update, track_chat), group=-2)
    # Group -1: a flooding user's updates stop here.
    app.add_handler(TypeHandler(Update, flood_guard), group=-1)

    new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", articles.start, filters=new))
    app.add_handler(CommandHandler("help", articles.help_command, filters=new))
    app.add_handler(CommandHandler("about", articles.about, filters=new))
    app.add_handler(CommandHandler("sources", articles.sources, filters=new))
    app.add_handler(CommandHandler("latest", articles.latest, filters=new))
    app.add_handler(CommandHandler("subscribe", subscriptions.subscribe, filters=new))
    app.add_handler(CommandHandler("subscriptions", subscriptions.list_subscriptions, filters=new))
    app.add_handler(CommandHandler("unsubscribe", subscriptions.unsubscribe, filters=new))
    app.add_handler(CommandHandler("digest", subscriptions.digest, filters=new))
    app.add_handler(CommandHandler("timezone", subscriptions.timezone, filters=new))
    app.add_handler(CommandHandler("quiet", subscriptions.quiet, filters=new))
    app.add_handler(CommandHandler("broadcast", admin.broadcast, filters=new))
    app.add_handler(CommandHandler("status", admin.status, filters=new))
    app.add_handler(CommandHandler("reload", admin.reload, filters=new))
    app.add_handler(CommandHandler("addfeed", feeds.add_feed, filters=new))
    app.add_handler(CommandHandler("feeds", feeds.list_feeds, filters=new))
    app.add_handler(CommandHandler("removefeed", feeds.remove_feed, filters=new))
    # Text after commands: in private chats any text searches; in groups only when addressed.
    addressed = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & AddressedToBot())
    app.add_handler(
        MessageHandler(new & filters.TEXT & ~filters.COMMAND & addressed, search.search_message)
    )
    app.add_handler(MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT, non_text))
    # Buttons: typed prefixes first, anything else is stale or forged.
    app.add_handler(CallbackQueryHandler(search.page_button, pattern=r"^p:"))
    app.add_handler(CallbackQueryHandler(articles.article_button, pattern=r"^a:"))
    app.add_handler(CallbackQueryHandler(search.copies_button, pattern=r"^c:"))
    app.add_handler(CallbackQueryHandler(subscriptions.unsubscribe_button, pattern=r"^u:"))
    app.add_handler(CallbackQueryHandler(articles.stale_button))
    app.add_handler(InlineQueryHandler(inline.inline_query))

    app.add_error_handler(on_error)
    app.add_error_handler(_note_job_failure)
    return app


@asynccontextmanager
async def running(app: Application) -> AsyncIterator[Application]:
    """Run the application's life cycle without polling: for the console and the tests."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.start()
        try:
            yield app
        finally:
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
