"""Mark matched words in a passage and cut a readable window around them."""

from __future__ import annotations

import html
from collections.abc import Callable, Set
from functools import lru_cache

from search.analysis import WORD_RE, word_keys
from search.lexicon import load_lexicon

Span = tuple[int, int]
# Words marked in a passage are looked for in its first characters only: a passage that is one
# unbroken multi-megabyte sentence is not split into words for every result or alert showing it.
MARK_SCAN = 20_000


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[tuple[Span, frozenset[str]], ...]:
    # One passage is marked for many people (alerts, popular searches): its words are split once.
    return tuple((m.span(), word_keys(m.group())) for m in WORD_RE.finditer(text))


def matched_spans(text: str, terms: Set[str]) -> list[Span]:
    """Return the spans of words in text whose tokens or stems are among terms (not stopwords)."""
    # A name such as الدولة الاسلامية في العراق brings في along: bold on every في is noise.
    wanted = set(terms) - load_lexicon().stopwords
    # Cut before the cache: its keys stay small too.
    return [span for span, keys in _words(text[:MARK_SCAN]) if not keys.isdisjoint(wanted)]


def window(text: str, spans: list[Span], width: int) -> tuple[int, int]:
    """Choose a span of about width characters that starts near the first match."""
    if len(text) <= width:
        return 0, len(text)
    first = spans[0][0] if spans else 0
    start = max(0, first - width // 4)
    # Start on a word boundary so the snippet never opens mid-word.
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def mark(
    text: str,
    spans: list[Span],
    *,
    width: int | None = None,
    tags: tuple[str, str] = ("<b>", "</b>"),
    escape: Callable[[str], str] = html.escape,
) -> str:
    """Return text (or a window of it) escaped, with each span wrapped in tags."""
    start, end = window(text, spans, width) if width else (0, len(text))
    out: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append(tags[0] + escape(text[s:e]) + tags[1])
        pos = e
    out.append(escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
