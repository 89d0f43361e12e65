"""The near-copy distractor generator in bench/copies.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.copies import (
    REWRITE_RATE,
    _pool,
    jaccard,
    load_seeds,
    make_copies,
    near_duplicate,
    perturb,
    sentences,
    write_copies,
)
from bench.judge import fold, load_queries
from search.cleaning import clean_article

BASE = "أعلنت وزارة الدفاع الروسية أن القوات السورية حررت مواقع من تنظيم داعش في دير الزور اليوم"


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        (BASE, BASE, True),
        # Marks and hamza forms fold away: still the same text.
        (BASE, BASE.replace("أعلنت", "اعلنت").replace("الروسية", "الرُّوسية"), True),
        # One word changed at the end: most shingles survive.
        (BASE, BASE.replace("اليوم", "أمس"), True),
        # The same words shuffled share few shingles.
        (BASE, " ".join(reversed(BASE.split())), False),
        (BASE, "قالت مصادر محلية إن الطقس سيكون معتدلا في معظم المناطق", False),
    ],
)
def test_near_duplicate(a: str, b: str, near: bool) -> None:
    assert near_duplicate(a, b) is near
    assert jaccard(a, b) == jaccard(b, a)


def test_generator_is_deterministic_and_prefix_stable() -> None:
    assert make_copies(30, seed=3) == make_copies(30, seed=3)
    assert make_copies(10, seed=3) == make_copies(30, seed=3)[:10]
    assert make_copies(10, seed=3) != make_copies(10, seed=4)


def test_mix_of_rewrites_and_reprints() -> None:
    copies = make_copies(500)
    kinds = [c.kind for c in copies]
    assert kinds.count("rewrite") == 400
    assert kinds.count("reprint") == 100
    assert {c.source for c in copies} == set(range(len(load_seeds())))


def test_reprints_are_near_duplicates_and_rewrites_are_not() -> None:
    seeds = load_seeds()
    copies = make_copies(100)
    for c in copies:
        j = jaccard(c.body, seeds[c.source].body)
        if c.kind == "reprint":
            assert j >= 0.6, c.headline
            assert c.body != seeds[c.source].body
        else:
            assert j < 0.6, c.headline


def test_rewritten_sentences_break_the_judged_phrases() -> None:
    seeds = load_seeds()
    pool = _pool(seeds)
    rng = random.Random(0)
    phrases = [fold(str(p)) for q in load_queries() for p in q.get("any", [])]  # type: ignore[attr-defined]
    verbatim = total = held = kept = 0
    for seed in seeds:
        for sentence in sentences(seed):
            rewritten = perturb(sentence, rng, REWRITE_RATE, pool)
            total += 1
            verbatim += rewritten == sentence
            before, after = fold(sentence), fold(rewritten)
            for phrase in phrases:
                if phrase in before:
                    held += 1
                    kept += phrase in after
    assert verbatim / total < 0.05
    assert held > 100
    assert kept / held < 0.4


def test_written_articles_read_back_with_title_and_outlet(tmp_path: Path) -> None:
    paths = write_copies(25, tmp_path / "copies")
    assert len(paths) == 25
    assert sorted(tmp_path.joinpath("copies").glob("*.txt")) == sorted(paths)
    for path, copy in zip(paths, make_copies(25), strict=True):
        article = clean_article(path.read_text(encoding="utf-8"))
        assert article.title == copy.headline
        assert article.outlet == copy.outlet
        assert article.passages
