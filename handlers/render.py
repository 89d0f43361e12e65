"""Pure rendering: HTML cards, right-to-left lines and messages split under Telegram's limit."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from urllib.parse import urlsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callbacks import Action, Callback
from handlers.texts import Lang, counted, joined, t
from search.analysis import light_stem, tokens
from search.results import SearchHit
from search.snippets import mark, matched_spans
from storage.models import Chat, Document
from storage.pushes import AlertMatch, DigestItem, Rendered

MESSAGE_LIMIT = 4096
_SENTENCE_RE = re.compile(r"(?<=[.!؟?…])\s+")
_SPACE_RE = re.compile(" ")
_TAG_RE = re.compile(r"<[^>]*>")
RLM = "\u200f"
FSI, PDI = "\u2068", "\u2069"


def utf16_len(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _first_strong(text: str) -> str | None:
    for ch in html.unescape(_TAG_RE.sub("", text)):
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("L", "R", "AL"):
            return bidi
    return None


def rtl(text: str) -> str:
    """Make every line of Arabic-interface text read right to left, whatever it starts with."""
    return "\n".join(
        line if not line or _first_strong(line) in ("R", "AL") else RLM + line
        for line in text.split("\n")
    )


def isolate(text: str) -> str:
    """Wrap text so its own direction cannot reorder the line around it."""
    return f"{FSI}{text}{PDI}"


def quote(text: str, limit: int = 60) -> str:
    """Return user text shortened, HTML-escaped and direction-isolated for embedding."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return isolate(html.escape(text))


def finish(text: str, lang: Lang) -> str:
    """Apply the interface direction to a message; lone surrogates become U+FFFD."""
    # An update's JSON may escape half a surrogate pair; echoed back, Telegram refuses the text.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return rtl(text) if lang is Lang.AR else text


_MONTHS_AR = (
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)


def date_label(published: str | None, lang: Lang) -> str | None:
    """Return a publication time (ISO 8601) as a short date in the language, or None."""
    if not published:
        return None
    try:
        when = datetime.fromisoformat(published)
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    if lang is Lang.AR:
        return f"{when.day} {_MONTHS_AR[when.month - 1]} {when.year}"
    return when.strftime("%Y-%m-%d")


def byline(
    outlet: str | None, published: str | None, lang: Lang, agency: str | None = None
) -> str | None:
    """Return the italic outlet, the agency it took the story from and the date, if known."""
    parts = [f"<i>{html.escape(outlet)}</i>"] if outlet else []
    if agency:
        parts.append(t(lang, "via_agency", agency=html.escape(agency)))
    if date := date_label(published, lang):
        parts.append(date)
    return " · ".join(parts) or None


# Telegram refuses a message whose button holds a URL it cannot parse: only plain http(s) links.
MAX_URL = 2048


def link_url(url: str | None) -> str | None:
    """Return url if it can be a link button (absolute http or https), else None."""
    if not url or len(url) > MAX_URL:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def link_button(url: str | None, lang: Lang) -> InlineKeyboardButton | None:
    """Return the 🔗 button to an article's original, when it has a usable URL."""
    target = link_url(url)
    return InlineKeyboardButton(t(lang, "original_link"), url=target) if target else None


MAX_OUTLETS = 3  # named on a card; the count says how many copies there are in all


def also_in(hit: SearchHit, lang: Lang) -> str | None:
    """Return the line naming the other outlets of a result's folded near-copies, if any."""
    if not hit.copies:
        return None
    copies = counted(lang, "copies", len(hit.copies))
    outlets = list(dict.fromkeys(c.outlet for c in hit.copies if c.outlet))
    if not outlets:
        return t(lang, "also_elsewhere", copies=copies)
    names = [f"<i>{html.escape(o)}</i>" for o in outlets[:MAX_OUTLETS]]
    if len(outlets) > MAX_OUTLETS:
        names.append("…")
    return t(lang, "also_in", outlets=joined(lang, names), copies=copies)


def result_cards(hits: list[SearchHit], first: int, lang: Lang) -> str:
    """Render numbered result cards: title, outlet and date, the marked snippet, its copies."""
    cards = []
    for n, hit in enumerate(hits, first):
        lines = [f"<b>{n}. {html.escape(hit.title)}</b>"]
        if line := byline(hit.outlet, hit.published, lang, hit.agency):
            lines.append(line)
        lines.append(hit.snippet)
        if line := also_in(hit, lang):
            lines.append(line)
        cards.append("\n".join(lines))
    return "\n\n".join(cards)


# A piece of text and the offset in the article body just past it.
Piece = tuple[str, int]


def _split(text: str, separator: re.Pattern[str]) -> Iterator[tuple[str, int]]:
    """Yield (part, its offset) for the parts of text between separators, found as needed."""
    start = 0
    for match in separator.finditer(text):
        yield text[start : match.start()], start
        start = match.end()
    yield text[start:], start


def _pieces(paragraph: str, limit: int, base: int) -> Iterator[Piece]:
    """Yield one paragraph's raw text in pieces whose escaped HTML fits in limit."""
    # Escaping never shortens text: a paragraph longer than limit is not measured whole.
    if len(paragraph) <= limit and utf16_len(html.escape(paragraph)) <= limit:
        yield paragraph, base + len(paragraph)
        return
    # A separator is looked for where the first piece must end, not through megabytes.
    separator = next((s for s in (_SENTENCE_RE, _SPACE_RE) if s.search(paragraph, 0, limit)), None)
    if separator is None:  # one enormous word: cut it by characters
        step = max(1, limit // 6)
        for i in range(0, len(paragraph), step):
            yield paragraph[i : i + step], base + min(i + step, len(paragraph))
        return
    current, size, end = "", 0, base  # size: current's escaped length, grown a piece at a time
    for unit, offset in _split(paragraph, separator):
        for piece, piece_end in _pieces(unit, limit, base + offset):
            piece_size = utf16_len(html.escape(piece))
            if current and size + 1 + piece_size <= limit:
                current, size, end = f"{current} {piece}", size + 1 + piece_size, piece_end
            else:
                if current:
                    yield current, end
                current, size, end = piece, piece_size, piece_end
    if current:
        yield current, end


def _paragraphs(body: str, start: int) -> Iterator[tuple[str, int]]:
    """Yield (paragraph, its offset) from start on."""
    while (end := body.find("\n\n", start)) >= 0:
        yield body[start:end], start
        start = end + 2
    yield body[start:], start


def packed(
    header: str, body: str, start: int, lang: Lang, limit: int = MESSAGE_LIMIT
) -> Iterator[Piece]:
    """Yield (message, body offset past it): an HTML header, then body from start, packed.

    Messages hold at most limit units. Splits fall between paragraphs, else between sentences,
    else between words; each piece is escaped on its own, so no split lands inside a tag or an
    entity. Messages are made as they are taken: a few of a huge article cost only those.
    """
    current = finish(header, lang) if header else ""
    size, end = utf16_len(current), start
    for paragraph, offset in _paragraphs(body, start):
        for piece, piece_end in _pieces(paragraph, limit - 4, offset):  # room: "\n\n", an RLM
            block = finish(html.escape(piece), lang)
            block_size = utf16_len(block)
            if current and size + 2 + block_size <= limit:
                current, size, end = f"{current}\n\n{block}", size + 2 + block_size, piece_end
            else:
                if current:
                    yield current, end
                current, size, end = block, block_size, piece_end
    if current:
        yield current, end


ARTICLE_PART = 3  # messages sent per tap; a button continues with the next ones


def article_part(doc: Document, lang: Lang, start: int = 0) -> tuple[list[str], int | None]:
    """Render a few messages of an article from body offset start; return where more begins.

    The next part starts at an offset, not a part number, so a tap deep into a huge article
    renders only its own messages.
    """
    header = ""
    if start == 0:
        header = f"<b>{html.escape(doc.title)}</b>"
        if doc.outlet:
            header += "\n" + t(lang, "by_outlet", outlet=f"<i>{html.escape(doc.outlet)}</i>")
        if doc.agency:
            header += "\n" + t(lang, "via_agency", agency=html.escape(doc.agency))
        if date := date_label(doc.published, lang):
            header += "\n" + t(lang, "published_on", date=date)
        if doc.excerpt:
            header += "\n" + t(lang, "excerpt_only")
    while start < len(doc.body) and doc.body[start].isspace():
        start += 1  # a part ends before the space or blank line that separates it from the next
    if start >= len(doc.body) and not header:
        return [], None
    # One message past the part tells whether there is more.
    taken = list(islice(packed(header, doc.body, start, lang), ARTICLE_PART + 1))
    more = len(taken) > ARTICLE_PART
    return [text for text, _ in taken[:ARTICLE_PART]], taken[ARTICLE_PART - 1][1] if more else None


DIGEST_ITEMS = 10
PUSH_SNIPPET = 280


MAX_COPIES = 10  # listed by the copies button


def copies_message(hit: SearchHit, lang: Lang) -> tuple[str, InlineKeyboardMarkup]:
    """Render the near-copies folded into a result, with a button to each article."""
    lines = [t(lang, "copies_header", title=f"<b>{html.escape(hit.title)}</b>")]
    buttons = []
    for n, copy in enumerate(hit.copies[:MAX_COPIES], 1):
        outlet = f" — <i>{html.escape(copy.outlet)}</i>" if copy.outlet else ""
        lines.append(f"{n}. {html.escape(copy.title)}{outlet}")
        buttons.append(_article_button(copy.doc_id, f"📄 {n}"))
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    return finish("\n".join(lines), lang), InlineKeyboardMarkup(rows)


def _article_button(doc_id: int, label: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=Callback(Action.ARTICLE, doc_id).encode())


@lru_cache(maxsize=1024)
def _article_markup(doc_id: int, lang: Lang, url: str | None) -> str:
    # Every chat alerted about a document gets the same buttons.
    rows = [[_article_button(doc_id, t(lang, "full_article"))]]
    if link := link_button(url, lang):
        rows.append([link])
    return InlineKeyboardMarkup(rows).to_json()


def _marked(passage: str, queries: tuple[str, ...], width: int) -> str:
    terms = {w for q in queries for tok in tokens(q) for w in (tok, light_stem(tok))}
    return mark(passage, matched_spans(passage, terms), width=width)


def alert_message(match: AlertMatch) -> Rendered:
    """Render one alert: the document, the chat's matching topics, the best passage."""
    lang = Lang(match.language)
    topics = joined(
        lang, [f"«{quote(q)}»" if lang is Lang.AR else f"“{quote(q)}”" for q in match.queries]
    )
    lines = [t(lang, "alert_header"), f"<b>{html.escape(match.title)}</b>"]
    if line := byline(match.outlet, match.published, lang):
        lines.append(line)
    lines += [
        t(lang, "alert_topics", topics=topics),
        "",
        _marked(match.passage, match.queries, PUSH_SNIPPET),
    ]
    return finish("\n".join(lines), lang), _article_markup(match.doc_id, lang, match.url)


DIGEST_OUTLETS = 5  # named under a digest item; a count stands for the rest


def reported_also(item: DigestItem, lang: Lang) -> str | None:
    """Return the line naming the other outlets of a digest item's near-copies, if any."""
    names = [isolate(f"<i>{html.escape(o)}</i>") for o in item.also[:DIGEST_OUTLETS]]
    rest = len(item.also) - len(names) + item.also_unnamed
    more = isolate(f"+{rest}") if rest else ""
    if not names:
        return t(lang, "digest_also_elsewhere", more=more) if rest else None
    return t(lang, "digest_also", outlets=" ".join([joined(lang, names), more]).strip())


def digest_message(
    chat: Chat, items: list[DigestItem], queries: tuple[str, ...]
) -> Rendered | None:
    """Render a digest of new articles, or None when there is nothing new."""
    if not items:
        return None
    lang = Lang(chat.language)
    items = items[:DIGEST_ITEMS]
    header = (
        t(lang, "digest_header", articles=counted(lang, "new_articles", len(items)))
        if queries
        else t(lang, "digest_latest")
    )
    blocks, buttons = [header], []
    for n, item in enumerate(items, 1):
        line = byline(item.outlet, item.published, lang)
        outlet = f" — {line}" if line else ""
        head = f"<b>{n}. {html.escape(item.title)}</b>{outlet}"
        lines = [head, _marked(item.passage, queries, 200)]
        if also := reported_also(item, lang):
            lines.append(also)
        blocks.append("\n".join(lines))
        buttons.append(_article_button(item.doc_id, f"📄 {n}"))
    text = finish("\n\n".join(blocks), lang)
    while utf16_len(text) > MESSAGE_LIMIT and len(blocks) > 2:
        blocks.pop()
        buttons.pop()
        text = finish("\n\n".join(blocks), lang)
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    return text, InlineKeyboardMarkup(rows).to_json()
