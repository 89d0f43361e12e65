"""Build the Application from settings and register every handler in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from handlers import articles, inline, search
from handlers.common import STORE_KEY, flood_guard, non_text, on_error
from handlers.texts import Lang, bot_commands
from storage.store import Store

# Edited messages and channel posts are not requested: an edit does not re-run a search
# (the first answer stays), and the bot does not read channels.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
CONSOLE_TOKEN = "1:console"


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
    settings: Settings = app.bot_data["settings"]
    app.bot_data[STORE_KEY] = await Store.open(settings.db_path, seeds=settings.seeds)
    await app.bot.set_my_commands(bot_commands(Lang.AR))
    for lang in Lang:
        await app.bot.set_my_commands(bot_commands(lang), language_code=lang.value)


async def _post_shutdown(app: Application) -> None:
    store: Store | None = app.bot_data.pop(STORE_KEY, None)
    if store is not None:
        await store.close()


def build_application(settings: Settings, request: BaseRequest | None = None) -> Application:
    """Return the Application wired with every handler; `request` replaces the network."""
    builder = (
        Application.builder()
        .token(settings.token or CONSOLE_TOKEN)
        .base_url(settings.api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data["settings"] = settings

    # Group -1 runs first for every update: a flooding user's updates stop here.
    app.add_handler(TypeHandler(Update, flood_guard), group=-1)

    new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("start", articles.start, filters=new))
    app.add_handler(CommandHandler("help", articles.help_command, filters=new))
    app.add_handler(CommandHandler("about", articles.about, filters=new))
    app.add_handler(CommandHandler("sources", articles.sources, filters=new))
    app.add_handler(CommandHandler("latest", articles.latest, filters=new))
    # Text after commands: in private chats any text searches; in groups only when addressed.
    addressed = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & AddressedToBot())
    app.add_handler(
        MessageHandler(new & filters.TEXT & ~filters.COMMAND & addressed, search.search_message)
    )
    app.add_handler(MessageHandler(new & filters.ChatType.PRIVATE & ~filters.TEXT, non_text))
    # Buttons: typed prefixes first, anything else is stale or forged.
    app.add_handler(CallbackQueryHandler(search.page_button, pattern=r"^p:"))
    app.add_handler(CallbackQueryHandler(articles.article_button, pattern=r"^a:"))
    app.add_handler(CallbackQueryHandler(articles.stale_button))
    app.add_handler(InlineQueryHandler(inline.inline_query))

    app.add_error_handler(on_error)
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
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
