"""Search quality on the judged set: Furat against SQLite FTS5 and Tantivy, same passages.

usage: python -m bench.eval [QUERIES.jsonl ...] [--copies N] [--write]

Each engine is judged on the seeds and on the seeds plus N near-copies from bench.copies
(default 500; 0 skips them). "questions@3" is success@3 over the shaped question kinds
(how_many, when, who, where, why), shown per kind as success@1/success@3; "near-copy pairs"
is the share of queries whose top ten holds two passages with near_duplicate true.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.copies import write_copies
from bench.judge import QUERIES, QUESTION_KINDS, Score, load_queries, rank_of
from bench.realtext import arcd_section
from bench.results import write_section
from search.analysis import light_stem
from storage.backends import open_store

ROOT = Path(__file__).resolve().parent.parent
_WORD_RE = re.compile(r"\w+")

COPIES = 500

Search = Callable[[str], list[str]]
DocSearch = Callable[[str], list[tuple[str, str]]]  # (document key, passage) results
NOTE = """The two Furat rows differ only in the stemmer of the stem column: light10 (Lucene
ArabicStemmer rules, the one the index uses) and Snowball Arabic (PyStemmer). The baselines
index the same passages Furat stores; they have no bridge from English to Arabic. The
near-copies are four loose rewrites of seed sentences to one near-verbatim reprint of a seed."""


def fts5_expression(query: str) -> str | None:
    """Return the baseline's FTS5 query: the query's words, each quoted, OR'ed."""
    words = _WORD_RE.findall(query)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words) if words else None


def fts5_baseline(passages: list[str]) -> Search:
    """Return stock FTS5 search: unicode61 over the raw text, words OR'ed, bm25."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, tokenize='unicode61')")
    conn.executemany("INSERT INTO p (text) VALUES (?)", [(t,) for t in passages])

    def search(query: str) -> list[str]:
        expr = fts5_expression(query)
        if expr is None:
            return []
        rows = conn.execute(
            "SELECT text FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 10", (expr,)
        ).fetchall()
        return [r[0] for r in rows]

    return search


def fts5_docs(rows: Iterable[tuple[str, str]], path: Path | None = None) -> DocSearch:
    """Return the same FTS5 search over (document key, text) rows: (key, text) results.

    path: a file for the index (built streaming, so that any size fits); None, in memory.
    """
    conn = sqlite3.connect(path or ":memory:")
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, doc UNINDEXED, tokenize='unicode61')")
    with conn:
        conn.executemany("INSERT INTO p (doc, text) VALUES (?, ?)", rows)

    def search(query: str) -> list[tuple[str, str]]:
        expr = fts5_expression(query)
        if expr is None:
            return []
        found = conn.execute(
            "SELECT doc, text FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 10", (expr,)
        ).fetchall()
        return [(doc, text) for doc, text in found]

    return search


def _tantivy_index(path: Path | None, doc_field: bool) -> Any:
    """Return an empty Tantivy index: the body through the Arabic Snowball stemmer."""
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("arabic"))
        .build()
    )
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=True, tokenizer_name="ar_stem")
    if doc_field:
        builder.add_text_field("doc", stored=True, tokenizer_name="raw")
    index = tantivy.Index(builder.build(), path=str(path) if path else None)
    index.register_tokenizer("ar_stem", analyzer)
    return index


def tantivy_baseline(passages: list[str]) -> Search:
    """Return Tantivy search with its Arabic Snowball stemmer."""
    import tantivy

    index = _tantivy_index(None, doc_field=False)
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


def tantivy_docs(rows: Iterable[tuple[str, str]], path: Path | None = None) -> DocSearch:
    """Return the same Tantivy search over (document key, text) rows: (key, text) results.

    path: an empty folder for the index (built streaming); None, in memory.
    """
    import tantivy

    index = _tantivy_index(path, doc_field=True)
    writer = index.writer(num_threads=1)  # the machine's other core is someone else's
    for doc, text in rows:
        writer.add_document(tantivy.Document(body=text, doc=doc))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def search(query: str) -> list[tuple[str, str]]:
        words = _WORD_RE.findall(query)
        if not words:
            return []
        parsed = index.parse_query(" ".join(words), ["body"])
        hits = searcher.search(parsed, 10).hits
        stored = [searcher.doc(addr) for _, addr in hits]
        return [(d["doc"][0], d["body"][0]) for d in stored]

    return search


def snowball_stem() -> Callable[[str], str]:
    """Return PyStemmer's Arabic Snowball stemmer as a token function."""
    import Stemmer

    stemmer = Stemmer.Stemmer("arabic")
    return stemmer.stemWord


def judge(search: Search, queries: list[dict[str, object]]) -> tuple[Score, float]:
    """Run every query, returning the score and the median milliseconds per query."""
    score, times = Score(), []
    for q in queries:
        started = time.perf_counter()
        passages = search(str(q["q"]))
        times.append((time.perf_counter() - started) * 1000)
        score.add(q, rank_of(q, passages), passages)
    return score, statistics.median(times)


def _kind_cell(score: Score, kind: str) -> str:
    if kind in QUESTION_KINDS:
        return f"{score.kind_at1(kind):.2f}/{score.kind_at3(kind):.2f}"
    return f"{score.kind_at1(kind):.2f}"


def table(rows: list[tuple[str, Score, float]], kinds: list[str]) -> str:
    """Render the comparison as a Markdown table (question kinds as success@1/success@3)."""
    head = (
        "| engine | success@1 | success@3 | MRR@10 | questions@3 | near-copy pairs | "
        + " | ".join(kinds)
        + " | median ms |"
    )
    sep = "|---" * (7 + len(kinds)) + "|"
    lines = [head, sep]
    for name, s, ms in rows:
        per_kind = " | ".join(_kind_cell(s, k) for k in kinds)
        lines.append(
            f"| {name} | {s.success_at_1:.3f} | {s.success_at_3:.3f} | {s.mrr:.3f} | "
            f"{s.questions_at3():.2f} | {s.near_copy_share:.0%} | {per_kind} | {ms:.2f} |"
        )
    return "\n".join(lines)


async def furat(
    db: Path, folders: list[Path], queries: list[dict[str, object]], stem: Callable[[str], str]
) -> tuple[Score, float, list[str]]:
    """Judge Furat on a store of the seeds and extra folders; return its passages too."""
    store = await open_store(db, seeds=ROOT / "seeds", stemmer=stem)
    try:
        if folders:
            await store.ingest(folders)
        score, times = Score(), []
        for q in queries:
            started = time.perf_counter()
            hits = await store.search(str(q["q"]), limit=10)
            times.append((time.perf_counter() - started) * 1000)
            passages = [h.passage for h in hits]
            score.add(q, rank_of(q, passages), passages)
        return score, statistics.median(times), await store.all_passages()
    finally:
        await store.close()


async def run(queries_path: Path, copies: int = COPIES) -> str:
    """Measure every engine on one query set, on the seeds and on the seeds plus copies."""
    queries = [q for q in load_queries(queries_path) if "any" in q]
    kinds = sorted({str(q["kind"]) for q in queries})
    sections = [f"{len(queries)} queries from `{queries_path.name}`"]
    with tempfile.TemporaryDirectory() as tmp:
        corpora: list[tuple[str, list[Path]]] = [("seeds", [])]
        if copies:
            folder = Path(tmp) / "copies"
            write_copies(copies, folder)
            corpora.append((f"seeds + {copies} near-copies (`bench.copies`)", [folder]))
        for label, folders in corpora:
            rows: list[tuple[str, Score, float]] = []
            passages: list[str] = []
            for name, stem in (
                ("Furat (light10)", light_stem),
                ("Furat (Snowball)", snowball_stem()),
            ):
                db = Path(tmp) / f"{len(sections)}-{len(rows)}.db"
                score, ms, passages = await furat(db, folders, queries, stem)
                rows.append((name, score, ms))
            rows.append(
                ("SQLite FTS5 unicode61 (OR, bm25)", *judge(fts5_baseline(passages), queries))
            )
            rows.append(("Tantivy (Arabic Snowball)", *judge(tantivy_baseline(passages), queries)))
            sections.append(f"On the {label}, {len(passages)} passages:\n\n" + table(rows, kinds))
    return "\n\n".join(sections)


def main() -> None:
    """Print the comparison; with --write, also store it in bench/RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("queries", nargs="*", type=Path, default=[QUERIES])
    parser.add_argument("--copies", type=int, default=COPIES)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    report = "\n\n".join(asyncio.run(run(path, args.copies)) for path in args.queries)
    report += "\n\n" + arcd_section()
    print(report)
    if args.write:
        write_section(
            "quality", f"## Search quality (python -m bench.eval --write)\n\n{report}\n\n{NOTE}"
        )


if __name__ == "__main__":
    main()
