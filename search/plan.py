"""The shape of an analysed query: concepts, each satisfied by weighted alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

Phrase = tuple[str, ...]


class Column(StrEnum):
    """Indexed columns of passages_fts."""

    SURFACE = "surface"
    STEM = "stem"


class Kind(StrEnum):
    """Where an alternative came from; the weight says how much it is trusted."""

    SURFACE = "surface"
    CLITIC = "clitic"
    JOINED = "joined"
    STEM = "stem"
    ALIAS = "alias"
    ENGLISH = "english"
    VARIANT = "variant"
    TRANSLIT = "translit"
    PART = "part"


WEIGHTS = {
    Kind.SURFACE: 1.0,
    Kind.CLITIC: 0.9,
    Kind.JOINED: 0.9,
    Kind.ENGLISH: 0.9,
    Kind.ALIAS: 0.8,
    Kind.STEM: 0.7,
    Kind.TRANSLIT: 0.6,
    Kind.VARIANT: 0.5,
    Kind.PART: 0.3,
}


@dataclass(frozen=True)
class Alternative:
    """One way a concept can appear in a passage: adjacent tokens in one column."""

    column: Column
    phrase: Phrase
    kind: Kind

    @property
    def weight(self) -> float:
        """Return how much a match of this alternative counts."""
        return WEIGHTS[self.kind]


@dataclass(frozen=True)
class Concept:
    """A query word (or phrase) and the alternatives that satisfy it."""

    label: str
    alternatives: tuple[Alternative, ...]
    words: Phrase = ()  # the query's tokens it stands for, as typed after normalisation


# What to fetch, whatever the index: passages holding, for every group, one of its alternatives.
Match = tuple[tuple[Alternative, ...], ...]
# How to order what a Match finds, best first: each concept's alternatives, its weight, and
# how many passages hold each alternative (at most). SQLite's FTS5 orders by its own bm25; a
# backend without bm25 sums the weights held, then computes FTS5's bm25 for the best.
Rank = tuple[tuple[tuple[Alternative, ...], float, tuple[int, ...]], ...]


@dataclass(frozen=True)
class Plan:
    """The analysed query."""

    concepts: tuple[Concept, ...]
    # The query's tokens in order, stopwords kept, each question word blanked to "".
    sequence: tuple[str, ...] = ()
    question: str | None = None  # the kind of answer a question asks for (questions.toml)

    @property
    def empty(self) -> bool:
        """Tell whether nothing searchable is left."""
        return not self.concepts

    @staticmethod
    def any_of(concepts: tuple[Concept, ...]) -> Match:
        """Return the passages holding any alternative of these concepts."""
        return (tuple(dict.fromkeys(a for c in concepts for a in c.alternatives)),)

    @staticmethod
    def all_of(concepts: tuple[Concept, ...]) -> Match:
        """Return the passages holding every one of these concepts (any alternative)."""
        return tuple(tuple(dict.fromkeys(c.alternatives)) for c in concepts)

    @staticmethod
    def lean(concepts: tuple[Concept, ...], whole: bool = False) -> Match:
        """Return all_of with only the alternatives that add passages.

        With whole, a phrase concept counts only whole, not by its single words. An
        alternative holding another of its concept matches no passage that the other
        misses: leaving it out spares the index reading its positions.
        """
        groups = []
        for concept in concepts:
            alts = [a for a in concept.alternatives if not (whole and a.kind is Kind.PART)]
            kept = (a for a in alts if not any(_inside(b, a) for b in alts))
            groups.append(tuple(dict.fromkeys(kept)))
        return tuple(groups)

    def terms(self) -> set[str]:
        """Return every token that the plan may match, for highlighting."""
        return {t for c in self.concepts for a in c.alternatives for t in a.phrase}


def _inside(part: Alternative, alt: Alternative) -> bool:
    """Tell whether part is a shorter run of alt's tokens in the same column."""
    n = len(part.phrase)
    return (
        part.column is alt.column
        and n < len(alt.phrase)
        and any(alt.phrase[i : i + n] == part.phrase for i in range(len(alt.phrase) - n + 1))
    )
