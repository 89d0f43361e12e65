"""Articles: the deep link and button that open one, /latest, /sources, /about, /help."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import ContextTypes

from handlers.callbacks import Action, BadCallback, Callback, decode
from handlers.common import lang_for, reply, store_of
from handlers.render import article_part, link_button
from handlers.texts import Lang, t
from storage.models import Document
from storage.store import Store

DEEP_LINK_PREFIX = "doc_"
LATEST_COUNT = 10


def deep_link(username: str | None, doc_id: int) -> str:
    """Return the t.me link that opens an article in the bot: `doc_<document id>`."""
    # Ids are what a start parameter can carry (A-Z a-z 0-9 _ -); file names may not be.
    return f"https://t.me/{username}?start={DEEP_LINK_PREFIX}{doc_id}"


async def _linked(store: Store, payload: str) -> Document | None:
    """Return the document a deep link names: by id, or by key for links made before ids."""
    if payload.isdigit() and len(payload) <= 15 and (doc := await store.document(int(payload))):
        return doc
    return await store.document(payload)


async def send_part(
    update: Update,
    doc_id: int,
    rendered: tuple[list[str], int | None],
    lang: Lang,
    url: str | None = None,
) -> None:
    """Send one rendered part of an article; its last message has the "more" and 🔗 buttons."""
    chat = update.effective_chat
    assert chat is not None
    messages, more = rendered
    for n, text in enumerate(messages, 1):
        rows = []
        if n == len(messages):
            if more is not None:
                button = InlineKeyboardButton(
                    t(lang, "more_article"),
                    callback_data=Callback(Action.ARTICLE, doc_id, more).encode(),
                )
                rows.append([button])
            if link := link_button(url, lang):
                rows.append([link])
        await chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet, or open the article named by a `doc_<id>` (or older `doc_<key>`) deep link."""
    lang = lang_for(update)
    payload = context.args[0] if context.args else ""
    if payload.startswith(DEEP_LINK_PREFIX):
        doc = await _linked(store_of(context), payload[len(DEEP_LINK_PREFIX) :])
        if doc is None:
            await reply(update, t(lang, "article_missing"), lang)
        else:
            await send_part(update, doc.id, article_part(doc, lang), lang, doc.url)
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
        await reply(update, t(lang, "fill_archive"), lang)
        return
    username = context.bot.username
    lines = [t(lang, "latest_header")]
    for doc in docs:
        outlet = f" — <i>{html.escape(doc.outlet)}</i>" if doc.outlet else ""
        link = html.escape(deep_link(username, doc.id), quote=True)
        lines.append(f'• <a href="{link}">{html.escape(doc.title)}</a>{outlet}')
    await reply(
        update, "\n".join(lines), lang, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )


async def article_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the article behind a "full article" button."""
    query = update.callback_query
    assert query is not None
    callback = decode(query.data)
    doc = await store_of(context).document(callback.a)
    if doc is None:
        raise BadCallback(query.data)
    lang = lang_for(update)
    rendered = article_part(doc, lang, callback.b)
    if not rendered[0]:  # past the end: not a button this bot made (or the article shrank)
        raise BadCallback(query.data)
    await query.answer()
    # The link goes with the article's first part only: a reader further on has had it.
    await send_part(update, doc.id, rendered, lang, doc.url if callback.b == 0 else None)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button this bot cannot (or can no longer) act on."""
    query = update.callback_query
    assert query is not None
    await query.answer(t(lang_for(update), "stale_button"), show_alert=True)
