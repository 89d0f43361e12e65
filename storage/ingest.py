"""Ingestion: article files cleaned, analysed and written with their term counts."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from storage.analysis import tokens
from storage.cleaning import CleanArticle, clean_article
from storage.files import BadFile, decode_article, iter_article_files, read_files
from storage.models import FileResult, IngestReport, Outcome
from storage.query import Stemmer
from storage.timestamps import iso
from storage.vocabulary import TermCounts

# Documents written per transaction: fewer commits, fewer FTS5 segments to merge.
INGEST_BATCH = 256


def _now() -> str:
    return iso(datetime.now(UTC))


@dataclass(frozen=True)
class _Analysed:
    """A file cleaned and analysed, waiting to be written; `slot` is its place in the report."""

    slot: int
    key: str
    source_path: str
    digest: str
    article: CleanArticle
    title_terms: str
    passages: list[tuple[int, str, int, str, str]]
    # JSON encoded while the previous batch is being written; the ids are spliced in later.
    document_json: str  # [source_path, sha256, title, outlet, body, title_terms, key]
    passages_json: list[str]  # each passage's [ordinal, text, offset, surface, stem]


def _with_id(row_id: int, array: str) -> str:
    """Put row_id first in a JSON array."""
    return f"[{row_id},{array[1:]}"



def _added_counts(batch: list[_Analysed]) -> TermCounts:
    """Count the terms of the passages a batch adds."""
    counts = TermCounts()
    counts.add((surface, stem) for doc in batch for *_, surface, stem in doc.passages)
    return counts



class IngestStore:
    """The ingest side of the Store (mixed into it; shares its connection)."""

    _conn: aiosqlite.Connection
    _stem: Stemmer
    _doc_changes: int
    _transaction: Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]]

    async def ingest(self, paths: Iterable[Path], record_unchanged: bool = True) -> IngestReport:
        """Ingest .txt files and folders; each file lands or fails on its own."""
        rows = await self._conn.execute_fetchall("SELECT key, sha256 FROM documents")
        known = {key: digest for key, digest in rows}
        results: list[FileResult] = []
        batch: list[_Analysed] = []
        writing: asyncio.Task[None] | None = None
        async for path, raw in read_files(iter_article_files(paths)):
            try:
                if isinstance(raw, OSError):
                    raise raw
                digest = hashlib.sha256(raw).hexdigest()
                if known.get(path.stem) == digest:
                    results.append(FileResult(str(path), Outcome.UNCHANGED, key=path.stem))
                    continue
                # Analysing in this thread overlaps the previous batch's writes in SQLite's.
                batch.append(self._analyse(path, raw, digest, len(results)))
                results.append(FileResult(str(path), Outcome.ADDED, key=path.stem))
            except (BadFile, OSError) as exc:
                reason = str(exc) if isinstance(exc, BadFile) else exc.strerror or str(exc)
                results.append(FileResult(str(path), Outcome.FAILED, path.stem, reason))
            if len(batch) >= INGEST_BATCH:
                counts = _added_counts(batch)  # while the previous batch is being written
                if writing:
                    await writing
                writing = asyncio.create_task(self._write_documents(batch, counts, results))
                batch = []
        if writing:
            await writing
        if batch:
            await self._write_documents(batch, _added_counts(batch), results)
        report = IngestReport(tuple(results))
        if not record_unchanged and report.count(Outcome.UNCHANGED) == len(results):
            return report
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO ingest_runs (finished_at, added, updated, unchanged, failed)"
                " VALUES (?, ?, ?, ?, ?)",
                (_now(), *(report.count(o) for o in Outcome)),
            )
        return report

    def _analyse(self, path: Path, raw: bytes, digest: str, slot: int) -> _Analysed:
        """Clean and analyse one file's bytes; raise BadFile if unusable."""
        article = clean_article(decode_article(raw))
        if not article.passages:
            raise BadFile("no article text left after removing page furniture")
        passages = []
        for p in article.passages:
            toks = tokens(p.text)
            passages.append(
                (p.ordinal, p.text, p.offset, " ".join(toks), " ".join(map(self._stem, toks)))
            )
        source, title_terms = str(path), " ".join(tokens(article.title))
        document = (source, digest, article.title, article.outlet, article.text, title_terms)
        return _Analysed(
            slot,
            path.stem,
            source,
            digest,
            article,
            title_terms,
            passages,
            json.dumps([*document, path.stem], ensure_ascii=False),
            [json.dumps(p, ensure_ascii=False) for p in passages],
        )

    async def _write_documents(
        self, batch: list[_Analysed], counts: TermCounts, results: list[FileResult]
    ) -> None:
        """Add or replace analysed documents in one transaction; record each outcome."""
        async with self._transaction() as conn:
            found = await conn.execute_fetchall(
                f"SELECT key, id FROM documents WHERE key IN ({','.join('?' * len(batch))})",
                [doc.key for doc in batch],
            )
            existing: dict[str, int] = {key: doc_id for key, doc_id in found}
            # Ids are chosen here (no other writer runs inside this transaction), so the whole
            # batch takes a few statements: each one waits for the busy event loop.
            top = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM documents")
            next_id = int(next(iter(top))[0]) + 1
            now = _now()
            added: list[str] = []
            passages: list[str] = []
            for doc in batch:
                doc_id = existing.get(doc.key)
                if doc_id is None:
                    existing[doc.key] = doc_id = next_id
                    next_id += 1
                    added.append(_with_id(doc_id, doc.document_json))
                else:
                    if added or passages:  # the document may be one this batch adds
                        await self._insert_rows(conn, added, passages, now)
                    await self._delete_passages(conn, doc_id, counts)
                    article = doc.article
                    await conn.execute(
                        "UPDATE documents SET source_path = ?, sha256 = ?, title = ?, outlet = ?,"
                        " body = ?, title_terms = ?, ingested_at = ? WHERE id = ?",
                        (
                            doc.source_path,
                            doc.digest,
                            article.title,
                            article.outlet,
                            article.text,
                            doc.title_terms,
                            now,
                            doc_id,
                        ),
                    )
                    results[doc.slot] = replace(results[doc.slot], outcome=Outcome.UPDATED)
                passages += [_with_id(doc_id, p) for p in doc.passages_json]
            await self._insert_rows(conn, added, passages, now)
            await self._save_counts(conn, counts)
        self._doc_changes += 1

    @staticmethod
    async def _insert_rows(
        conn: aiosqlite.Connection, documents: list[str], passages: list[str], now: str
    ) -> None:
        """Insert the documents and passages (JSON arrays) gathered so far; empty the lists."""
        # One statement per table reading a JSON array: SQLite indexes the whole batch in one
        # call that releases the GIL, while this thread analyses the next batch. Row by row,
        # the two threads would hand the GIL back and forth for every passage.
        await conn.execute(
            "INSERT INTO documents (id, source_path, sha256, title, outlet, body, title_terms,"
            " ingested_at, key) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3,"
            " value ->> 4, value ->> 5, value ->> 6, ?, value ->> 7 FROM json_each(?)",
            (now, f"[{','.join(documents)}]"),
        )
        await conn.execute(
            'INSERT INTO passages (document_id, ordinal, text, "offset", surface, stem)'
            " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4,"
            " value ->> 5 FROM json_each(?)",
            (f"[{','.join(passages)}]",),
        )
        documents.clear()
        passages.clear()

    async def remove_document(self, key: str) -> bool:
        """Delete a document and its passages; tell whether it existed."""
        async with self._transaction() as conn:
            found = await conn.execute_fetchall("SELECT id FROM documents WHERE key = ?", (key,))
            for (doc_id,) in found:
                counts = TermCounts()
                await self._delete_passages(conn, doc_id, counts)
                await self._save_counts(conn, counts)
            cur = await conn.execute("DELETE FROM documents WHERE key = ?", (key,))
        self._doc_changes += 1
        return cur.rowcount > 0

    @staticmethod
    async def _delete_passages(conn: aiosqlite.Connection, doc_id: int, counts: TermCounts) -> None:
        """Delete a document's passages and take their terms off counts."""
        rows = await conn.execute_fetchall(
            "SELECT surface, stem FROM passages WHERE document_id = ?", (doc_id,)
        )
        counts.remove((surface, stem) for surface, stem in rows)
        await conn.execute("DELETE FROM passages WHERE document_id = ?", (doc_id,))

    @staticmethod
    async def _save_counts(conn: aiosqlite.Connection, counts: TermCounts) -> None:
        """Apply the changes of one transaction to the term counts and totals."""
        changes = counts.changes()
        await conn.execute(
            "INSERT INTO terms (col, term, df)"
            " SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) WHERE true"
            " ON CONFLICT (col, term) DO UPDATE SET df = df + excluded.df",
            (json.dumps(changes, ensure_ascii=False),),
        )
        if any(n < 0 for *_, n in changes):
            await conn.execute("DELETE FROM terms WHERE df <= 0")
        await conn.executemany(
            "UPDATE state SET value = value + ? WHERE key = ?",
            [(counts.passages, "passages"), (counts.tokens, "surface_tokens")],
        )
