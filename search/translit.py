"""Consonant keys that let a Latin spelling and an Arabic word meet, and Arabic skeletons."""

from __future__ import annotations

import re

# s/z and the Arabic letters behind them share a class: Reuters is written رويترز.
# Latin digraphs first, then single letters, to a coarse consonant class.
_LATIN_DIGRAPHS = (
    ("sh", "C"),
    ("ch", "C"),
    ("kh", "H"),
    ("gh", "G"),
    ("th", "T"),
    ("dh", "D"),
    ("ph", "F"),
    ("ck", "K"),
    ("ou", ""),
    ("oo", ""),
    ("ee", ""),
)
_LATIN = {
    "b": "B",
    "p": "B",
    "t": "T",
    "d": "D",
    "r": "R",
    "z": "S",
    "s": "S",
    "f": "F",
    "v": "F",
    "q": "K",
    "k": "K",
    "c": "K",
    "g": "G",
    "j": "G",
    "l": "L",
    "m": "M",
    "n": "N",
    "h": "H",
    "x": "KS",
}
_ARABIC = {
    "ب": "B",
    "ت": "T",
    "ث": "T",
    "ط": "T",
    "ج": "G",
    "غ": "G",
    "ح": "H",
    "خ": "H",
    "ه": "H",
    "د": "D",
    "ذ": "D",
    "ض": "D",
    "ر": "R",
    "ز": "S",
    "ظ": "S",
    "س": "S",
    "ص": "S",
    "ش": "C",
    "ف": "F",
    "ق": "K",
    "ك": "K",
    "ل": "L",
    "م": "M",
    "ن": "N",
    "پ": "B",
    "چ": "C",
    "گ": "G",
    "ڤ": "F",
}
_LATIN_ARTICLE_RE = re.compile(r"^(?:al|el|an|ar|as|ash|at|ad|az|ath|ad)-")
_ARABIC_ARTICLE_RE = re.compile(r"^(?:و|ف)?(?:ب|ل|ك)?(?:ال|لل)(?=..)")
_INTERNAL_VOWELS = str.maketrans("", "", "اوي")


def _collapse(key: str) -> str:
    return re.sub(r"(.)\1+", r"\1", key)


def latin_key(word: str) -> str:
    """Return the consonant class key of a lowercase Latin word (articles and vowels dropped)."""
    word = _LATIN_ARTICLE_RE.sub("", word.lower()).replace("-", "").replace("'", "")
    if word.endswith("h") and len(word) > 3 and word[-2] in "aeiou":
        word = word[:-1]
    for digraph, cls in _LATIN_DIGRAPHS:
        word = word.replace(digraph, cls if cls else "a")
    return _collapse("".join(_LATIN.get(c, c if c.isupper() else "") for c in word))


def _arabic_key(token: str) -> str:
    if token.endswith("ه") and len(token) > 2:
        token = token[:-1]  # ta marbuta, folded to ه
    return _collapse("".join(_ARABIC.get(c, "") for c in token))


def arabic_keys(token: str) -> set[str]:
    """Return the consonant class keys of a normalised Arabic token, with and without article."""
    keys = {_arabic_key(token)}
    bare = _ARABIC_ARTICLE_RE.sub("", token)
    if bare != token:
        keys.add(_arabic_key(bare))
    return keys


def skeleton(token: str) -> str:
    """Return an Arabic token with its internal ا و ي dropped (first and last letters kept)."""
    if len(token) <= 3:
        return token
    return token[0] + token[1:-1].translate(_INTERNAL_VOWELS) + token[-1]
