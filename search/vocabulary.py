"""What the index holds: term frequencies, and lookups for variants and transliterations."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from search.analysis import is_arabic
from search.plan import Column, Phrase
from search.translit import arabic_keys, skeleton

EDIT_MIN_LEN = 5
# Fuzzy work grows with the square of a word's length: longer words are taken as typed.
MAX_FUZZY_LEN = 30
# Index hits checked for "did you mean" per word; each costs an edit distance.
MAX_LOOSER_CANDIDATES = 200


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def looser_keys(term: str) -> set[str]:
    """Return term with up to two letters deleted; nothing for a word too long to be a typo."""
    if len(term) > MAX_FUZZY_LEN:
        return set()
    once = _deletes(term)
    return {term} | once | {d2 for d1 in once for d2 in _deletes(d1)}


def within_one_edit(a: str, b: str) -> bool:
    """Tell whether a and b differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def edit_distance(a: str, b: str) -> int:
    """Return the Levenshtein distance between a and b."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


@dataclass
class Vocabulary:
    """Document frequencies per column, with indexes built on first use."""

    passages: int = 0
    avg_len: float = 1.0
    df: dict[Column, dict[str, int]] = field(
        default_factory=lambda: {Column.SURFACE: {}, Column.STEM: {}}
    )

    def idf(self, column: Column, phrase: Phrase) -> float:
        """Return the bm25 idf of a phrase."""
        table = self.df[column]
        idfs = sorted(
            (
                math.log(1 + (self.passages - df + 0.5) / (df + 0.5))
                for df in (table.get(t, 0) for t in phrase)
            ),
            reverse=True,
        )
        # A longer name is more specific than its rarest word alone, but not additively so.
        return idfs[0] + 0.25 * sum(idfs[1:])

    def has(self, term: str) -> bool:
        """Tell whether a surface term is indexed."""
        return term in self.df[Column.SURFACE]

    def postings(self, column: Column, phrase: Phrase) -> int:
        """Return an upper bound on the passages holding a phrase: its rarest token's count."""
        table = self.df[column]
        return min(table.get(t, 0) for t in phrase)

    def surface(self, term: str) -> int:
        """Return the number of passages holding a surface term."""
        return self.df[Column.SURFACE].get(term, 0)

    def prepare(self) -> None:
        """Build the lookup indexes now rather than on the first query that needs them."""
        _ = (self._skeletons, self._deletion_index, self._keys)

    @cached_property
    def _skeletons(self) -> dict[Column, dict[str, list[str]]]:
        out: dict[Column, dict[str, list[str]]] = {}
        for column, table in self.df.items():
            index: dict[str, list[str]] = defaultdict(list)
            for term in table:
                if is_arabic(term) and len(term) > 3:
                    index[skeleton(term)].append(term)
            out[column] = index
        return out

    @cached_property
    def _deletion_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for term in self.df[Column.SURFACE]:
            # No longer term is within two edits of a word that fuzzy lookups consider.
            if EDIT_MIN_LEN - 1 <= len(term) <= MAX_FUZZY_LEN + 2 and is_arabic(term):
                for d in _deletes(term):
                    index[d].append(term)
        return index

    @cached_property
    def _keys(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for term in self.df[Column.SURFACE]:
            if is_arabic(term):
                for key in arabic_keys(term):
                    if len(key) >= 2:
                        index[key].append(term)
        return index

    def same_skeleton(self, column: Column, term: str) -> set[str]:
        """Return indexed terms of a column that share term's skeleton (internal ا و ي dropped)."""
        if len(term) <= 3:
            return set()
        return set(self._skeletons[column].get(skeleton(term), ())) - {term}

    def neighbours(self, term: str) -> set[str]:
        """Return surface terms one edit away (5+ letters) or with the same skeleton."""
        if len(term) > MAX_FUZZY_LEN:
            return set()
        found = self.same_skeleton(Column.SURFACE, term)
        if len(term) >= EDIT_MIN_LEN:
            index = self._deletion_index
            candidates = set(index.get(term, ()))
            for d in _deletes(term):
                candidates.update(index.get(d, ()))
                if self.has(d):
                    candidates.add(d)
            found.update(c for c in candidates if within_one_edit(term, c))
        found.discard(term)
        return found

    def looser(self, term: str) -> set[str]:
        """Return surface terms at most two edits from term, for "did you mean"."""
        index = self._deletion_index
        found: dict[str, None] = {}
        # Keys with fewer letters deleted come first: the closest words fill the budget.
        for key in sorted(looser_keys(term), key=lambda k: (-len(k), k)):
            if self.has(key):
                found[key] = None
            found.update(dict.fromkeys(index.get(key, [])[:MAX_LOOSER_CANDIDATES]))
            if len(found) > MAX_LOOSER_CANDIDATES:
                break
        found.pop(term, None)
        close = list(found)[:MAX_LOOSER_CANDIDATES]
        return {t for t in close if edit_distance(term, t) <= 2}

    def by_key(self, key: str) -> list[str]:
        """Return Arabic terms whose consonant class key is key."""
        return list(self._keys.get(key, ()))


@dataclass
class TermCounts:
    """Changes to the per-term passage counts (and totals) made by one write."""

    df: dict[Column, Counter[str]] = field(
        default_factory=lambda: {Column.SURFACE: Counter(), Column.STEM: Counter()}
    )
    passages: int = 0
    tokens: int = 0

    def add(self, passages: Iterable[tuple[str, str]], sign: int = 1) -> None:
        """Count analysed passages (surface, stem) in, or out with sign -1."""
        surface_df, stem_df = self.df[Column.SURFACE], self.df[Column.STEM]
        # Counter.update counts an iterable of plain strings in C; subtract has no such path.
        surface_count = surface_df.update if sign > 0 else surface_df.subtract
        stem_count = stem_df.update if sign > 0 else stem_df.subtract
        for surface, stem in passages:
            surface_count(set(surface.split()))
            stem_count(set(stem.split()))
            self.passages += sign
            self.tokens += sign * (surface.count(" ") + 1)

    def remove(self, passages: Iterable[tuple[str, str]]) -> None:
        """Count analysed passages out."""
        self.add(passages, -1)

    def changes(self) -> list[tuple[str, str, int]]:
        """Return (column, term, change) for every term whose count changed."""
        return [(col.value, t, n) for col, table in self.df.items() for t, n in table.items() if n]
