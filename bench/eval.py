"""Search quality on the judged set: Furat against SQLite FTS5 and Tantivy, same passages.

usage: python -m bench.eval [QUERIES.jsonl ...] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.judge import QUERIES, Score, load_queries, rank_of
from bench.results import write_section
from storage.analysis import light_stem
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
_WORD_RE = re.compile(r"\w+")

Search = Callable[[str], list[str]]
NOTE = """The two Furat rows differ only in the stemmer of the stem column: light10 (Lucene
ArabicStemmer rules, the one the index uses) and Snowball Arabic (PyStemmer). The baselines
index the same passages Furat stores; they have no bridge from English to Arabic."""


def fts5_baseline(passages: list[str]) -> Search:
    """Return stock FTS5 search: unicode61 over the raw text, words OR'ed, bm25."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, tokenize='unicode61')")
    conn.executemany("INSERT INTO p (text) VALUES (?)", [(t,) for t in passages])

    def search(query: str) -> list[str]:
        words = _WORD_RE.findall(query)
        if not words:
            return []
        expr = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = conn.execute(
            "SELECT text FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 10", (expr,)
        ).fetchall()
        return [r[0] for r in rows]

    return search


def tantivy_baseline(passages: list[str]) -> Search:
    """Return Tantivy search with its Arabic Snowball stemmer."""
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("arabic"))
        .build()
    )
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=True, tokenizer_name="ar_stem")
    index = tantivy.Index(builder.build())
    index.register_tokenizer("ar_stem", analyzer)
    writer = index.writer()
    for text in passages:
        writer.add_document(tantivy.Document(body=text))
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def search(query: str) -> list[str]:
        words = _WORD_RE.findall(query)
        if not words:
            return []
        parsed = index.parse_query(" ".join(words), ["body"])
        hits = searcher.search(parsed, 10).hits
        return [searcher.doc(addr)["body"][0] for _, addr in hits]

    return search


def snowball_stem() -> Callable[[str], str]:
    """Return PyStemmer's Arabic Snowball stemmer as a token function."""
    import Stemmer

    stemmer = Stemmer.Stemmer("arabic")
    return stemmer.stemWord  # type: ignore[no-any-return]


def judge(search: Search, queries: list[dict[str, object]]) -> tuple[Score, float]:
    """Run every query, returning the score and the median milliseconds per query."""
    score, times = Score(), []
    for q in queries:
        started = time.perf_counter()
        passages = search(str(q["q"]))
        times.append((time.perf_counter() - started) * 1000)
        score.add(q, rank_of(q, passages))
    return score, statistics.median(times)


def table(rows: list[tuple[str, Score, float]], kinds: list[str]) -> str:
    """Render the comparison as a Markdown table."""
    head = "| engine | success@1 | success@3 | MRR@10 | " + " | ".join(kinds) + " | median ms |"
    sep = "|---" * (5 + len(kinds)) + "|"
    lines = [head, sep]
    for name, s, ms in rows:
        per_kind = " | ".join(f"{s.kind_at1(k):.2f}" for k in kinds)
        lines.append(
            f"| {name} | {s.success_at_1:.3f} | {s.success_at_3:.3f} | {s.mrr:.3f} | "
            f"{per_kind} | {ms:.2f} |"
        )
    return "\n".join(lines)


async def run(queries_path: Path) -> str:
    """Measure every engine on one query set and return the table."""
    queries = [q for q in load_queries(queries_path) if "any" in q]
    rows: list[tuple[str, Score, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        passages: list[str] = []
        for name, stem in (("Furat (light10)", light_stem), ("Furat (Snowball)", snowball_stem())):
            store = await Store.open(
                Path(tmp) / f"{len(rows)}.db", seeds=ROOT / "seeds", stemmer=stem
            )
            try:
                score, times = Score(), []
                for q in queries:
                    started = time.perf_counter()
                    hits = await store.search(str(q["q"]), limit=10)
                    times.append((time.perf_counter() - started) * 1000)
                    score.add(q, rank_of(q, [h.passage for h in hits]))
                rows.append((name, score, statistics.median(times)))
                passages = await store.all_passages()
            finally:
                await store.close()
    rows.append(("SQLite FTS5 unicode61 (OR, bm25)", *judge(fts5_baseline(passages), queries)))
    rows.append(("Tantivy (Arabic Snowball)", *judge(tantivy_baseline(passages), queries)))
    kinds = sorted({str(q["kind"]) for q in queries})
    return f"{len(queries)} queries from `{queries_path.name}`\n\n" + table(rows, kinds)


def main() -> None:
    """Print the comparison; with --write, also store it in bench/RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("queries", nargs="*", type=Path, default=[QUERIES])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    report = "\n\n".join(asyncio.run(run(path)) for path in args.queries)
    print(report)
    if args.write:
        write_section(
            "quality", f"## Search quality (python -m bench.eval --write)\n\n{report}\n\n{NOTE}"
        )


if __name__ == "__main__":
    main()
