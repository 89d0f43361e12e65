"""Score candidate passages against a query plan: bm25 per concept, proximity, title."""

from __future__ import annotations

from dataclasses import dataclass

from storage.plan import Alternative, Column, Plan
from storage.vocabulary import Vocabulary

K1 = 0.9
# Rare words decide what a passage is about: idf counts a little more than linearly.
IDF_POWER = 1.5
B = 0.75
ADJACENT_BONUS = 0.35
NEAR_BONUS = 0.15
NEAR_DISTANCE = 4
TITLE_BONUS = 0.08


@dataclass(frozen=True)
class Candidate:
    """A passage as the ranker needs it."""

    id: int
    surface: tuple[str, ...]
    stem: tuple[str, ...]
    title: frozenset[str]


def positions(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> list[int]:
    """Return the start positions where phrase occurs in tokens."""
    n = len(phrase)
    first = phrase[0]
    return [i for i, t in enumerate(tokens) if t == first and tokens[i : i + n] == phrase]


def _best(
    alts: tuple[Alternative, ...], cand: Candidate, vocab: Vocabulary
) -> tuple[float, list[int]]:
    best, where = 0.0, []
    length = len(cand.surface)
    norm = K1 * (1 - B + B * length / vocab.avg_len)
    for alt in alts:
        toks = cand.surface if alt.column is Column.SURFACE else cand.stem
        pos = positions(toks, alt.phrase)
        if not pos:
            continue
        tf = len(pos)
        score = (
            alt.weight
            * vocab.idf(alt.column, alt.phrase) ** IDF_POWER
            * tf
            * (K1 + 1)
            / (tf + norm)
        )
        if score > best:
            best, where = score, pos
    return best, where


def score(plan: Plan, cand: Candidate, vocab: Vocabulary) -> float:
    """Score one candidate passage for the plan."""
    total = 0.0
    matched: list[tuple[float, list[int]]] = []
    for concept in plan.concepts:
        s, pos = _best(concept.alternatives, cand, vocab)
        total += s
        matched.append((s, pos))
        if s and any(t in cand.title for a in concept.alternatives for t in a.phrase):
            total += TITLE_BONUS * s
    for (s1, p1), (s2, p2) in zip(matched, matched[1:], strict=False):
        if not (s1 and s2):
            continue
        gap = min(abs(b - a) for a in p1 for b in p2)
        if gap <= 1:
            total += ADJACENT_BONUS * min(s1, s2)
        elif gap <= NEAR_DISTANCE:
            total += NEAR_BONUS * min(s1, s2)
    return total
