"""Inline mode: `@bot query` in any chat; an empty query lists the latest articles."""

from __future__ import annotations

import html
import re

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.ext import ContextTypes

from handlers.articles import deep_link
from handlers.common import lang_for, store_of, timed_search
from handlers.render import also_in, date_label, finish, link_url, utf16_len
from handlers.texts import Lang, t

RESULTS_PER_PAGE = 20
MAX_OFFSET = 1000
MESSAGE_BUDGET = 3800
_TAG_RE = re.compile(r"</?b>")


def _offset(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) <= MAX_OFFSET else 0


def _shorten(text: str, limit: int) -> str:
    if len(text) > limit:  # escaping never shortens: the rest could not fit anyway
        text = text[:limit].rsplit(" ", 1)[0] + "…"
    while utf16_len(html.escape(text)) > limit:
        text = text[: int(len(text) * 0.9)].rsplit(" ", 1)[0] + "…"
    return text


def _article(
    result_id: str,
    title: str,
    description: str,
    body: str,
    link: str,
    lang: Lang,
    published: str | None = None,
    url: str | None = None,
) -> InlineQueryResultArticle:
    """Return one inline result: title, date, the body (escaped HTML), links to the article."""
    head = [f"<b>{html.escape(title)}</b>"]
    if date := date_label(published, lang):
        head.append(date)
    links = [(link, t(lang, "open_in_bot"))]
    if original := link_url(url):
        links.append((original, t(lang, "original_link")))
    anchors = [f'<a href="{html.escape(href, quote=True)}">{label}</a>' for href, label in links]
    text = "\n".join(head) + f"\n\n{body}" + " · ".join(anchors)
    return InlineQueryResultArticle(
        id=result_id,
        title=title[:200],
        description=description[:300],
        input_message_content=InputTextMessageContent(
            finish(text, lang), link_preview_options=LinkPreviewOptions(is_disabled=True)
        ),
    )


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
        for hit in await timed_search(context, text, RESULTS_PER_PAGE, offset):
            passage = html.escape(_shorten(hit.passage, MESSAGE_BUDGET))
            if line := also_in(hit, lang):
                passage += f"\n{line}"
            results.append(
                _article(
                    f"{hit.doc_id}.{hit.ordinal}",
                    hit.title,
                    html.unescape(_TAG_RE.sub("", hit.snippet)),
                    f"{passage}\n",
                    deep_link(username, hit.doc_id),
                    lang,
                    hit.published,
                    hit.url,
                )
            )
    else:
        for doc in await store.latest(RESULTS_PER_PAGE, offset):
            results.append(
                _article(
                    f"d{doc.id}",
                    doc.title,
                    doc.outlet or "",
                    "",
                    deep_link(username, doc.id),
                    lang,
                    doc.published,
                    doc.url,
                )
            )
    more = len(results) == RESULTS_PER_PAGE and offset + RESULTS_PER_PAGE <= MAX_OFFSET
    await query.answer(
        results,
        cache_time=30,
        is_personal=False,
        next_offset=str(offset + RESULTS_PER_PAGE) if more else "",
    )
