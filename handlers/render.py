"""Pure rendering: HTML cards, right-to-left lines and messages split under Telegram's limit."""

from __future__ import annotations

import html
import re
import unicodedata

from handlers.texts import Lang, t
from storage.models import Document, SearchHit

MESSAGE_LIMIT = 4096
_SENTENCE_RE = re.compile(r"(?<=[.!؟?…])\s+")
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
    """Apply the interface direction to a message."""
    return rtl(text) if lang is Lang.AR else text


def result_cards(hits: list[SearchHit], first: int, lang: Lang) -> str:
    """Render numbered result cards: title, outlet and the marked snippet."""
    cards = []
    for n, hit in enumerate(hits, first):
        lines = [f"<b>{n}. {html.escape(hit.title)}</b>"]
        if hit.outlet:
            lines.append(f"<i>{html.escape(hit.outlet)}</i>")
        lines.append(hit.snippet)
        cards.append("\n".join(lines))
    return "\n\n".join(cards)


def _pieces(paragraph: str, limit: int) -> list[str]:
    """Split one paragraph's raw text into pieces whose escaped HTML fits in limit."""
    if utf16_len(html.escape(paragraph)) <= limit:
        return [paragraph]
    units = _SENTENCE_RE.split(paragraph)
    if len(units) == 1:
        units = paragraph.split(" ")
    if len(units) == 1:  # one enormous word: cut it by characters
        step = max(1, limit // 6)
        return [paragraph[i : i + step] for i in range(0, len(paragraph), step)]
    out: list[str] = []
    for unit in units:
        for piece in _pieces(unit, limit):
            if out and utf16_len(html.escape(f"{out[-1]} {piece}")) <= limit:
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    return out


def pack(header: str, paragraphs: list[str], lang: Lang, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack an HTML header and raw paragraphs into messages of at most limit units.

    Splits fall between paragraphs, else between sentences, else between words; each piece is
    escaped on its own, so no split lands inside a tag or an entity.
    """
    messages: list[str] = []
    current = finish(header, lang)
    for paragraph in paragraphs:
        for piece in _pieces(paragraph, limit - 4):  # room for "\n\n" and an RLM
            block = finish(html.escape(piece), lang)
            candidate = f"{current}\n\n{block}" if current else block
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = block
    if current:
        messages.append(current)
    return messages


def article_messages(doc: Document, lang: Lang) -> list[str]:
    """Render a whole article as one or more messages."""
    header = f"<b>{html.escape(doc.title)}</b>"
    if doc.outlet:
        header += "\n" + t(lang, "by_outlet", outlet=f"<i>{html.escape(doc.outlet)}</i>")
    return pack(header, doc.body.split("\n\n"), lang)
