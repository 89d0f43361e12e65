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


def furat(db: Path | str, folders: list[Path]) -> float:
    """Ingest the folders with Furat; return the seconds."""
    from storage.store import Store

    async def run() -> float:
        store = await Store.open(db)
        try:
            started = time.perf_counter()
            report = await store.ingest(folders)
            elapsed = time.perf_counter() - started
            assert report.files and report.count(report.files[0].outcome) >= 1
            return elapsed
        finally:
            await store.close()

    return asyncio.run(run())


def main() -> None:
    """Run the ingest named on the command line and print its JSON."""
    engine, db = sys.argv[1], sys.argv[2]
    folders = [Path(f) for f in sys.argv[3:]]
    files = sorted(f for folder in folders for f in folder.glob("*.txt"))
    if engine == "furat":
        from storage.pg import is_postgres_url

        seconds = furat(db if is_postgres_url(db) else Path(db), folders)
    elif engine == "fts5":
        seconds = raw_fts5(files, Path(db))
    else:
        sys.exit(f"unknown ingest {engine!r}: furat or fts5")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": engine, "seconds": seconds, "peak_mib": peak, "files": len(files)}))


if __name__ == "__main__":
    main()
