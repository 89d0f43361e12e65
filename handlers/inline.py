"""Inline mode: `@bot query` in any chat; an empty query lists the latest articles."""

from __future__ import annotations

import html
import re

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.ext import ContextTypes

from handlers.articles import deep_link
from handlers.common import lang_for, store_of
from handlers.render import finish, utf16_len
from handlers.texts import t

RESULTS_PER_PAGE = 20
MAX_OFFSET = 1000
MESSAGE_BUDGET = 3800
_TAG_RE = re.compile(r"</?b>")


def _offset(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) <= MAX_OFFSET else 0


def _shorten(text: str, limit: int) -> str:
    while utf16_len(html.escape(text)) > limit:
        text = text[: int(len(text) * 0.9)].rsplit(" ", 1)[0] + "…"
    return text


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an inline query with up to 20 passages (or the latest articles), paged."""
    query = update.inline_query
    assert query is not None
    store = store_of(context)
    text = query.query.strip()
    lang = lang_for(update, text)
    offset = _offset(query.offset)
    username = context.bot.username
    results = []
    if text:
        hits = await store.search(text, limit=RESULTS_PER_PAGE, offset=offset)
        for hit in hits:
            link = deep_link(username, hit.doc)
            passage = html.escape(_shorten(hit.passage, MESSAGE_BUDGET))
            body = (
                f"<b>{html.escape(hit.title)}</b>\n\n{passage}"
                f'\n\n<a href="{html.escape(link, quote=True)}">{t(lang, "open_in_bot")}</a>'
            )
            results.append(
                InlineQueryResultArticle(
                    id=f"{hit.doc_id}.{hit.ordinal}",
                    title=hit.title[:200],
                    description=html.unescape(_TAG_RE.sub("", hit.snippet))[:300],
                    input_message_content=InputTextMessageContent(
                        finish(body, lang),
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    ),
                )
            )
    else:
        for doc in await store.latest(RESULTS_PER_PAGE, offset):
            link = deep_link(username, doc.key)
            body = (
                f"<b>{html.escape(doc.title)}</b>\n"
                f'<a href="{html.escape(link, quote=True)}">{t(lang, "open_in_bot")}</a>'
            )
            results.append(
                InlineQueryResultArticle(
                    id=f"d{doc.id}",
                    title=doc.title[:200],
                    description=doc.outlet or "",
                    input_message_content=InputTextMessageContent(finish(body, lang)),
                )
            )
    more = len(results) == RESULTS_PER_PAGE and offset + RESULTS_PER_PAGE <= MAX_OFFSET
    await query.answer(
        results,
        cache_time=30,
        is_personal=False,
        next_offset=str(offset + RESULTS_PER_PAGE) if more else "",
    )
