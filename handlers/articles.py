"""Articles: the deep link and button that open one, /latest, /sources, /about, /help."""

from __future__ import annotations

import html

from telegram import LinkPreviewOptions, Update
from telegram.ext import ContextTypes

from handlers.callbacks import BadCallback, decode
from handlers.common import lang_for, reply, store_of
from handlers.render import article_messages
from handlers.texts import Lang, t
from storage.store import Store

DEEP_LINK_PREFIX = "doc_"
LATEST_COUNT = 10


def deep_link(username: str | None, key: str) -> str:
    """Return the t.me link that opens an article in the bot."""
    return f"https://t.me/{username}?start={DEEP_LINK_PREFIX}{key}"


async def send_article(update: Update, store: Store, key: str | int, lang: Lang) -> None:
    """Send a whole article, split into as many messages as it needs."""
    doc = await store.document(key)
    if doc is None:
        await reply(update, t(lang, "article_missing"), lang)
        return
    chat = update.effective_chat
    assert chat is not None
    for text in article_messages(doc, lang):
        await chat.send_message(text)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, or open the article named by a `doc_<key>` deep link."""
    lang = lang_for(update)
    payload = context.args[0] if context.args else ""
    if payload.startswith(DEEP_LINK_PREFIX):
        await send_article(update, store_of(context), payload[len(DEEP_LINK_PREFIX) :], lang)
        return
    await reply(update, t(lang, "start"), lang)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to search."""
    lang = lang_for(update)
    await reply(update, t(lang, "help", bot=html.escape(context.bot.username or "bot")), lang)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the archive holds."""
    lang = lang_for(update)
    s = await store_of(context).stats()
    last = (s.last_ingest or t(lang, "never"))[:19].replace("T", " ")
    last += " UTC" if s.last_ingest else ""
    text = t(
        lang,
        "about",
        documents=s.documents,
        passages=s.passages,
        outlets=s.outlets,
        last=html.escape(last),
    )
    await reply(update, text, lang)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the outlets in the archive."""
    lang = lang_for(update)
    outlets = await store_of(context).outlets()
    if not outlets:
        await reply(update, t(lang, "sources_empty"), lang)
        return
    lines = [t(lang, "sources_header")]
    lines += [f"• {html.escape(o.outlet)} ({o.documents})" for o in outlets]
    await reply(update, "\n".join(lines), lang)


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the newest articles with links that open them."""
    lang = lang_for(update)
    docs = await store_of(context).latest(LATEST_COUNT)
    if not docs:
        await reply(update, t(lang, "archive_empty"), lang)
        return
    username = context.bot.username
    lines = [t(lang, "latest_header")]
    for doc in docs:
        outlet = f" — <i>{html.escape(doc.outlet)}</i>" if doc.outlet else ""
        link = html.escape(deep_link(username, doc.key), quote=True)
        lines.append(f'• <a href="{link}">{html.escape(doc.title)}</a>{outlet}')
    await reply(
        update, "\n".join(lines), lang, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


async def article_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the article behind a "full article" button."""
    query = update.callback_query
    assert query is not None
    callback = decode(query.data)
    store = store_of(context)
    if await store.document(callback.a) is None:
        raise BadCallback(query.data)
    await query.answer()
    await send_article(update, store, callback.a, lang_for(update))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button this bot cannot (or can no longer) act on."""
    query = update.callback_query
    assert query is not None
    await query.answer(t(lang_for(update), "stale_button"), show_alert=True)
