"""Run one search engine over a query file in its own process, to measure its peak memory.

usage: python -m bench.engines {furat,fts5,tantivy} DB QUERIES.txt [JUDGED.txt]
                               [--docs] [--index DIR]
DB: a SQLite file, or (furat only) a postgresql:// URL.
Prints one JSON object: latencies in ms, peak RSS in MiB, the passages of each query, and
(untimed, after the rest) the passages of each judged query.

With --docs each result is [document key, passage, keys of its folded near-copies] (the
baselines fold none), Furat loads its vocabulary and lookup indexes first as the bot does
at start-up (`warm_up`), and the baselines index every headline besides the passages (as a
passage of its own), reading them streamed from DB into an index in DIR (a file for FTS5, a
folder for Tantivy; in memory without --index), whose size in bytes the JSON gives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from bench.eval import fts5_baseline, fts5_docs, tantivy_baseline, tantivy_docs
from storage.backends import open_store
from storage.pg import is_postgres_url

Result = list[object]  # [key, passage, [near-copy keys]] with --docs, else the passage


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _furat(
    db: Path | str, queries: list[str], judged: list[str], docs: bool
) -> tuple[list[float], list[list[object]], list[list[str]]]:
    store = await open_store(db)
    try:
        if docs:
            await store.warm_up()
        await store.search("تحميل")  # load the vocabulary before timing
        times: list[float] = []
        results: list[list[object]] = []
        for q in queries:
            started = time.perf_counter()
            hits = await store.search(q, limit=10)
            times.append((time.perf_counter() - started) * 1000)
            if docs:
                results.append([[h.doc, h.passage, [c.doc for c in h.copies]] for h in hits])
            else:
                results.append([h.passage for h in hits])
        answers = [[h.passage for h in await store.search(q, limit=10)] for q in judged]
        return times, results, answers
    finally:
        await store.close()


def _passages(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM passages ORDER BY id")]


def _rows(db: Path) -> Iterator[tuple[str, str]]:
    """Yield (document key, text) of every headline, then of every passage, streamed."""
    conn = sqlite3.connect(db)
    try:
        yield from conn.execute("SELECT key, title FROM documents ORDER BY id")
        yield from conn.execute(
            "SELECT d.key, p.text FROM passages p JOIN documents d ON d.id = p.document_id"
            " ORDER BY p.id"
        )
    finally:
        conn.close()


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


def run(
    engine: str,
    db: Path | str,
    queries: list[str],
    judged: list[str],
    docs: bool = False,
    index: Path | None = None,
) -> dict[str, object]:
    """Return latencies, peak memory and results of one engine."""
    out: dict[str, object] = {"engine": engine}
    times: list[float] = []
    results: list[list[object]] = []
    if engine == "furat":
        times, results, answers = asyncio.run(_furat(db, queries, judged, docs))
    elif docs:
        assert isinstance(db, Path), "the baselines read the passages of a SQLite file"
        where = None
        if index is not None:
            index.mkdir(parents=True, exist_ok=True)
            where = index / "fts5.db" if engine == "fts5" else index / "tantivy"
            if engine == "tantivy":
                where.mkdir()
        started = time.perf_counter()
        by_doc = (fts5_docs if engine == "fts5" else tantivy_docs)(_rows(db), where)
        out["build_s"] = time.perf_counter() - started
        out["index_bytes"] = _size(where) if where else 0
        for q in queries:
            started = time.perf_counter()
            found = by_doc(q)
            times.append((time.perf_counter() - started) * 1000)
            results.append([[key, text, []] for key, text in found])
        answers = [[text for _, text in by_doc(q)] for q in judged]
    else:
        assert isinstance(db, Path), "the baselines read the passages of a SQLite file"
        search = (fts5_baseline if engine == "fts5" else tantivy_baseline)(_passages(db))
        for q in queries:
            started = time.perf_counter()
            results.append(list(search(q)))
            times.append((time.perf_counter() - started) * 1000)
        answers = [search(q) for q in judged]
    out.update(times_ms=times, peak_mib=_peak_mib(), results=results, judged=answers)
    return out


def main() -> None:
    """Run the engine named on the command line and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.engines")
    parser.add_argument("engine", choices=("furat", "fts5", "tantivy"))
    parser.add_argument("db")
    parser.add_argument("queries", type=Path)
    parser.add_argument("judged", type=Path, nargs="?")
    parser.add_argument("--docs", action="store_true", help="results with document keys")
    parser.add_argument("--index", type=Path, help="folder for the baselines' index files")
    args = parser.parse_args()
    db = args.db if is_postgres_url(args.db) else Path(args.db)
    queries = args.queries.read_text(encoding="utf-8").splitlines()
    judged = args.judged.read_text(encoding="utf-8").splitlines() if args.judged else []
    result = run(args.engine, db, queries, judged, args.docs, args.index)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
