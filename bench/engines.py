"""Run one search engine over a query file in its own process, to measure its peak memory.

usage: python -m bench.engines {furat,fts5,tantivy} DB QUERIES.txt
Prints one JSON object: latencies in ms, peak RSS in MiB, and the passages of each query.
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
from storage.store import Store


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _furat(db: Path, queries: list[str]) -> tuple[list[float], list[list[str]]]:
    store = await Store.open(db)
    try:
        await store.search("تحميل")  # load the vocabulary before timing
        times, results = [], []
        for q in queries:
            started = time.perf_counter()
            hits = await store.search(q, limit=10)
            times.append((time.perf_counter() - started) * 1000)
            results.append([h.passage for h in hits])
        return times, results
    finally:
        await store.close()


def _passages(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT text FROM passages ORDER BY id")]


def run(engine: str, db: Path, queries: list[str]) -> dict[str, object]:
    """Return latencies, peak memory and results of one engine."""
    if engine == "furat":
        times, results = asyncio.run(_furat(db, queries))
    else:
        search = (fts5_baseline if engine == "fts5" else tantivy_baseline)(_passages(db))
        times, results = [], []
        for q in queries:
            started = time.perf_counter()
            results.append(search(q))
            times.append((time.perf_counter() - started) * 1000)
    return {"engine": engine, "times_ms": times, "peak_mib": _peak_mib(), "results": results}


def main() -> None:
    """Run the engine named on the command line and print its JSON."""
    engine, db, query_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    queries = query_file.read_text(encoding="utf-8").splitlines()
    print(json.dumps(run(engine, db, queries), ensure_ascii=False))


if __name__ == "__main__":
    main()
