"""Score candidate passages against a query plan: bm25 per concept, proximity, title."""

from __future__ import annotations

from dataclasses import dataclass

from storage.plan import Alternative, Column, Plan
from storage.vocabulary import Vocabulary

K1 = 0.9
# Rare words decide what a passage is about: idf counts a little more than linearly.
IDF_POWER = 1.5
B = 0.75
ADJACENT_BONUS = 0.7
NEAR_BONUS = 0.15
NEAR_DISTANCE = 4
TITLE_BONUS = 0.08


def _index(tokens: list[str], wanted: frozenset[str]) -> dict[str, list[int]]:
    present = wanted.intersection(tokens)  # usually a handful of words: skip the rest fast
    where: dict[str, list[int]] = {t: [] for t in present}
    if present:
        for i, token in enumerate(tokens):
            if token in present:
                where[token].append(i)
    return where


@dataclass(frozen=True)
class Candidate:
    """A passage as the ranker needs it: where each query token and stem stands."""

    id: int
    length: int
    surface: dict[str, list[int]]
    stem: dict[str, list[int]]
    title: frozenset[str]

    @classmethod
    def of(
        cls, row_id: int, surface: str, stem: str, title: str, wanted: frozenset[str]
    ) -> Candidate:
        """Build a candidate from stored analysed text, keeping only the wanted tokens."""
        toks = surface.split()
        return cls(
            row_id,
            len(toks),
            _index(toks, wanted),
            _index(stem.split(), wanted),
            frozenset(title.split()),
        )


def positions(where: dict[str, list[int]], phrase: tuple[str, ...]) -> list[int]:
    """Return the start positions where phrase occurs, given each token's positions."""
    starts = where.get(phrase[0], [])
    for offset, token in enumerate(phrase[1:], 1):
        if not starts:
            break
        following = set(where.get(token, ()))
        starts = [p for p in starts if p + offset in following]
    return starts


class Scorer:
    """Score candidates for one plan; idf and weights are worked out once per query."""

    def __init__(self, plan: Plan, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.wanted = frozenset(plan.terms())
        self.concepts = [
            [
                (alt, alt.weight * vocab.idf(alt.column, alt.phrase) ** IDF_POWER)
                for alt in concept.alternatives
            ]
            for concept in plan.concepts
        ]

    def _best(
        self, alts: list[tuple[Alternative, float]], cand: Candidate, norm: float
    ) -> tuple[float, list[int], Alternative | None]:
        best, where, which = 0.0, [], None
        for alt, weight in alts:
            pos = positions(cand.surface if alt.column is Column.SURFACE else cand.stem, alt.phrase)
            if pos:
                tf = len(pos)
                value = weight * tf * (K1 + 1) / (tf + norm)
                if value > best:
                    best, where, which = value, pos, alt
        return best, where, which

    def score(self, cand: Candidate) -> float:
        """Score one candidate passage."""
        norm = K1 * (1 - B + B * cand.length / self.vocab.avg_len)
        total = 0.0
        matched: list[tuple[float, list[int]]] = []
        for alts in self.concepts:
            value, pos, alt = self._best(alts, cand, norm)
            total += value
            matched.append((value, pos))
            if alt is not None and any(t in cand.title for t in alt.phrase):
                total += TITLE_BONUS * value
        for (s1, p1), (s2, p2) in zip(matched, matched[1:], strict=False):
            if not (s1 and s2):
                continue
            gap = min(abs(b - a) for a in p1 for b in p2)
            if gap <= 1:
                total += ADJACENT_BONUS * min(s1, s2)
            elif gap <= NEAR_DISTANCE:
                total += NEAR_BONUS * min(s1, s2)
        return total
