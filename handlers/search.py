"""Any text is a search: result cards with article and paging buttons."""

from __future__ import annotations

import re

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from handlers.callbacks import Action, BadCallback, Callback, decode
from handlers.common import lang_for, reply, store_of, timed_search
from handlers.render import copies_message, finish, quote, result_cards
from handlers.texts import Lang, counted, joined, t
from search.analysis import tokens
from search.lexicon import load_lexicon
from search.query import only_stopwords
from search.results import SearchHit
from storage.store import Store

PAGE_SIZE = 3
MAX_PAGES = 30
MAX_QUERY_CHARS = 1000


def strip_mention(text: str, username: str | None) -> str:
    """Remove the bot's @mention from a group message."""
    if not username:
        return text
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


def _keyboard(
    hits: list[SearchHit], first: int, query_id: int, page: int, more: bool, lang: Lang
) -> InlineKeyboardMarkup:
    rows = []
    for n, hit in enumerate(hits, first):
        row = [
            InlineKeyboardButton(
                f"{t(lang, 'full_article')} ({n})",
                callback_data=Callback(Action.ARTICLE, hit.doc_id).encode(),
            )
        ]
        if hit.copies:
            copies = counted(lang, "copies", len(hit.copies))
            row.append(
                InlineKeyboardButton(
                    t(lang, "copies_button", copies=copies, n=n),
                    callback_data=Callback(Action.COPIES, query_id, n - 1).encode(),
                )
            )
        rows.append(row)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                t(lang, "previous"),
                callback_data=Callback(Action.PAGE, query_id, page - 1).encode(),
            )
        )
    if more and page + 1 < MAX_PAGES:
        nav.append(
            InlineKeyboardButton(
                t(lang, "next"), callback_data=Callback(Action.PAGE, query_id, page + 1).encode()
            )
        )
    if nav:
        rows.append(nav if lang is Lang.EN else nav[::-1])
    return InlineKeyboardMarkup(rows)


async def results_page(
    context: ContextTypes.DEFAULT_TYPE, query: str, page: int, lang: Lang
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Render one page of results for a query: the message text and its buttons."""
    store = store_of(context)
    hits = await timed_search(context, query, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    more, hits = len(hits) > PAGE_SIZE, hits[:PAGE_SIZE]
    if not hits:
        return await no_results(store, query, lang), None
    first = page * PAGE_SIZE + 1
    header = t(lang, "results_header", query=quote(query), first=first, last=first + len(hits) - 1)
    text = finish(f"{header}\n\n{result_cards(hits, first, lang)}", lang)
    query_id = await store.remember_query(query)
    return text, _keyboard(hits, first, query_id, page, more, lang)


async def no_results(store: Store, query: str, lang: Lang) -> str:
    """Say nothing was found and suggest close words or entities the archive knows."""
    lines = [t(lang, "no_results", query=quote(query))]
    # Question words are spelled right: "did you mean" is for the words that carry meaning.
    stopwords = load_lexicon().stopwords
    meaningful = " ".join(w for w in tokens(query) if w not in stopwords)
    if close := await store.suggestions(meaningful):
        words = joined(lang, [f"<b>{quote(w)}</b>" for w in close])
        lines.append(t(lang, "did_you_mean", words=words))
    elif names := await store.known_entities():
        lines.append(t(lang, "try_entities", names=joined(lang, [quote(n) for n in names])))
    return finish("\n".join(lines), lang)


async def search_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message (or a group mention) with the first page of results."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    query = strip_mention(message.text, context.bot.username)[:MAX_QUERY_CHARS]
    lang = lang_for(update, query)
    if not query.strip():
        await reply(update, t(lang, "empty_query"), lang)
        return
    if only_stopwords(query, load_lexicon()):
        await reply(update, t(lang, "stopwords_only", query=quote(query)), lang)
        return
    text, markup = await results_page(context, query, 0, lang)
    await message.reply_text(text, reply_markup=markup)


async def _recalled(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[CallbackQuery, Callback, str]:
    """Return the pressed button, its data and the stored query it names."""
    query_cb = update.callback_query
    assert query_cb is not None
    callback = decode(query_cb.data)
    query = await store_of(context).recall_query(callback.a)
    if query is None:
        raise BadCallback(query_cb.data)
    return query_cb, callback, query


async def page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show another page of results in the same message."""
    query_cb, callback, query = await _recalled(update, context)
    lang = lang_for(update, query)
    text, markup = await results_page(context, query, callback.b, lang)
    await query_cb.answer()
    await query_cb.edit_message_text(text, reply_markup=markup)


async def copies_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the near-copies folded into one result, each with its article button."""
    query_cb, callback, query = await _recalled(update, context)
    hits = await timed_search(context, query, limit=1, offset=callback.b)
    if not hits or not hits[0].copies:  # the archive changed since the results were shown
        raise BadCallback(query_cb.data)
    lang = lang_for(update, query)
    text, markup = copies_message(hits[0], lang)
    await query_cb.answer()
    await reply(update, text, lang, reply_markup=markup)
