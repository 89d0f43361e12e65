"""Near-copies: word 3-shingles over normalised tokens, their Jaccard, and document sketches.

A passage reprinted with a word swapped, a number changed or a clause moved keeps most of its
word triples; a different passage on the same subject shares few of them.
"""

from __future__ import annotations

import base64
import heapq
import math
import zlib
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

SHINGLE = 3  # words per shingle
NEAR = 0.6  # shingle Jaccard from which two texts are copies of one another
BUCKETS = 8  # smallest shingle hashes a folded text is looked up by
# A document is known by its lead: a reprint keeps it, and hashing only these many tokens
# cuts the sketch's cost at ingest from 189 to 81 us for a 550-token article.
LEAD = 256
SKETCH = 64  # smallest shingle hashes kept of a document: 512 bytes, Jaccard within about ±0.06
# A passage that other documents carry (near-)verbatim is corroborated: each doubling of its
# copies adds this share to its score, so a story many outlets ran outranks a lone rewrite of
# it that scatters the same words (seeds + 500 copies: success@1 0.69 -> 0.93; 0.15 to 0.3
# score alike). At most CORROBORATION_CAP times: sixty reprints of a passage lacking one of
# the query's words must not outrank the one passage that holds them all.
CORROBORATION = 0.15
CORROBORATION_CAP = 1.5
# Copies scoring within this share of a story's best are alike to the query: the story is
# shown by the first of them, the version the others repeat (seeds + 500 loose rewrites:
# success@1 0.888 showing the best, 0.944 with this tie; ARCD alone 0.788 and 0.785).
TIE = 0.2
# A later copy holding this share of the first version's shingles, and more, extends it: an
# updated wire story, a paragraph carried on with the answer (ARCD alone: success@1 0.810 ->
# 0.814; at 0.9 loose rewrites count as extensions, and seeds + copies drop to 0.924).
EXTENDS = 0.98

Shingles = frozenset[int]


@lru_cache(maxsize=200_000)
def _token_hash(token: str) -> int:
    # Stable across processes (str hashes are salted): document sketches are stored.
    return zlib.crc32(token.encode())


def shingles(toks: Sequence[str], size: int = SHINGLE) -> Shingles:
    """Return the hashes of a token sequence's word shingles; a shorter text is one shingle."""
    hashes = [_token_hash(t) for t in toks]
    if len(hashes) < size:
        return frozenset((hash(tuple(hashes)),)) if hashes else frozenset()
    # A tuple of ints hashes the same in every process (no salt), and in C.
    return frozenset(map(hash, zip(*(hashes[i:] for i in range(size)), strict=False)))


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    """Return |a ∩ b| / |a ∪ b|; two empty sets are the same text."""
    if not a or not b:
        return 1.0 if a == b else 0.0
    both = len(a & b)
    return both / (len(a) + len(b) - both)


def near(a: frozenset[Any], b: frozenset[Any], threshold: float = NEAR) -> bool:
    """Tell whether two shingle sets are near-copies."""
    small, large = sorted((len(a), len(b)))
    # The Jaccard of two sets is at most the ratio of their sizes: most pairs stop here.
    if large and small / large < threshold:
        return False
    return jaccard(a, b) >= threshold


class Shingled(NamedTuple):
    """A text's word shingles, and the smallest few it is filed under when folding."""

    grams: frozenset[int]
    low: list[int]


def shingled(toks: Sequence[str]) -> Shingled:
    """Return a token sequence's word shingles hashed with this process's string hash: fast,
    and as good as any hash for folding, which compares texts within one process only."""
    if len(toks) < SHINGLE:
        grams = frozenset((hash(tuple(toks)),)) if toks else frozenset()
    else:
        hashes = list(map(hash, toks))
        grams = frozenset(map(hash, zip(hashes, hashes[1:], hashes[2:], strict=False)))
    return Shingled(grams, sorted(grams)[:BUCKETS])


class _Buckets:
    """Texts filed under their BUCKETS smallest shingle hashes.

    Two texts with Jaccard >= 0.6 all but surely share one of them, so a text is compared
    with the texts filed under its own smallest hashes only, not with every text filed.
    """

    def __init__(self) -> None:
        self._filed: dict[int, list[int]] = {}
        self._grams: list[frozenset[int]] = []

    def find(self, text: Shingled) -> int | None:
        """Return the first filed text that this text is a near-copy of."""
        seen: list[int] = []
        for h in text.low:
            if h in self._filed:  # seldom: most texts share no smallest hash with another
                seen += self._filed[h]
        return next((k for k in sorted(set(seen)) if near(self._grams[k], text.grams)), None)

    def file(self, text: Shingled) -> None:
        """File a text under the next number."""
        for h in text.low:
            self._filed.setdefault(h, []).append(len(self._grams))
        self._grams.append(text.grams)


def fold(texts: Sequence[Shingled], leaders: int) -> list[tuple[int, list[int]]]:
    """Group ranked texts: the first `leaders` that copy no better one, each with the
    indexes of the later ones that copy it."""
    kept: list[tuple[int, list[int]]] = []
    filed = _Buckets()
    for i, text in enumerate(texts):
        home = filed.find(text)
        if home is not None:
            kept[home][1].append(i)
        elif len(kept) < leaders:
            filed.file(text)
            kept.append((i, []))
    return kept


def corroborated(copies: int) -> float:
    """Return the factor a story's score takes from the number of its copies."""
    return min(CORROBORATION_CAP, 1 + CORROBORATION * math.log2(1 + copies))


class Story(NamedTuple):
    """A story among ranked passages: the one shown, its copies, and the score it ranks by."""

    shown: int
    copies: list[int]
    score: float


def _shown(close: list[int], texts: Sequence[Shingled], ages: Sequence[int]) -> int:
    """Return the first version among close copies, or the longest copy extending it."""
    first = min(close, key=ages.__getitem__)
    grams = texts[first].grams
    longer = [
        m
        for m in close
        if len(texts[m].grams) > len(grams)
        and len(grams & texts[m].grams) >= EXTENDS * len(grams)
    ]
    return max(longer, key=lambda m: len(texts[m].grams)) if longer else first


def stories(
    groups: Sequence[tuple[int, list[int]]],
    texts: Sequence[Shingled],
    scores: Sequence[float],
    ages: Sequence[int],
    wanted: int,
) -> list[Story]:
    """Merge folded groups of ranked passages into stories, best first.

    A story scores its best passage's score, corroborated by its copies, and is shown by that
    passage: an updated or extended version of a wire story is what the query found, and the
    first copy may lack the answer; among copies the query ranks alike, the first version, or
    the copy that extends it.
    Two stories whose shown passages are near-copies are one.
    """
    # Groups list their members best first: fold() files texts in ranked order.
    ranked = sorted(
        ((best, copies, scores[best] * corroborated(len(copies))) for best, copies in groups),
        key=lambda g: -g[2],
    )
    found: list[Story] = []
    shown = _Buckets()
    for best, copies, score in ranked:
        members = [best, *copies]
        close = [m for m in members if scores[m] >= scores[best] * (1 - TIE)]
        show = _shown(close, texts, ages)
        home = shown.find(texts[show])
        if home is not None:
            found[home].copies.extend(members)
        elif len(found) < wanted:
            shown.file(texts[show])
            found.append(Story(show, [m for m in members if m != show], score))
    return found


def sketch(passages: Iterable[Sequence[str]], size: int = SKETCH) -> str:
    """Return a document's bottom-k sketch: the `size` smallest hashes of the shingles of its
    first LEAD tokens, encoded."""
    grams: set[int] = set()
    left = LEAD
    for toks in passages:
        toks = toks[:left]
        left -= len(toks)
        if len(toks) < SHINGLE:
            grams.update(shingles(toks))
        else:
            hashes = list(map(_token_hash, toks))  # as shingles() does, without its frozenset
            grams.update(map(hash, zip(hashes, hashes[1:], hashes[2:], strict=False)))
        if left <= 0:
            break
    smallest = heapq.nsmallest(size, grams)
    return base64.b64encode(array("q", smallest).tobytes()).decode()


def unpack(encoded: str | None) -> frozenset[int]:
    """Return the hashes of an encoded sketch (empty for none)."""
    if not encoded:
        return frozenset()
    values = array("q")
    values.frombytes(base64.b64decode(encoded))
    return frozenset(values)


def resemblance(a: frozenset[int], b: frozenset[int], size: int = SKETCH) -> float:
    """Estimate the shingle Jaccard of two documents from their sketches."""
    if not a or not b:
        return 0.0
    union = sorted(a | b)[:size]
    both = a & b
    return sum(1 for h in union if h in both) / len(union)
