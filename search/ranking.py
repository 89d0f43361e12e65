"""Score candidate passages against a query plan: concepts in the best window, phrase, answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.analysis import light_stem
from search.lexicon import Lexicon, Phrase, load_lexicon
from search.plan import Alternative, Column, Concept, Kind, Plan
from search.vocabulary import Vocabulary

K1 = 0.5
# Rare words decide what a passage is about: idf counts a little more than linearly.
IDF_POWER = 1.5
# The best window: a span about a long sentence wide, wider for long queries. Concepts found
# only outside it count for this share: they are about the passage, not about the answer.
WINDOW = 24
WINDOW_PER_CONCEPT = 3
OUTSIDE_SHARE = 0.5
# Two query items standing next to each other in the passage, in the query's order: two
# concepts (a phrase), or a concept and the stopword typed next to it (من Y, Y إلى).
PHRASE_BONUS = 0.3
# Every concept of the query next to the next one, as typed: the passage quotes the query (a
# phrase remembered from an article), which a paraphrase of the same story does not.
WHOLE_BONUS = 0.5
WHOLE_PAIRS = 2
STOP_LINK_BONUS = 0.25
# Consecutive concepts close together: in the query's order counts more than reordered.
ORDERED_BONUS = 0.35
UNORDERED_BONUS = 0.12
NEAR_DISTANCE = 4
# A concept the passage's headline holds too: the article is about it (ARCD alone success@1
# 0.804 -> 0.807 from 0.08; at 0.3 a seed headline naming دير الزور outranks the answer).
TITLE_BONUS = 0.2
# A passage gains this share of the weight of every concept it holds, wherever it stands
# and however often (a passage holding more of the question beats one repeating less of it),
# and this share of the query's weight times the share of its headline the query names: what
# an article is about stands in its headline, and its later paragraphs seldom repeat it.
# ARCD alone 0.807 / 0.938 -> 0.847 / 0.961 at 1 / 3 (with the opening below and 100
# candidates), inside the 29.5k-article archive 0.612 / 0.745 -> 0.713 / 0.817.
COVERAGE_BONUS = 0.8
SUBJECT_BONUS = 0.4
# "What is X": the passage that opens with X defines it ("الأسد حيوان من الثدييات").
DEFINITION_BONUS = 0.6
# A query that is most of a document's headline, and whose words the headline mostly holds,
# names that article: its best passage gains this many times the query's weight, scaled by
# how much of each the other holds. Both shares must reach HEADLINE_SHARE, and the headline
# must hold two concepts at least: a headline of one word names no article.
HEADLINE = 3.0
HEADLINE_SHARE = 0.5
HEADLINE_POWER = 4
HEADLINE_LOOSE = 0.9
LENGTH_B = 0.75  # bm25's b, on the passage's length up to LENGTH_CAP windows
# A passage is scored by its best window, so sentences beyond it cost nothing: its length
# counts only up to this many windows. Without length normalisation at all, long passages of
# reshuffled copy win (seeds + 500 copies: success@1 0.948 -> 0.928, questions@3 0.94 -> 0.89).
LENGTH_CAP = 2
# A question's kind of answer (a number, a date, a name, a cause) near the question's words.
ANSWER_BONUS = 0.3
ANSWER_DISTANCE = 8
# An answer often continues the passage that states what was asked: "the planes moved away
# from the convoy." then "The coalition said this was to ensure ...". A passage holding an
# answer of the asked kind near its start borrows this share of the question's concepts that
# only the passage before it holds, as if they stood next to the answer.
CONTEXT_SHARE = 0.8
CONTEXT_LEAD = 12  # tokens from the start within which that answer must stand
FOLLOWING_KINDS = frozenset({"cause", "time", "quantity"})
NAME_KINDS = frozenset({"who", "place"})
_YEAR_MIN, _YEAR_MAX = 1900, 2099

Span = tuple[int, int]  # first and last token position


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
    numbers: dict[int, str]  # position -> digits, kept only when the question asks for them
    names: frozenset[int] = frozenset()  # positions of capitalised words in English text

    @classmethod
    def of(
        cls,
        row_id: int,
        surface: str,
        stem: str,
        title: str,
        wanted: frozenset[str],
        numbers: bool = False,
        names: frozenset[int] = frozenset(),
    ) -> Candidate:
        """Build a candidate from stored analysed text, keeping only the wanted tokens."""
        toks = surface.split()
        digits = {i: t for i, t in enumerate(toks) if t.isdigit()} if numbers else {}
        return cls(
            row_id,
            len(toks),
            _index(toks, wanted),
            _index(stem.split(), wanted),
            frozenset(title.split()),
            digits,
            names,
        )


@dataclass(frozen=True, order=True)
class Ranking:
    """A candidate's score and the evidence that breaks its ties, best first when sorted."""

    key: tuple[float, float, float, float]  # negated: total, phrase, proximity, title

    @property
    def total(self) -> float:
        """Return the score."""
        return -self.key[0]

    def plus(self, bonus: float) -> Ranking:
        """Return the ranking with bonus added to its score."""
        return Ranking((self.key[0] - bonus, *self.key[1:]))


def positions(where: dict[str, list[int]], phrase: tuple[str, ...]) -> list[int]:
    """Return the start positions where phrase occurs, given each token's positions."""
    starts = where.get(phrase[0], [])
    for offset, token in enumerate(phrase[1:], 1):
        if not starts:
            break
        following = set(where.get(token, ()))
        starts = [p for p in starts if p + offset in following]
    return starts


def saturate(tf: int) -> float:
    """Return how much tf occurrences of a concept count, one counting 1."""
    return tf * (K1 + 1) / (tf + K1)


def best_window(
    events: list[tuple[int, int]], values: list[float], width: int
) -> tuple[float, set[int]]:
    """Return the most concept value one window of width tokens holds, and its concepts.

    events are (position, concept) pairs; repeats of a concept inside the window count
    with bm25's saturation, so a passage repeating a word far and wide gains nothing.
    """
    events = sorted(set(events))
    held: dict[int, int] = {}
    covered = best = 0.0
    chosen: set[int] = set()
    left = 0
    for pos, k in events:
        held[k] = held.get(k, 0) + 1
        covered += values[k] * (saturate(held[k]) - saturate(held[k] - 1))
        while events[left][0] <= pos - width:
            gone = events[left][1]
            held[gone] -= 1
            covered -= values[gone] * (saturate(held[gone] + 1) - saturate(held[gone]))
            left += 1
        if covered > best:
            best, chosen = covered, {c for c, n in held.items() if n}
    return best, chosen


def _gap(before: list[Span], after: list[Span]) -> int | None:
    """Return the fewest tokens from the end of a span in before to a later span's start."""
    gaps = [b[0] - a[1] for a in before for b in after if b[0] > a[1]]
    return min(gaps) if gaps else None


def _touch(before: list[Span], after: list[Span]) -> bool:
    """Tell whether a span of after starts right where one of before ends."""
    ends = {a[1] + 1 for a in before}
    return any(b[0] in ends for b in after)


@dataclass(frozen=True)
class _Item:
    """One slot of the query sequence: a concept (by index) or a bare typed token."""

    concept: int | None
    token: str


class Scorer:
    """Score candidates for one plan; idf and weights are worked out once per query."""

    def __init__(self, plan: Plan, vocab: Vocabulary, lexicon: Lexicon | None = None) -> None:
        self.vocab = vocab
        lexicon = lexicon or load_lexicon()
        self.concepts = [_weighted(concept, vocab) for concept in plan.concepts]
        # Each concept's alternatives by column and first word, as indexes into its list.
        self._firsts: list[tuple[dict[str, list[int]], dict[str, list[int]]]] = []
        for alts in self.concepts:
            by_column: dict[Column, dict[str, list[int]]] = {Column.SURFACE: {}, Column.STEM: {}}
            for i, (alt, _) in enumerate(alts):
                by_column[alt.column].setdefault(alt.phrase[0], []).append(i)
            self._firsts.append((by_column[Column.SURFACE], by_column[Column.STEM]))
        self.width = WINDOW + WINDOW_PER_CONCEPT * len(plan.concepts)
        self.items = _items(plan)
        # Concepts that stand for English words: Arabic puts the adjective after the noun,
        # so their order in an English query says nothing about their order in a passage.
        self.english = [any(w.isascii() for w in c.words) for c in plan.concepts]
        self.answers, self.numbers, self.years = _answers(plan.question, lexicon)
        # Who and where: in English text, a capitalised word inside a sentence is a name.
        self.wants_names = plan.question in NAME_KINDS
        # English writes days and months with capitals too: they are not names.
        self.unnamed = frozenset(
            p[0] for q in lexicon.questions if q.kind == "time" for p in q.answer if len(p) == 1
        )
        # Names and places stand in most passages: only a cause, a time or a number is
        # evidence enough that a passage answers what the one before it stated.
        self.follows = plan.question in FOLLOWING_KINDS
        self.defines = plan.question == "definition"
        self.wanted = frozenset(
            plan.terms() | {t for t in plan.sequence if t} | {t for p in self.answers for t in p}
        )
        self.stopwords = lexicon.stopwords
        # The words of a headline that count as each concept: surface words only, since the
        # index keeps headlines as their surface tokens.
        self._heads = [
            frozenset(a.phrase[0] for a, _ in alts if a.column is Column.SURFACE)
            for alts in self.concepts
        ]
        self._weights = [max((w for _, w in alts), default=0.0) for alts in self.concepts]
        self._total = sum(self._weights)
        # A headline word names a concept as one of its spellings or by its stem.
        self._named = frozenset().union(*self._heads)
        self._named_stems = frozenset(
            a.phrase[0]
            for alts in self.concepts
            for a, _ in alts
            if a.column is Column.STEM and len(a.phrase) == 1
        )
        # Whether a named stem stands inside a word, in one pass over it.
        self._stem_inside = re.compile("|".join(map(re.escape, sorted(self._named_stems))))
        self._subjects: dict[frozenset[str], float] = {}
        self._typed = [frozenset(c.words) for c in plan.concepts]
        self._all_typed = frozenset().union(*self._typed)
        # Answer words, and answer phrases by their first word: most answers are one word.
        self._words = frozenset(p[0] for p in self.answers if len(p) == 1)
        self._first: dict[str, list[Phrase]] = {}
        for phrase in self.answers:
            if len(phrase) > 1:
                self._first.setdefault(phrase[0], []).append(phrase)

    def _best(
        self, k: int, cand: Candidate
    ) -> tuple[float, list[Span], Alternative | None]:
        best, which = 0.0, None
        spans: list[Span] = []
        # Only the alternatives whose first word the passage holds: most hold none of a
        # concept's dozen spellings, and looking each up cost most of the scoring time. A
        # candidate keeps only the query's words, so it is the smaller side to walk.
        surface, stem = self._firsts[k]
        present = [i for t in cand.surface if t in surface for i in surface[t]]
        present += [i for t in cand.stem if t in stem for i in stem[t]]
        if not present:
            return best, spans, which
        for i in sorted(present):
            alt, weight = self.concepts[k][i]
            pos = positions(cand.surface if alt.column is Column.SURFACE else cand.stem, alt.phrase)
            if pos:
                n = len(alt.phrase) - 1
                spans += [(p, p + n) for p in pos]
                if weight > best:
                    best, which = weight, alt
        return best, sorted(set(spans)), which

    def candidate(
        self,
        row_id: int,
        surface: str,
        stem: str,
        title: str,
        names: frozenset[int] | None = None,
    ) -> Candidate:
        """Build a candidate holding what this scorer reads; names are its capitalised words."""
        return Candidate.of(
            row_id, surface, stem, title, self.wanted, self.wants_numbers, names or frozenset()
        )

    def headline(self, title: str) -> float:
        """Return the bonus a passage takes when the query is (most of) its headline."""
        words = {t for t in title.split() if t not in self.stopwords}
        total = self._total
        if not words or not total:
            return 0.0
        held = [k for k, heads in enumerate(self._heads) if heads & words]
        if len(held) < 2:
            return 0.0
        # A word the headline spells as typed counts whole; another form of it (بقناة for قناة)
        # less: of two near-identical headlines, the one typed wins.
        exact = {k for k in held if self._typed[k] & words}
        query_share = sum(
            self._weights[k] * (1 if k in exact else HEADLINE_LOOSE) for k in held
        ) / total
        named = self._named & words  # each word a concept holds is a held concept's
        title_share = sum(1 if w in self._all_typed else HEADLINE_LOOSE for w in named)
        title_share /= len(words)
        if min(query_share, title_share) < HEADLINE_SHARE:
            return 0.0
        # Exactly the headline, rather than a similar one of another article: steeply more.
        # The headline covers the concepts it holds, as a passage holding them would.
        covered = COVERAGE_BONUS * sum(self._weights[k] for k in held)
        return HEADLINE * (query_share * title_share) ** HEADLINE_POWER * total + covered

    def score(self, cand: Candidate) -> float:
        """Score one candidate passage."""
        return self.rank(cand).total

    def rank(self, cand: Candidate, context: Candidate | None = None) -> Ranking:
        """Score one candidate passage, keeping the evidence that breaks ties; context is
        the passage before it, read when the query is a question."""
        # Repeats count only inside the best window; length counts up to LENGTH_CAP windows.
        values, spans, found = self._values(cand)
        title = sum(
            TITLE_BONUS * value
            for value, alt in zip(values, found, strict=True)
            if alt is not None and any(t in cand.title for t in alt.phrase)
        )
        title += SUBJECT_BONUS * self._subject(cand.title) * self._total
        coverage = COVERAGE_BONUS * sum(
            weight for weight, alt in zip(self._weights, found, strict=True) if alt is not None
        )
        events = [(s[0], k) for k, where in enumerate(spans) for s in where]
        inside, held = best_window(events, values, self.width)
        outside = sum(v for k, v in enumerate(values) if k not in held)
        phrase = self._phrase(cand, values, spans)
        proximity = self._proximity(values, spans)
        cues = self._cues(cand, spans)
        answer = self._answer(values, spans, cues)
        if context is not None and self.follows and cues and min(cues) < CONTEXT_LEAD:
            before, _, _ = self._values(context)
            lent = sum(v for k, v in enumerate(before) if not values[k])
            answer += CONTEXT_SHARE * (1 + ANSWER_BONUS) * lent
            # The two passages together cover the question, as one would.
            coverage += COVERAGE_BONUS * sum(
                weight for k, weight in enumerate(self._weights) if before[k] and not values[k]
            )
        if self.defines:
            opens = [v for v, where in zip(values, spans, strict=True) if where and not where[0][0]]
            answer += DEFINITION_BONUS * sum(opens)
        total = inside + OUTSIDE_SHARE * outside + title + coverage + phrase + proximity + answer
        return Ranking((-total, -phrase, -proximity, -title))

    def _subject(self, title: frozenset[str]) -> float:
        """Return the share of a headline's words that the query names."""
        # Candidates come by the dozen from one article: each headline is read once.
        share = self._subjects.get(title)
        if share is None:
            words = [t for t in title if t not in self.stopwords]
            named = [t for t in words if t in self._named or self._stem_named(t)]
            share = self._subjects[title] = len(named) / len(words) if words else 0.0
        return share

    def _stem_named(self, word: str) -> bool:
        # A stem stands inside its word: most headline words need no stemming to rule out.
        return (
            bool(self._named_stems)
            and self._stem_inside.search(word) is not None
            and light_stem(word) in self._named_stems
        )

    def _values(
        self, cand: Candidate
    ) -> tuple[list[float], list[list[Span]], list[Alternative | None]]:
        """Return each concept's value in a passage, its spans and the spelling found."""
        length = min(cand.length, LENGTH_CAP * self.width)
        shrink = (K1 + 1) / (1 + K1 * (1 - LENGTH_B + LENGTH_B * length / self.vocab.avg_len))
        values: list[float] = []
        spans: list[list[Span]] = []
        found: list[Alternative | None] = []
        for k in range(len(self.concepts)):
            value, where, alt = self._best(k, cand)
            values.append(value * shrink)
            spans.append(where)
            found.append(alt)
        return values, spans, found

    def _phrase(self, cand: Candidate, values: list[float], spans: list[list[Span]]) -> float:
        """Return the bonus for query items that stand together in the passage, in order.

        Two concepts count when they touch or stand as far apart as the query's stopwords
        between them; a concept and the stopword typed beside it count when they touch.
        """
        bonus = 0.0
        items = self.items
        pairs = linked = 0
        for i, a in enumerate(items):
            if a is None:
                continue
            b = items[i + 1] if i + 1 < len(items) else None
            if b is not None and (a.concept is None) != (b.concept is None):
                k = a.concept if a.concept is not None else b.concept
                assert k is not None
                if values[k] and _touch(self._spans(a, cand, spans), self._spans(b, cand, spans)):
                    bonus += STOP_LINK_BONUS * values[k]
            if a.concept is None:
                continue
            # The next concept, over the bare words typed between them.
            j = i + 1
            while j < len(items) and (c := items[j]) is not None and c.concept is None:
                j += 1
            c = items[j] if j < len(items) else None
            if c is None or c.concept is None:
                continue
            least = min(values[a.concept], values[c.concept])
            gap = _gap(spans[a.concept], spans[c.concept])
            pairs += 1
            if least and gap in (1, j - i):
                bonus += PHRASE_BONUS * least
                linked += 1
        if pairs >= WHOLE_PAIRS and linked == pairs:
            bonus += WHOLE_BONUS * sum(values)
        return bonus

    @staticmethod
    def _spans(item: _Item, cand: Candidate, spans: list[list[Span]]) -> list[Span]:
        if item.concept is not None:
            return spans[item.concept]
        return [(p, p) for p in cand.surface.get(item.token, ())]

    def _proximity(self, values: list[float], spans: list[list[Span]]) -> float:
        """Return the bonus for consecutive concepts close together, in order or not.

        Concepts the passage lacks are passed over: their words may stand in the gap.
        """
        bonus = 0.0
        found = [k for k, value in enumerate(values) if value]
        for a, b in zip(found, found[1:], strict=False):
            least = min(values[a], values[b])
            near = NEAR_DISTANCE + (b - a - 1)
            ahead = _gap(spans[a], spans[b])
            behind = _gap(spans[b], spans[a])
            loose = self.english[a] and self.english[b]
            if ahead is not None and ahead <= near:
                bonus += ORDERED_BONUS * least
            elif behind is not None and behind <= near:
                bonus += (ORDERED_BONUS if loose else UNORDERED_BONUS) * least
        return bonus

    def _cues(self, cand: Candidate, spans: list[list[Span]]) -> list[int]:
        """Return where the passage holds an answer of the asked kind, outside the concepts."""
        if not (self.answers or self.numbers):
            return []
        taken = {p for where in spans for s in where for p in range(s[0], s[1] + 1)}
        cues = [p for p, digits in cand.numbers.items() if self._wanted_number(digits)]
        cues += cand.names
        for token in self._words.intersection(cand.surface):
            cues += cand.surface[token]
        surface = cand.surface
        for token in self._first.keys() & surface.keys():
            for phrase in self._first[token]:
                if phrase[1] in surface:  # most names that share a first word stop here
                    cues += positions(surface, phrase)
        return [p for p in cues if p not in taken]

    @staticmethod
    def _answer(values: list[float], spans: list[list[Span]], cues: list[int]) -> float:
        """Return the bonus for an answer of the asked kind near the question's concepts."""
        if not cues:
            return 0.0
        near = sum(
            value
            for value, where in zip(values, spans, strict=True)
            if value
            and any(
                abs(c - s[0]) <= ANSWER_DISTANCE or abs(c - s[1]) <= ANSWER_DISTANCE
                for s in where
                for c in cues
            )
        )
        return ANSWER_BONUS * near

    def _wanted_number(self, digits: str) -> bool:
        if self.numbers:
            return True
        return self.years and _YEAR_MIN <= int(digits) <= _YEAR_MAX

    @property
    def wants_numbers(self) -> bool:
        """Tell whether candidates must record their numbers."""
        return self.numbers or self.years


def _weighted(concept: Concept, vocab: Vocabulary) -> list[tuple[Alternative, float]]:
    """Return each alternative with its weight, none above the word as typed."""
    # A rare spelling of the same name is not a more specific query than the name typed.
    weights = [
        (alt, alt.weight * vocab.idf(alt.column, alt.phrase) ** IDF_POWER)
        for alt in concept.alternatives
    ]
    typed = [w for alt, w in weights if alt.kind is Kind.SURFACE]
    if not typed:
        return weights
    return [(alt, min(w, typed[0])) for alt, w in weights]


def _items(plan: Plan) -> list[_Item | None]:
    """Return the query sequence as concepts and bare tokens; None for a question word."""
    by_words = sorted(
        ((c.words, k) for k, c in enumerate(plan.concepts) if c.words),
        key=lambda pair: -len(pair[0]),
    )
    items: list[_Item | None] = []
    seq = plan.sequence
    i = 0
    while i < len(seq):
        if not seq[i]:
            items.append(None)
            i += 1
            continue
        for words, k in by_words:
            if seq[i : i + len(words)] == words:
                items.append(_Item(k, ""))
                i += len(words)
                break
        else:
            items.append(_Item(None, seq[i]))
            i += 1
    return items


def _answers(kind: str | None, lexicon: Lexicon) -> tuple[tuple[Phrase, ...], bool, bool]:
    """Return the answer phrases of a question kind, and whether numbers or years answer it."""
    if kind is None:
        return (), False, False
    phrases: list[Phrase] = []
    for question in lexicon.questions:
        if question.kind == kind:
            phrases += question.answer
    if kind in ("who", "place"):
        phrases += list(lexicon.aliases)
    return tuple(dict.fromkeys(phrases)), kind == "quantity", kind == "time"
