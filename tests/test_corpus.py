"""The synthetic benchmark corpus: determinism, seeds first, Heaps growth, queries."""

from __future__ import annotations

from pathlib import Path

from bench.corpus import KINDS, SEEDS, generate, normalise, queries, stats, write_corpus


def test_same_input_gives_identical_output() -> None:
    assert list(generate(40, seed=3)) == list(generate(40, seed=3))
    assert list(generate(40, seed=3)) != list(generate(40, seed=4))
    assert queries(30, seed=3, n_docs=40) == queries(30, seed=3, n_docs=40)


def test_smaller_corpus_is_a_prefix_of_a_larger_one() -> None:
    assert list(generate(30)) == list(generate(60))[:30]


def test_seeds_come_first_unchanged() -> None:
    docs = list(generate(8))
    seeds = sorted(SEEDS.glob("*.txt"))
    assert [k for k, _ in docs[:5]] == [p.stem for p in seeds]
    assert [t.encode("utf-8") for _, t in docs[:5]] == [p.read_bytes() for p in seeds]
    assert [k for k, _ in docs[5:]] == ["gen_000000", "gen_000001", "gen_000002"]
    assert [k for k, _ in generate(3)] == [p.stem for p in seeds[:3]]


def test_articles_look_like_the_seeds() -> None:
    s = stats(generate(205))
    assert 6 <= s["paragraphs_per_article"] <= 15
    assert 25 <= s["words_per_paragraph"] <= 80
    headline = next(t for k, t in generate(6) if k.startswith("gen_")).split("\n\n")[0]
    assert 6 <= len(headline.split()) <= 14


def test_vocabulary_grows_with_the_corpus() -> None:
    vocab: set[str] = set()
    for i, (_, text) in enumerate(generate(2000)):  # one pass: 500 docs is its prefix
        if i == 500:
            at_500 = len(vocab)
        vocab.update(normalise(text).split())
    assert len(vocab) > 1.5 * at_500


def test_write_corpus(tmp_path: Path) -> None:
    paths = write_corpus(12, tmp_path / "c")
    assert [p.name for p in paths][-1] == "gen_000006.txt"
    assert [(p.stem, p.read_text(encoding="utf-8")) for p in paths] == list(generate(12))


def test_queries_mix_all_kinds() -> None:
    qs = queries(60, n_docs=300)
    assert len(qs) == 60
    assert {kind for kind, _ in qs} == set(KINDS)
    assert all(q.strip() for _, q in qs)
    assert all(q.endswith("؟") for kind, q in qs if kind == "question")
    assert all(2 <= len(q.split()) <= 4 for kind, q in qs if kind == "several")
    assert len(queries(3, n_docs=300)) == 3


def test_query_words_occur_in_the_corpus() -> None:
    qs = queries(120, seed=1, n_docs=300)
    docs = list(generate(300, seed=1))
    text = "\n".join(t for _, t in docs)
    vocab = {w for _, t in docs for w in normalise(t).split()}
    names = [q for kind, q in qs if kind == "rare_name"]
    assert names and all(name in text for name in names)
    for kind, q in qs:
        if kind in ("one_word", "several"):
            assert set(q.split()) <= vocab, (kind, q)
        elif kind == "misspelling":
            assert len(q) >= 5
