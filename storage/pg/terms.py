"""Index terms for PostgreSQL: analysed tokens as tsvector and tsquery literals, verbatim."""

from __future__ import annotations

from collections.abc import Sequence

# Weights tell the two analysed columns apart inside one tsvector, as SQLite's two FTS5 columns.
# PostgreSQL keeps one weight per lexeme and position, so the columns take turns: token i's
# surface word sits at position 2i+1 and its stem at 2i+2, and a phrase's words are 2 apart.
WEIGHTS = {"surface": "A", "stem": "B"}
_FIRST = {"surface": 1, "stem": 2}
# PostgreSQL's limits: a lexeme of at most 2047 bytes, positions up to 16383 (larger ones clamp).
_MAX_LEXEME_BYTES = 2047
_MAX_POSITION = 16383


def quote(term: str) -> str:
    """Quote one term as a tsvector or tsquery lexeme, taken as it is."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def indexable(word: str) -> bool:
    """Tell whether a word can be a lexeme (passage_terms leaves longer ones out)."""
    return bool(word) and len(word.encode()) <= _MAX_LEXEME_BYTES


def passage_terms(surface: Sequence[str], stem: Sequence[str]) -> str:
    """Return the tsvector literal of a passage's surface tokens and their stems, by position."""
    positions: dict[tuple[str, str], list[str]] = {}
    for column, words in (("surface", surface), ("stem", stem)):
        weight, first = WEIGHTS[column], _FIRST[column]
        for i, word in enumerate(words):
            # A token too long to be a lexeme is no word anyone searches for: it is left out.
            if indexable(word):
                at = min(2 * i + first, _MAX_POSITION)
                positions.setdefault((word, weight), []).append(f"{at}{weight}")
    lexemes: dict[str, list[str]] = {}
    for (word, _), marks in positions.items():
        lexemes.setdefault(word, []).extend(marks)
    return " ".join(f"{quote(word)}:{','.join(marks)}" for word, marks in lexemes.items())


def term_query(term: str, column: str) -> str:
    """Return the tsquery literal matching passages holding TERM in COLUMN (surface or stem)."""
    return f"{quote(term)}:{WEIGHTS[column]}"


def phrase_query(terms: Sequence[str], column: str) -> str:
    """Return the tsquery literal matching TERMS next to each other, in order, in COLUMN."""
    return " <2> ".join(term_query(t, column) for t in terms)
