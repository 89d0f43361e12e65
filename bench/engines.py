"""Run one search engine over a query file in its own process, to measure its peak memory.

usage: python -m bench.engines {furat,fts5,tantivy} DB QUERIES.txt [JUDGED.txt]
DB: a SQLite file, or (furat only) a postgresql:// URL.
Prints one JSON object: latencies in ms, peak RSS in MiB, the passages of each query, and
(untimed, after the rest) the passages of each judged query.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import sys
import time
from pathlib import Path

from bench.eval import fts5_baseline, tantivy_baseline
from storage.backends import open_store
from storage.pg import is_postgres_url


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _furat(
    db: Path | str, queries: list[str], judged: list[str]
) -> tuple[list[float], list[list[str]], list[list[str]]]:
    store = await open_store(db)
    try:
        await store.search("تحميل")  # load the vocabulary before timing
        times, results = [], []
        for q in queries:
            started = time.perf_counter()
            hits = await store.search(q, limit=10)
            times.append((time.perf_counter() - started) * 1000)
            results.append([h.passage for h in hits])
        answers = [[h.passage for h in await store.search(q, limit=10)] for q in judged]
        return times, results, answers
    finally:
        await store.close()


def _passages(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM passages ORDER BY id")]


def run(engine: str, db: Path | str, queries: list[str], judged: list[str]) -> dict[str, object]:
    """Return latencies, peak memory and results of one engine."""
    if engine == "furat":
        times, results, answers = asyncio.run(_furat(db, queries, judged))
    else:
        assert isinstance(db, Path), "the baselines read the passages of a SQLite file"
        search = (fts5_baseline if engine == "fts5" else tantivy_baseline)(_passages(db))
        times, results = [], []
        for q in queries:
            started = time.perf_counter()
            results.append(search(q))
            times.append((time.perf_counter() - started) * 1000)
        answers = [search(q) for q in judged]
    return {
        "engine": engine,
        "times_ms": times,
        "peak_mib": _peak_mib(),
        "results": results,
        "judged": answers,
    }


def main() -> None:
    """Run the engine named on the command line and print its JSON."""
    engine, query_file = sys.argv[1], Path(sys.argv[3])
    db = sys.argv[2] if is_postgres_url(sys.argv[2]) else Path(sys.argv[2])
    queries = query_file.read_text(encoding="utf-8").splitlines()
    judged = Path(sys.argv[4]).read_text(encoding="utf-8").splitlines() if sys.argv[4:] else []
    print(json.dumps(run(engine, db, queries, judged), ensure_ascii=False))


if __name__ == "__main__":
    main()
