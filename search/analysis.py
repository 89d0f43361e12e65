"""Arabic text analysis shared by documents and queries: normalisation, tokens, stems."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

# Invisible format characters that break words apart or glue them without showing.
INVISIBLE = "\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
# Arabic marks (harakat, Quranic annotation, superscript alef) and tatweel.
_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
_DELETE_RE = re.compile(f"[{INVISIBLE}{_MARKS}]")
# Decimal digits other than ASCII (Arabic-Indic, Persian...): ASCII ones need no change.
_DIGIT_RE = re.compile(r"[^\D0-9]")
# Letters folded to one form. A chain of str.replace is many times faster than str.translate
# with a table that maps non-ASCII characters.
_FOLD = (
    ("أ", "ا"),
    ("إ", "ا"),
    ("آ", "ا"),
    ("ٱ", "ا"),
    ("ى", "ي"),
    ("ی", "ي"),
    ("ة", "ه"),
    ("ۀ", "ه"),  # heh with yeh above (Persian ezafe)
    ("ہ", "ه"),  # heh goal (Urdu, and Persian keyboards)
    ("ک", "ك"),
    ("پ", "ب"),  # Persian pe, as Arabic writes p (الپاراسیتامول / الباراسيتامول)
    ("ڤ", "ف"),  # ve, as Arabic writes v (ڤيتامين / فيتامين)
    ("ؤ", "و"),
    ("ئ", "ي"),
)
_TOKEN_RE = re.compile(r"[^\W_]+")
# Characters that may sit inside a word of the original text without splitting it.
WORD_RE = re.compile(f"(?:[^\\W_]|[{INVISIBLE}{_MARKS}])+")
_ARABIC_RE = re.compile(r"[\u0600-\u06ff]")
_LATIN_RE = re.compile(r"[a-z]")

# Spellings that are one word to a reader: المائة / المئة (both fold to ...ميه).
_SPELLINGS = ((re.compile(r"^((?:و|ف)?(?:ب|ك|ل)?(?:ال)?)مايه$"), r"\1ميه"),)


def _ascii_digit(match: re.Match[str]) -> str:
    return str(unicodedata.decimal(match.group(), 0))


def normalise(text: str) -> str:
    """Return text folded to the form the index stores: NFKC, no marks, folded letters."""
    text = unicodedata.normalize("NFKC", text)
    text = _DELETE_RE.sub("", text)
    for letter, folded in _FOLD:
        if letter in text:
            text = text.replace(letter, folded)
    text = _DIGIT_RE.sub(_ascii_digit, text)
    return text.lower()


def _spell(token: str) -> str:
    if "ماي" not in token:  # the common case, without a regex per token
        return token
    for pattern, canonical in _SPELLINGS:
        token = pattern.sub(canonical, token)
    return token


def tokens(text: str) -> list[str]:
    """Split text into normalised word tokens."""
    text = normalise(text)
    found: list[str] = _TOKEN_RE.findall(text)
    return [_spell(t) for t in found] if "ماي" in text else found


@lru_cache(maxsize=200_000)
def _word_tokens(word: str) -> tuple[str, ...]:
    # News vocabulary is Zipfian: most words repeat, so analysing each distinct one once pays.
    return tuple(tokens(word))


@lru_cache(maxsize=200_000)
def word_keys(word: str) -> frozenset[str]:
    """Return the tokens of a word and their stems: what a query term may match."""
    toks = _word_tokens(word)
    return frozenset(toks).union(map(light_stem, toks))


def word_spans(text: str) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """Yield (start, end, tokens) for each word of the original text."""
    for match in WORD_RE.finditer(text):
        toks = _word_tokens(match.group())
        if toks:
            yield match.start(), match.end(), toks


_SENTENCE_END_RE = re.compile(r"[.!?؟]")


def capitalised(text: str, unnamed: frozenset[str] = frozenset()) -> frozenset[int]:
    """Return the token positions of Latin words written with a capital inside a sentence.

    In English text those are names (people, organisations, places); a sentence's first
    word is capitalised whatever it is, and so are the words in unnamed (Monday, May).
    """
    found: set[int] = set()
    position = end = 0
    for match in WORD_RE.finditer(text):
        toks = _word_tokens(match.group())
        first = match.group()[0]
        opens = end == 0 or bool(_SENTENCE_END_RE.search(text, end, match.start()))
        if first.isascii() and first.isupper() and not opens and toks[0] not in unnamed:
            found.update(range(position, position + len(toks)))
        position += len(toks)
        end = match.end()
    return frozenset(found)


def is_arabic(token: str) -> bool:
    """Tell whether a token holds Arabic letters."""
    return bool(_ARABIC_RE.search(token))


def is_latin(token: str) -> bool:
    """Tell whether a normalised token holds Latin letters."""
    return bool(_LATIN_RE.search(token))


# Lucene ArabicStemmer / Larkey light10, applied to normalised text (ة is already ه).
_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


@lru_cache(maxsize=200_000)
def light_stem(token: str) -> str:
    """Strip one light10 prefix and the light10 suffixes from a normalised Arabic token."""
    if not is_arabic(token):
        return token
    for prefix in _PREFIXES:
        if len(prefix) == 1 and len(token) < 4:
            continue
        if len(token) >= len(prefix) + 2 and token.startswith(prefix):
            token = token[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if len(token) >= len(suffix) + 2 and token.endswith(suffix):
            token = token[: -len(suffix)]
    return token
