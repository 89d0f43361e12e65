"""Ingest a corpus in a process of its own, to measure its time and peak memory.

usage: python -m bench.ingestproc {furat,fts5} DB FOLDER [FOLDER ...]

furat: Furat's ingest of the folders into DB (a new SQLite file, or a postgresql:// URL);
fts5: the baseline, raw FTS5 inserts of the same blank-line paragraphs of every .txt file
(headlines included) into a WAL file, one transaction per file.
Prints one JSON object: seconds (the ingest alone, after opening the database), peak_mib
(the process's peak RSS) and files.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sqlite3
import sys
import time
from pathlib import Path


def raw_fts5(files: list[Path], db: Path) -> float:
    """Insert every paragraph of the files into a new FTS5 table; return the seconds."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, tokenize='unicode61')")
    started = time.perf_counter()
    for f in files:
        paragraphs = [p for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        with conn:
            conn.executemany("INSERT INTO p (text) VALUES (?)", [(p,) for p in paragraphs])
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def furat(db: Path | str, folders: list[Path]) -> tuple[float, float]:
    """Ingest the folders with Furat, then bring its search index up to them (as
    `furat ingest` does); return the seconds of each."""
    from storage.backends import open_store

    async def run() -> tuple[float, float]:
        store = await open_store(db)
        try:
            started = time.perf_counter()
            report = await store.ingest(folders)
            ingested = time.perf_counter()
            status = await store.follow_index()
            indexed = time.perf_counter()
            assert report.files and report.count(report.files[0].outcome) >= 1
            assert status is not None and status.in_step
            return ingested - started, indexed - ingested
        finally:
            await store.close()

    return asyncio.run(run())


def main() -> None:
    """Run the ingest named on the command line and print its JSON."""
    engine, db = sys.argv[1], sys.argv[2]
    folders = [Path(f) for f in sys.argv[3:]]
    files = sorted(f for folder in folders for f in folder.glob("*.txt"))
    index_seconds = 0.0
    if engine == "furat":
        from storage.pg import is_postgres_url

        store_seconds, index_seconds = furat(db if is_postgres_url(db) else Path(db), folders)
        seconds = store_seconds + index_seconds
    elif engine == "fts5":
        seconds = raw_fts5(files, Path(db))
    else:
        sys.exit(f"unknown ingest {engine!r}: furat or fts5")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"engine": engine, "seconds": seconds, "index_seconds": index_seconds}
    print(json.dumps({**out, "peak_mib": peak, "files": len(files)}))


if __name__ == "__main__":
    main()
