"""Work per query is bounded: the worst messages generate a fixed budget of candidates."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

import search.vocabulary as vocabulary
from search.analysis import tokens
from search.lexicon import load_lexicon
from search.plan import Column
from search.query import MAX_CONCEPTS, plan_query
from search.vocabulary import MAX_FUZZY_LEN, Vocabulary, looser_keys
from storage.store import Store
from tests.conftest import SEEDS

_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_rng = random.Random(13)
WORST = {
    "one 4096-letter word": "ب" * 4096,
    "one random 4096-letter word": "".join(_rng.choice(_LETTERS) for _ in range(4096)),
    "2,000 one-letter words": " ".join(_rng.choice(_LETTERS) for _ in range(2000)),
    "random unicode": "".join(chr(_rng.randint(0x20, 0x2FFFF)) for _ in range(4096)),
    "fts syntax": ('NEAR(داعش OR "x" * ^ - AND ' * 200)[:4096],
    "latin word": "peskov" * 680,
    f"{MAX_FUZZY_LEN}-letter words": " ".join(
        "".join(_rng.choice(_LETTERS) for _ in range(MAX_FUZZY_LEN)) for _ in range(132)
    )[:4096],
}
# Characters of generated deletions and of vocabulary lookups one query may cost.
PLAN_BUDGET = 200_000
# Two deletions of a MAX_FUZZY_LEN-letter word and a lookup of each: under 2·L³ characters.
LOOSER_BUDGET = 2 * MAX_FUZZY_LEN**3


class Budget:
    """Counts characters generated or looked up, and stops the test once past the budget."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0

    def spend(self, chars: int) -> None:
        self.used += chars
        if self.used > self.limit:
            raise AssertionError(f"over budget: {self.used} > {self.limit}")


def _seed_vocabulary() -> Vocabulary:
    words = {t for path in SEEDS.glob("*.txt") for t in tokens(path.read_text())}
    # Every word is rare, so every word of a query gets the variant lookups too.
    vocab = Vocabulary(passages=100_000)
    vocab.df[Column.SURFACE] = dict.fromkeys(words, 1)
    vocab.df[Column.STEM] = dict.fromkeys(words, 1)
    vocab.prepare()
    return vocab


def _metered(monkeypatch: pytest.MonkeyPatch, vocab: Vocabulary, limit: int) -> Budget:
    budget = Budget(limit)
    deletes: Callable[[str], set[str]] = vocabulary._deletes

    def counted_deletes(term: str) -> set[str]:
        found = deletes(term)
        budget.spend(sum(map(len, found)))
        return found

    def counted_has(term: str) -> bool:
        budget.spend(len(term))
        return term in vocab.df[Column.SURFACE]

    monkeypatch.setattr(vocabulary, "_deletes", counted_deletes)
    monkeypatch.setattr(vocab, "has", counted_has)
    return budget


@pytest.mark.parametrize("text", WORST.values(), ids=WORST.keys())
def test_plan_query_work_is_bounded(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    vocab = _seed_vocabulary()
    budget = _metered(monkeypatch, vocab, PLAN_BUDGET)
    plan = plan_query(text, vocab, load_lexicon())
    assert 1 <= len(plan.concepts) <= MAX_CONCEPTS
    assert budget.used <= PLAN_BUDGET


@pytest.mark.parametrize("text", WORST.values(), ids=WORST.keys())
def test_did_you_mean_work_is_bounded(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    vocab = _seed_vocabulary()
    budget = _metered(monkeypatch, vocab, LOOSER_BUDGET)
    for token in tokens(text)[:6]:
        budget.used = 0
        vocab.looser(token)
        assert budget.used <= LOOSER_BUDGET


@pytest.mark.parametrize(
    ("length", "most"), [(1000, 0), (MAX_FUZZY_LEN + 1, 0), (MAX_FUZZY_LEN, 466), (5, 16)]
)
def test_looser_keys_are_bounded_by_word_length(length: int, most: int) -> None:
    word = "".join(_LETTERS[i % len(_LETTERS)] for i in range(length))
    assert len(looser_keys(word)) <= most


def test_close_words_are_still_suggested() -> None:
    vocab = _seed_vocabulary()
    assert "الميادين" in vocab.looser("الميادبنن")
    assert "الميادين" in vocab.neighbours("الميادبن")


async def test_store_suggestions_for_the_worst_messages_are_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.warm_up()
    budget = Budget(0)
    deletes: Callable[[str], set[str]] = vocabulary._deletes

    def counted_deletes(term: str) -> set[str]:
        found = deletes(term)
        budget.spend(sum(map(len, found)))
        return found

    monkeypatch.setattr(vocabulary, "_deletes", counted_deletes)
    for text in WORST.values():
        budget.used, budget.limit = 0, 6 * LOOSER_BUDGET
        await store.suggestions(text)
        budget.used, budget.limit = 0, PLAN_BUDGET
        await store.search(text)
