"""Ingestion: article files cleaned, analysed and written with their term counts.

Walking folders, reading, hashing, cleaning and analysing run in a worker thread; the event
loop only awaits it and issues SQL, so a large article never stalls other users.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from search.analysis import tokens
from search.cleaning import CleanArticle, clean_article
from search.nearcopy import sketch
from search.query import Stemmer
from search.vocabulary import TermCounts
from storage.db import Conn, Connected
from storage.files import (
    READ_CHUNK,
    READ_CHUNK_BYTES,
    UTF8,
    ArticleFile,
    BadFile,
    Found,
    decode_article,
    find_articles,
    read_article,
)
from storage.models import FileResult, IngestReport, Outcome
from storage.timestamps import iso

# Documents written per transaction: fewer commits, fewer FTS5 segments to merge.
INGEST_BATCH = 256
# Nor more text than this per transaction: another process's writes wait for it to commit.
INGEST_BATCH_CHARS = 8_000_000
STATEMENT_CHARS = 500_000
# A file modified this recently may change again within the same mtime tick: its size and
# mtime are not recorded, so the next pass reads it again (git's "racy clean" rule).
RACY_NS = 2_000_000_000
_RUN_OUTCOMES = (Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.FAILED)
Meta = tuple[str | None, int | None, int | None]  # root, size, mtime_ns


def _now() -> str:
    return iso(datetime.now(UTC))


@dataclass(frozen=True)
class _Known:
    """A stored document as ingest compares files with it."""

    id: int
    key: str
    sha256: str
    source_path: str
    root: str | None
    size: int | None
    mtime_ns: int | None


@dataclass(frozen=True)
class _Analysed:
    """A file cleaned and analysed, waiting to be written; `slot` is its place in the report."""

    slot: int
    key: str
    source_path: str
    digest: str
    meta: Meta
    article: CleanArticle
    title_terms: str
    passages: list[tuple[int, str, int, str, str]]
    # JSON encoded in the worker thread; the ids are spliced in later.
    # [source_path, sha256, title, outlet, body, title_terms, key, root, size, mtime_ns, sketch,
    #  agency]
    document_json: str
    passages_json: list[str]  # each passage's [ordinal, text, offset, surface, stem]
    encoding: str
    sketch: str  # of its shingles, to tell a near-copy of an alerted document


@dataclass(frozen=True)
class _Touch:
    """An unchanged file whose place or stat is recorded again; a rename when renamed_from."""

    slot: int
    doc_id: int
    digest: str
    key: str
    source_path: str
    meta: Meta
    renamed_from: str | None = None


@dataclass
class _Run:
    """What one ingest run knows; only the worker thread changes it while it runs."""

    known: dict[str, _Known]
    gone: dict[str, _Known]  # by key: documents of walked folders whose file is not there
    by_digest: dict[str, list[_Known]]
    seen: set[str] = field(default_factory=set)  # keys met in this run

    @classmethod
    def of(cls, rows: Iterable[Sequence[object]], found: Found) -> _Run:
        """Index the stored documents and find those whose file left a walked folder."""
        known = {str(row[1]): _Known(*row) for row in rows}  # type: ignore[arg-type]
        present = {f.key for f in found.files}
        gone = {
            key: doc
            for key, doc in known.items()
            if doc.root in found.roots and key not in present
        }
        by_digest: dict[str, list[_Known]] = {}
        for doc in known.values():
            by_digest.setdefault(doc.sha256, []).append(doc)
        return cls(known, gone, by_digest)

    def renamed(self, digest: str) -> _Known | None:
        """Claim a gone document with this content: its file was renamed."""
        for doc in self.by_digest.get(digest, ()):
            if self.gone.pop(doc.key, None):
                return doc
        return None

    def same_file(self, digest: str, path: Path) -> _Known | None:
        """Find the document read from this very file under another key (another root)."""
        for doc in self.by_digest.get(digest, ()):
            if Path(doc.source_path).resolve() == path.resolve():
                return doc
        return None


@dataclass
class _Examined:
    """The outcome of examining a run of files in the worker thread."""

    next: int
    results: list[FileResult] = field(default_factory=list)
    analysed: list[_Analysed] = field(default_factory=list)
    touches: list[_Touch] = field(default_factory=list)


def _with_id(row_id: int, array: str) -> str:
    """Put row_id first in a JSON array."""
    return f"[{row_id},{array[1:]}"


def _added_counts(batch: list[_Analysed]) -> TermCounts:
    """Count the terms of the passages a batch adds."""
    counts = TermCounts()
    counts.add((surface, stem) for doc in batch for *_, surface, stem in doc.passages)
    return counts


def _chunks(rows: list[str]) -> Iterator[str]:
    """Yield the rows as JSON arrays of at most about STATEMENT_CHARS characters each."""
    start, size = 0, 0
    for i, row in enumerate(rows):
        if size and size + len(row) > STATEMENT_CHARS:
            yield f"[{','.join(rows[start:i])}]"
            start, size = i, 0
        size += len(row) + 1
    if start < len(rows):
        yield f"[{','.join(rows[start:])}]"


def _meta(f: ArticleFile) -> Meta:
    """Return what is recorded of a file; no stat while it may still change unseen."""
    if time.time_ns() - f.mtime_ns < RACY_NS:
        return f.root, None, None
    return f.root, f.size, f.mtime_ns


class IngestStore(Connected):
    """The ingest side of the Store (mixed into it; shares its connections)."""

    _stem: Stemmer

    async def ingest(self, paths: Iterable[Path], record_unchanged: bool = True) -> IngestReport:
        """Ingest .txt files and folders; each file lands or fails on its own.

        Re-ingesting a folder removes the documents found in it before whose file is gone,
        or moves a document to its new key when a file with its content takes its place.
        """
        found = await asyncio.to_thread(find_articles, list(paths))
        rows = await self._read.execute_fetchall(
            "SELECT id, key, sha256, source_path, root, size, mtime_ns FROM documents"
        )
        run = await asyncio.to_thread(_Run.of, rows, found)
        results: list[FileResult] = []
        batch: list[_Analysed] = []
        touches: list[_Touch] = []
        writing: asyncio.Task[None] | None = None
        i = 0
        try:
            while i < len(found.files):
                examined = await asyncio.to_thread(
                    self._examine, run, found.files, i, len(results)
                )
                i = examined.next
                results += examined.results
                batch += examined.analysed
                touches += examined.touches
                if (
                    len(batch) >= INGEST_BATCH
                    or sum(len(doc.article.text) for doc in batch) >= INGEST_BATCH_CHARS
                ):
                    counts = await asyncio.to_thread(_added_counts, batch)
                    if writing:
                        await writing
                    writing = asyncio.create_task(
                        self._write_documents(batch, counts, results, touches)
                    )
                    batch, touches = [], []
        except BaseException:
            if writing:  # its transaction rolls back; the error to report is this one
                writing.cancel()
                await asyncio.gather(writing, return_exceptions=True)
            raise
        if writing:
            await writing
        if batch or touches:
            counts = await asyncio.to_thread(_added_counts, batch)
            await self._write_documents(batch, counts, results, touches)
        report = IngestReport(tuple(results))
        if run.gone:
            report = IngestReport((*results, *await self._remove_gone(list(run.gone.values()))))
        if record_unchanged or report.count(Outcome.UNCHANGED) < len(report.files):
            async with self._transaction() as conn:
                await conn.execute(
                    "INSERT INTO ingest_runs (finished_at, added, updated, unchanged, failed)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (_now(), *(report.count(o) for o in _RUN_OUTCOMES)),
                )
        return report

    def _examine(self, run: _Run, files: list[ArticleFile], start: int, slot: int) -> _Examined:
        """Read, hash and analyse files from start on, a chunk at a time (worker thread)."""
        out = _Examined(start)
        read = 0
        while out.next < len(files) and len(out.results) < READ_CHUNK and read < READ_CHUNK_BYTES:
            f = files[out.next]
            out.next += 1
            here = slot + len(out.results)
            known = run.known.get(f.key)
            first = f.key not in run.seen
            run.seen.add(f.key)
            if f.refused:
                out.results.append(FileResult(str(f.path), Outcome.FAILED, f.key, f.refused))
                continue
            meta = _meta(f)
            if (
                known is not None
                and (known.source_path, known.root) == (str(f.path), f.root)
                and (known.size, known.mtime_ns) == (f.size, f.mtime_ns)
            ):
                out.results.append(FileResult(str(f.path), Outcome.UNCHANGED, f.key))
                continue
            try:
                raw = read_article(f.path)
                read += len(raw)
                digest = hashlib.sha256(raw).hexdigest()
                doc = known if known is not None else (run.renamed(digest) if first else None)
                if doc is None and (same := run.same_file(digest, f.path)):
                    # A subfolder of an ingested folder, or a file of it named alone, is
                    # ingested again under a shorter key: one file stays one document.
                    out.results.append(FileResult(str(f.path), Outcome.UNCHANGED, same.key))
                    continue
                if doc is not None and doc.sha256 == digest:
                    source = str(f.path)
                    renamed_from = None if doc.key == f.key else doc.key
                    if renamed_from or (source, *meta) != (
                        doc.source_path,
                        doc.root,
                        doc.size,
                        doc.mtime_ns,
                    ):
                        out.touches.append(
                            _Touch(here, doc.id, digest, f.key, source, meta, renamed_from)
                        )
                    outcome = Outcome.RENAMED if renamed_from else Outcome.UNCHANGED
                    reason = f"was {renamed_from}" if renamed_from else None
                    out.results.append(FileResult(source, outcome, f.key, reason))
                    continue
                analysed = self._analyse(f, raw, digest, meta, here)
                out.analysed.append(analysed)
                encoding = analysed.encoding
                reason = None if encoding == UTF8 else f"decoded from {encoding}"
                out.results.append(FileResult(str(f.path), Outcome.ADDED, f.key, reason))
            except (BadFile, OSError) as exc:
                why = str(exc) if isinstance(exc, BadFile) else exc.strerror or str(exc)
                out.results.append(FileResult(str(f.path), Outcome.FAILED, f.key, why))
        return out

    def _analyse(self, f: ArticleFile, raw: bytes, digest: str, meta: Meta, slot: int) -> _Analysed:
        """Clean and analyse one file's bytes; raise BadFile if unusable."""
        text, encoding = decode_article(raw)
        article = clean_article(text)
        if not article.passages:
            raise BadFile("no article text left after removing page furniture")
        title_toks = tokens(article.title)
        passages, stems = [], []
        for p in article.passages:
            toks = tokens(p.text)
            stems.append(list(map(self._stem, toks)))
            passages.append((p.ordinal, p.text, p.offset, " ".join(toks), " ".join(stems[-1])))
        source, title_terms = str(f.path), " ".join(title_toks)
        document = (source, digest, article.title, article.outlet, article.text, title_terms)
        signature = sketch(stems)
        return _Analysed(
            slot,
            f.key,
            source,
            digest,
            meta,
            article,
            title_terms,
            passages,
            json.dumps([*document, f.key, *meta, signature, article.agency], ensure_ascii=False),
            [json.dumps(p, ensure_ascii=False) for p in passages],
            encoding,
            signature,
        )

    async def _write_documents(
        self,
        batch: list[_Analysed],
        counts: TermCounts,
        results: list[FileResult],
        touches: list[_Touch],
    ) -> None:
        """Add or replace analysed documents in one transaction; record each outcome."""
        async with self._transaction() as conn:
            # Renames first: a later file of this run may update the document they move.
            for t in touches:
                # Unless another document holds the key by now.
                cur = await conn.execute(
                    "UPDATE documents SET key = ?, source_path = ?, root = ?,"
                    " size = ?, mtime_ns = ? WHERE id = ? AND sha256 = ?"
                    " AND NOT EXISTS (SELECT 1 FROM documents WHERE key = ? AND id != ?)",
                    (t.key, t.source_path, *t.meta, t.doc_id, t.digest, t.key, t.doc_id),
                )
                if t.renamed_from and not cur.rowcount:
                    why = "another ingest changed the document meanwhile: ingest again"
                    results[t.slot] = replace(results[t.slot], outcome=Outcome.FAILED, reason=why)
            if not batch:
                return
            found = await conn.execute_fetchall(
                "SELECT key, id, sha256 FROM documents"
                f" WHERE key IN ({','.join('?' * len(batch))})",
                [doc.key for doc in batch],
            )
            existing: dict[str, int] = {key: doc_id for key, doc_id, _ in found}
            # Another ingest may have written the same file since this run read the table.
            stored = {key: digest for key, _, digest in found}
            same = [doc for doc in batch if stored.get(doc.key) == doc.digest]
            if same:
                await asyncio.to_thread(counts.remove, [p[3:] for d in same for p in d.passages])
                for doc in same:
                    results[doc.slot] = replace(results[doc.slot], outcome=Outcome.UNCHANGED)
                batch = [doc for doc in batch if stored.get(doc.key) != doc.digest]
            # Ids are chosen here (no other writer runs inside this transaction), so the whole
            # batch takes a few statements: each one waits for the busy event loop. An id is
            # never given twice, even once its document is removed: alert matching remembers
            # the last id it matched.
            next_id = await self._last_document_id(conn) + 1
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
                        " body = ?, title_terms = ?, ingested_at = ?, root = ?, size = ?,"
                        " mtime_ns = ?, sketch = ?, agency = ? WHERE id = ?",
                        (
                            doc.source_path,
                            doc.digest,
                            article.title,
                            article.outlet,
                            article.text,
                            doc.title_terms,
                            now,
                            *doc.meta,
                            doc.sketch,
                            article.agency,
                            doc_id,
                        ),
                    )
                    results[doc.slot] = replace(results[doc.slot], outcome=Outcome.UPDATED)
                passages += [_with_id(doc_id, p) for p in doc.passages_json]
            await self._insert_rows(conn, added, passages, now)
            await self._set_last_document_id(conn, next_id - 1)
            await self._save_counts(conn, counts)

    @staticmethod
    async def _last_document_id(conn: Conn) -> int:
        """Return the highest document id ever given (ids are never given twice)."""
        rows = await conn.execute_fetchall(
            "SELECT coalesce((SELECT max(id) FROM documents), 0), coalesce((SELECT"
            " CAST(value AS BIGINT) FROM state WHERE key = 'last_document_id'), 0)"
        )
        return max(int(n) for n in next(iter(rows)))

    @staticmethod
    async def _set_last_document_id(conn: Conn, doc_id: int) -> None:
        """Record the highest document id given; the caller holds the write lock."""
        await conn.execute(
            "INSERT INTO state (key, value) VALUES ('last_document_id', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(doc_id),),
        )

    async def _insert_rows(
        self, conn: Conn, documents: list[str], passages: list[str], now: str
    ) -> None:
        """Insert the documents and passages (JSON arrays) gathered so far; empty the lists."""
        # A few statements per table reading a JSON array: SQLite indexes many rows in one
        # call that releases the GIL, while the worker thread analyses the next batch. Each
        # array stays under STATEMENT_CHARS: encoding one holds the GIL, and the event loop
        # waits for it.
        for chunk in _chunks(documents):
            await conn.execute(
                "INSERT INTO documents (id, source_path, sha256, title, outlet, body, title_terms,"
                " ingested_at, key, root, size, mtime_ns, sketch, agency)"
                " SELECT CAST(value ->> 0 AS BIGINT), value ->> 1, value ->> 2, value ->> 3,"
                " value ->> 4, value ->> 5, value ->> 6, ?, value ->> 7, value ->> 8,"
                " CAST(value ->> 9 AS BIGINT), CAST(value ->> 10 AS BIGINT), value ->> 11,"
                " value ->> 12"
                f" FROM {self._dialect.json_items}",
                (now, chunk),
            )
        for chunk in _chunks(passages):
            await self._insert_passages(conn, chunk)
        documents.clear()
        passages.clear()

    async def _insert_passages(self, conn: Conn, chunk: str) -> None:
        """Insert passages given as a JSON array of [document, ordinal, text, offset, surface,
        stem] (their index follows them: SQLite's triggers fill FTS5)."""
        await conn.execute(
            'INSERT INTO passages (document_id, ordinal, text, "offset", surface, stem)'
            " SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS INTEGER), value ->> 2,"
            " CAST(value ->> 3 AS INTEGER), value ->> 4, value ->> 5"
            f" FROM {self._dialect.json_items}",
            (chunk,),
        )

    async def remove_document(self, key: str) -> bool:
        """Delete a document and its passages; tell whether it existed."""
        counts = TermCounts()
        async with self._transaction() as conn:
            found = await conn.execute_fetchall("SELECT id FROM documents WHERE key = ?", (key,))
            for (doc_id,) in found:
                await self._delete_passages(conn, doc_id, counts)
                await conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            await self._save_counts(conn, counts)
        return bool(found)

    async def _remove_gone(self, gone: list[_Known]) -> list[FileResult]:
        """Remove documents whose file left the folder they were found in; report each."""
        removed: list[FileResult] = []
        counts = TermCounts()
        async with self._transaction() as conn:
            for doc in gone:
                # Unless another ingest has moved or replaced it since this run read it.
                same = await conn.execute_fetchall(
                    "SELECT 1 FROM documents WHERE id = ? AND sha256 = ?"
                    " AND root IS NOT DISTINCT FROM ?",
                    (doc.id, doc.sha256, doc.root),
                )
                if not same:
                    continue
                await self._delete_passages(conn, doc.id, counts)
                await conn.execute("DELETE FROM documents WHERE id = ?", (doc.id,))
                removed.append(
                    FileResult(doc.source_path, Outcome.REMOVED, doc.key, "file is gone")
                )
            await self._save_counts(conn, counts)
        return removed

    @staticmethod
    async def _delete_passages(conn: Conn, doc_id: int, counts: TermCounts) -> None:
        """Delete a document's passages and take their terms off counts."""
        rows = await conn.execute_fetchall(
            "SELECT surface, stem FROM passages WHERE document_id = ?", (doc_id,)
        )
        # Counting a large article's terms out is CPU work: off the event loop's thread.
        await asyncio.to_thread(counts.remove, [(surface, stem) for surface, stem in rows])
        await conn.execute("DELETE FROM passages WHERE document_id = ?", (doc_id,))

    async def _save_counts(self, conn: Conn, counts: TermCounts) -> None:
        """Apply the changes of one transaction to the term counts and totals."""
        changes = await asyncio.to_thread(counts.changes)
        await conn.execute(
            "INSERT INTO terms (col, term, df)"
            " SELECT value ->> 0, value ->> 1, CAST(value ->> 2 AS BIGINT)"
            f" FROM {self._dialect.json_items} WHERE true"
            " ON CONFLICT (col, term) DO UPDATE SET df = terms.df + excluded.df",
            (await asyncio.to_thread(json.dumps, changes, ensure_ascii=False),),
        )
        if any(n < 0 for *_, n in changes):
            await conn.execute("DELETE FROM terms WHERE df <= 0")
        await conn.executemany(
            "UPDATE state SET value = CAST(CAST(value AS BIGINT) + ? AS TEXT) WHERE key = ?",
            [(counts.passages, "passages"), (counts.tokens, "surface_tokens")],
        )
