"""A small run of `python -m bench`: the command works and its JSON has every key."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.openloop import openloop
from storage.backends import open_store
from tests.conftest import ROOT, SEEDS

KEYS = {
    "ingest_mb_s",
    "ingest_ratio_vs_fts5",
    "search_p50_ms",
    "search_p99_ms",
    "search_p50_ratio_vs_fts5",
    "search_p50_ratio_vs_tantivy",
    "success_at_1",
    "updates_per_s_inproc",
    "updates_per_s_http",
    "reply_p99_ms_http",
    "reply_p50_ms_at_50",
    "reply_p99_ms_at_50",
    "updates_per_s_1_replica",
    "updates_per_s_2_replicas",
    "match_s_100k_subs",
    "fanout_msgs_s",
    "pacing_error_pct",
    "max_loop_stall_ms",
    "loop_stall_idle_ms",
    "success_at_1_ratio_vs_best_baseline",
    "feeds_first_poll_s",
    "feeds_304_poll_s",
    "feeds_peak_mib",
}


PG_KEYS = {
    "pg_ingest_mb_s",
    "pg_search_p50_ms",
    "pg_search_p99_ms",
    "pg_success_at_1",
    "pg_updates_per_s_inproc",
    "pg_updates_per_s_http",
    "pg_reply_p50_ms_at_50",
    "pg_reply_p99_ms_at_50",
    "pg_updates_per_s_1_replica",
    "pg_updates_per_s_2_replicas",
    "pg_match_s_100k_subs",
    "pg_fanout_msgs_s",
}
# A small run of every phase: minutes at the defaults, seconds here.
SMALL = [
    *("--docs", "1000", "--subs", "2000", "--new-docs", "50", "--queries", "200"),
    *("--pushes", "60", "--updates", "100", "--openloop-seconds", "1"),
    *("--stall-users", "5", "--stall-chars", "300", "--stall-mb", "0.5"),
    *("--feeds", "5", "--feed-entries", "4", "--json"),
]


def run_bench(results: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a small `python -m bench --json`; return its figures."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *SMALL, "--results", str(results), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics: dict[str, Any] = json.loads(proc.stdout)
    return metrics


def test_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    metrics = run_bench(results)
    assert set(metrics) >= KEYS
    assert not {k for k in metrics if k.startswith("pg_")}  # SQLite alone by default
    for key in KEYS:
        assert isinstance(metrics[key], int | float) and metrics[key] >= 0, key
    assert metrics["success_at_1"] > 0.5
    assert (metrics["feeds_new_articles"], metrics["feeds_not_modified"]) == (20, 5)
    for baseline in ("success_at_1_fts5", "success_at_1_tantivy"):
        assert 0 <= metrics[baseline] <= 1, baseline
    assert metrics["loop_stall_answers"] == 5 * 7  # every hostile input was answered
    table = results.read_text(encoding="utf-8")
    assert "## Benchmarks at 1,000 documents" in table and "max event-loop stall" in table


def test_bench_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    results = tmp_path / "RESULTS.md"
    env = {**os.environ, "FURAT_BENCH_PG": pg_url}
    metrics = run_bench(results, "--backend", "postgresql", env=env)
    assert set(metrics) >= PG_KEYS
    for key in PG_KEYS:
        value = metrics[key]
        assert isinstance(value, int | float) and value > 0, key
    assert isinstance(metrics["pg_success_at_1"], float) and metrics["pg_success_at_1"] > 0.5
    # The SQLite phases did not run: their keys are absent, their column empty.
    assert "search_p99_ms" not in metrics
    table = results.read_text(encoding="utf-8")
    assert "| measure | SQLite | PostgreSQL |" in table and "| search p99 ms" in table
    assert "## Benchmarks at" not in table


def test_open_loop_answers_every_update_once(tmp_path: Path) -> None:
    db = tmp_path / "seeds.db"

    async def build() -> None:
        store = await open_store(db, seeds=SEEDS)
        await store.close()

    asyncio.run(build())
    m = openloop(db, n_docs=1000, rate=10, seconds=2, n_throughput=30)
    assert (m["openloop_sent"], m["openloop_answered"], m["openloop_extra_replies"]) == (20, 20, 0)
    # Warm-ups (4 per replica) and two closed-loop runs of 30, besides the 20 above.
    assert m["updates_sent"] == 20 + 4 + 30 + 8 + 30
    assert (m["updates_unanswered"], m["updates_extra_replies"]) == (0, 0)
    for key in (
        "reply_p50_ms_at_50",
        "reply_p99_ms_at_50",
        "updates_per_s_1_replica",
        "updates_per_s_2_replicas",
    ):
        assert isinstance(m[key], float) and m[key] > 0, key
    assert m["reply_p50_ms_at_50"] <= m["reply_p99_ms_at_50"]


# --- real text: the sentence recombiner, the query kinds and the per-kind table ----------
# A tiny stand-in for SaudiNewsNet, made here: the tests never read ../shared.
FAKE_ARTICLES = [
    {
        "source": "sabq",
        "url": f"https://example.org/{i}",
        "date_extracted": "2015-07-21 10:00:00",
        "title": f"عنوان الخبر رقم {i} عن المدينة",
        "author": "",
        "content": "\n".join(
            " ".join(
                f"قال المتحدث {i} إن الجلسة {j} ناقشت الموضوع {k} بالتفصيل."
                for k in range(1 + (i + j) % 3)
            )
            for j in range(1 + i % 4)
        )
        + "\nوأضاف أن الاجتماع المقبل سيعقد في الرياض بعد أسبوعين من الآن. وأكد أن اللجان"
        " المختصة ستواصل عملها خلال الفترة المقبلة لإنجاز المشروعات المتأخرة في المنطقة.",
    }
    for i in range(8)
]


def fake_zips(folder: Path, articles: list[dict[str, str]] | None = None) -> Path:
    """Write a SaudiNewsNet-like zip (one JSON array) into folder; return folder."""
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    arts = FAKE_ARTICLES if articles is None else articles
    with zipfile.ZipFile(folder / "2015-07-21.zip", "w") as zf:
        zf.writestr("2015-07-21.json", json.dumps(arts, ensure_ascii=False))
    return folder


def test_sentence_pool_keeps_articles_as_news_corpus_does(tmp_path: Path) -> None:
    from bench.sentences import load_pool

    short = {**FAKE_ARTICLES[0], "title": "قصير", "content": "جملة قصيرة جدا."}
    untitled = {**FAKE_ARTICLES[1], "title": " "}
    articles = [*FAKE_ARTICLES, FAKE_ARTICLES[2], short, untitled]  # a repeat, too short, none
    pool = load_pool(fake_zips(tmp_path / "snn", articles))
    assert pool.headlines == [a["title"] for a in FAKE_ARTICLES]
    assert len(pool.lengths) == len(FAKE_ARTICLES) and sum(pool.lengths) == len(pool.sentences)
    assert "وأضاف أن الاجتماع المقبل سيعقد في الرياض بعد أسبوعين من الآن." in pool.sentences
    assert set(pool.paragraph_sizes) <= {1, 2, 3, 4}
    with pytest.raises(FileNotFoundError):
        load_pool(tmp_path / "nothing")


def test_sentence_corpus_is_deterministic_prefix_stable_and_well_formed(tmp_path: Path) -> None:
    from bench.corpus import PUNCT
    from bench.sentences import article, load_pool, split_sentences, write_sentences

    pool = load_pool(fake_zips(tmp_path / "snn"))
    small, big, again = tmp_path / "small", tmp_path / "big", tmp_path / "again"
    assert write_sentences(5, small, seed=3, pool=pool)[0] == 5
    files, size = write_sentences(40, big, seed=3, pool=pool)
    write_sentences(40, again, seed=3, pool=pool)
    names = sorted(p.name for p in big.iterdir())
    assert files == 40 and names[0] == "snt_0000000.txt" and names[-1] == "snt_0000039.txt"
    assert size == sum(p.stat().st_size for p in big.iterdir())
    assert all((big / n).read_bytes() == (again / n).read_bytes() for n in names)
    assert (big / names[17]).read_text(encoding="utf-8") == article(pool, 3, 17)  # by (seed, g)
    assert all((small / n).read_bytes() == (big / n).read_bytes() for n in sorted(small.iterdir()))
    write_sentences(5, other := tmp_path / "other", seed=4, pool=pool)
    assert any((other / n).read_bytes() != (small / n).read_bytes() for n in names[:5])

    sentences = set(pool.sentences)
    cut_headlines = 0
    for name in names:
        text = (big / name).read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n")
        headline, *paragraphs = text[:-1].split("\n\n")
        assert headline and "\n" not in headline and paragraphs
        if headline not in pool.headlines:  # a real sentence cut short, punctuation trimmed
            cut_headlines += 1
            assert any(s.startswith(headline) for s in sentences), headline
            assert headline[-1] not in PUNCT
        n = 0
        for paragraph in paragraphs:
            parts = split_sentences(paragraph)
            assert 1 <= len(parts) <= 4 and set(parts) <= sentences, paragraph
            n += len(parts)
        assert n in pool.lengths
    assert 0 < cut_headlines < len(names)


def test_sentences_without_the_dataset_say_so(tmp_path: Path) -> None:
    import argparse

    from bench.realbench import corpus

    args = argparse.Namespace(real=None, sentences=True, docs=10, snn=tmp_path / "absent")
    with pytest.raises(SystemExit, match="synthetic"):
        corpus(args, tmp_path / "corpus")


def test_percentiles_by_kind() -> None:
    from bench.realbench import percentiles

    kinds = ["words", "headline", "words", "headline", "zeta", "words"]
    table = percentiles(kinds, [3.0, 10.0, 1.0, 20.0, 7.0, 2.0])
    assert list(table) == ["headline", "words", "zeta", "all"]  # known kinds first, then all
    assert table["words"] == {"n": 3, "p50": 2.0, "p95": 3.0, "p99": 3.0}
    assert table["headline"]["n"] == 2 and table["headline"]["p99"] == 20.0
    assert table["all"] == {"n": 6, "p50": 3.0, "p95": 20.0, "p99": 20.0}
    assert percentiles([], []) == {}
    big = percentiles(["one_word"] * 100, [float(i) for i in range(100)])["one_word"]
    assert (big["p50"], big["p95"], big["p99"]) == (50.0, 94.0, 98.0)


def test_real_queries_by_kind_and_their_judge(tmp_path: Path) -> None:
    from bench.realbench import KINDS, Query, correct, latency_table, make_queries, read_article

    folder = tmp_path / "news"
    folder.mkdir()
    for i, a in enumerate(FAKE_ARTICLES):
        body = "\n\n".join(a["content"].split("\n"))
        (folder / f"{i:05d}_sabq.txt").write_text(f"{a['title']}\n\n{body}\n", encoding="utf-8")
    arcd = [("ما هي عاصمة المملكة؟", ["الرياض"])]
    queries = make_queries(folder, 50, seed=1, arcd=arcd)
    assert queries == make_queries(folder, 50, seed=1, arcd=arcd)
    assert {q.kind for q in queries} == {*KINDS, "arcd"}
    assert all(sum(q.kind == k for q in queries) == 10 for k in (*KINDS, "arcd"))
    for q in queries:
        if q.kind == "arcd":
            assert q.answers == ("الرياض",)
            continue
        headline, paragraphs = read_article(folder / f"{q.doc}.txt")
        if q.kind == "headline":
            assert q.q == headline
        elif q.kind == "phrase":
            assert 3 <= len(q.q.split()) <= 6 and any(q.q in p for p in paragraphs)
        else:
            words = q.q.split()
            assert len(words) == (1 if q.kind == "one_word" else len(set(words)))
            assert all(any(w in p for p in paragraphs) for w in words)

    titles = {"a": "عنوان الخبر", "b": "عنوان الخبر", "c": "خبر آخر"}
    head = Query("headline", "عنوان الخبر", doc="a")
    assert correct(head, ["a", "نص", []], titles.__getitem__)
    assert correct(head, ["b", "نص", []], titles.__getitem__)  # a reprint: the same headline
    assert correct(head, ["c", "نص", ["x", "a"]], titles.__getitem__)  # folded near-copy
    assert not correct(head, ["c", "عنوان الخبر", []], titles.__getitem__)
    assert not correct(head, None, titles.__getitem__)
    phrase = Query("phrase", "الجلسة الأولى ناقشت", doc="a")
    assert correct(phrase, ["c", "وقال إن الجلسةَ الأولى، ناقشت الموضوع", []], titles.get)
    assert not correct(phrase, ["c", "الجلسة ناقشت الأولى", []], titles.get)
    question = Query("arcd", "ما هي عاصمة المملكة؟", answers=("الرياض",))
    assert correct(question, ["c", "العاصمة هي الرياض.", []], titles.get)
    assert not correct(question, ["a", "العاصمة جدة.", []], titles.get)

    lat = {"headline": {"n": 2, "p50": 1.0, "p95": 2.0, "p99": 3.0}}
    search = {
        e: {"latency": {**lat, "all": lat["headline"]}, "success_at_1": {"headline": 0.5}}
        for e in ("furat", "tantivy", "fts5")
    }
    search["furat"]["latency"] = {**lat, "words": lat["headline"], "all": lat["headline"]}
    lines = latency_table(search)
    assert len(lines) == 2 + 3 and lines[2].endswith("| 0.500 / 0.500 / 0.500 |")
    assert lines[2].count("1.00 / 2.00 / 3.00") == 3
    assert lines[3].startswith("| words |") and lines[3].count("—") == 3  # no baselines, no @1
    assert lines[4].startswith("| **all** | 2 |")
