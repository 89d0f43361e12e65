"""The archive: one aiosqlite connection holding documents, passages and their FTS5 index."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.analysis import light_stem, tokens, word_spans
from storage.cleaning import CleanArticle, clean_article
from storage.files import BadFile, decode_article, iter_article_files, read_files
from storage.lexicon import load_lexicon
from storage.models import (
    Document,
    DocumentSummary,
    FileResult,
    IngestReport,
    Outcome,
    OutletCount,
    SearchHit,
    Stats,
)
from storage.outbox import OutboxStore
from storage.plan import Alternative, Column, Concept, Kind, Plan
from storage.presence import PresenceStore
from storage.pushes import PushStore
from storage.query import Stemmer, plan_query
from storage.ranking import Candidate, Scorer
from storage.snippets import mark, matched_spans
from storage.timestamps import iso
from storage.vocabulary import TermCounts, Vocabulary

CANDIDATES = 50
# Up to this many postings FTS5 can rank every matching passage within a few milliseconds.
RANK_ALL_POSTINGS = 8_000
ENOUGH_CANDIDATES = 30
# Passages holding every concept are ranked in FTS5 while these postings can be read.
RANK_ALL_AND_POSTINGS = 50_000
COMMON_SHARE = 0.2  # of the passages, held by a concept's commonest spelling
# Documents written per transaction: fewer commits, fewer FTS5 segments to merge.
INGEST_BATCH = 256
SNIPPET_WIDTH = 320
CACHE_KIB = 64 * 1024  # SQLite page cache of the connection
PLAN_CACHE, PLAN_CACHE_CHARS = 4096, 200
MAX_SUGGESTION_TOKENS = 6
_MIGRATION_RE = re.compile(r"^(\d{4})_.+\.sql$")


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


def _unique(rows: list[aiosqlite.Row]) -> list[aiosqlite.Row]:
    """Drop rows fetched twice, keeping the first."""
    return list({row[0]: row for row in rows}.values())


def _added_counts(batch: list[_Analysed]) -> TermCounts:
    """Count the terms of the passages a batch adds."""
    counts = TermCounts()
    counts.add((surface, stem) for doc in batch for *_, surface, stem in doc.passages)
    return counts


class Store(PushStore, OutboxStore, PresenceStore):
    """Async access to the archive; create with `await Store.open(path)`."""

    def __init__(self, conn: aiosqlite.Connection, path: str, stemmer: Stemmer) -> None:
        self._conn = conn
        self._stem = stemmer
        self.path = path
        self._write_lock = asyncio.Lock()
        self._vocab: Vocabulary | None = None
        self._vocab_lock = asyncio.Lock()
        self._vocab_version: tuple[int, int] | None = None
        self._doc_changes = 0  # our own document writes; PRAGMA data_version sees others'
        # Paging repeats a query and popular queries recur: their plans are kept.
        self._plans: dict[str, Plan] = {}
        self._plans_for: Vocabulary | None = None
        self._known_active: set[int] = set()

    @classmethod
    async def open(
        cls, path: str | Path, seeds: Path | None = None, stemmer: Stemmer = light_stem
    ) -> Store:
        """Open (creating and migrating) the database; fill it from seeds when empty."""
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "journal_mode = WAL",
            "foreign_keys = ON",
            "busy_timeout = 10000",
            "synchronous = NORMAL",
            # SQLite's default page cache is 2 MiB; FTS5 posting lists and the outbox indexes
            # of a large archive then come from the OS page by page (p99 at 100k documents:
            # 160-190 ms with 2 MiB, 22 ms with 64 MiB; the process peak grew by 64 MiB).
            f"cache_size = -{CACHE_KIB}",
        ):
            await conn.execute(f"PRAGMA {pragma}")
        store = cls(conn, str(path), stemmer)
        try:
            await store._migrate()
            empty = not await store.document_count()
            if empty and seeds is not None and await asyncio.to_thread(Path.is_dir, seeds):
                await store.ingest([seeds])
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._conn.close()

    # --- schema -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self._conn.execute("SELECT max(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    async def _migrate(self) -> None:
        current = await self.schema_version()
        folder = resources.files("storage").joinpath("migrations")
        scripts = sorted(
            (int(m.group(1)), f.name, f.read_text(encoding="utf-8"))
            for f in folder.iterdir()
            if (m := _MIGRATION_RE.match(f.name))
        )
        for version, name, sql in scripts:
            if version <= current:
                continue
            # One transaction per migration, recorded in the same transaction.
            record = (
                "INSERT INTO schema_migrations (version, name, applied_at) "
                f"VALUES ({version}, '{name}', '{_now()}');"
            )
            try:
                await self._conn.executescript(f"BEGIN;\n{sql}\n{record}\nCOMMIT;")
            except Exception:
                if self._conn.in_transaction:
                    await self._conn.rollback()
                raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    # --- ingestion ----------------------------------------------------------------------

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

    # --- reading ------------------------------------------------------------------------

    async def document_count(self) -> int:
        """Return the number of documents."""
        async with self._conn.execute("SELECT count(*) FROM documents") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def document(self, key: str | int) -> Document | None:
        """Return one document by key, or by id when given an int."""
        column = "id" if isinstance(key, int) else "key"
        async with self._conn.execute(
            "SELECT id, key, title, outlet, body, source_path, sha256, ingested_at"
            f" FROM documents WHERE {column} = ?",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        return Document(**dict(row)) if row else None

    async def latest(self, limit: int = 10, offset: int = 0) -> list[DocumentSummary]:
        """Return the most recently ingested documents."""
        async with self._conn.execute(
            "SELECT id, key, title, outlet, ingested_at FROM documents"
            " ORDER BY ingested_at DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ) as cur:
            return [DocumentSummary(**dict(row)) for row in await cur.fetchall()]

    async def outlets(self) -> list[OutletCount]:
        """Return the outlets in the archive with their article counts."""
        async with self._conn.execute(
            "SELECT outlet, count(*) FROM documents WHERE outlet IS NOT NULL"
            " GROUP BY outlet ORDER BY count(*) DESC, outlet"
        ) as cur:
            return [OutletCount(row[0], row[1]) for row in await cur.fetchall()]

    async def remember_query(self, text: str) -> int:
        """Return a stable id for a query text, storing it if new."""
        # A query seen before costs a read, not a write.
        rows = await self._conn.execute_fetchall("SELECT id FROM queries WHERE text = ?", (text,))
        if not rows:
            async with self._write_lock:  # one statement, outside any open transaction
                rows = await self._conn.execute_fetchall(
                    "INSERT INTO queries (text, last_used) VALUES (?, ?)"
                    " ON CONFLICT (text) DO UPDATE SET last_used = excluded.last_used"
                    " RETURNING id",
                    (text, _now()),
                )
        return int(next(iter(rows))[0])

    async def recall_query(self, query_id: int) -> str | None:
        """Return the query text stored under an id."""
        rows = await self._conn.execute_fetchall(
            "SELECT text FROM queries WHERE id = ?", (query_id,)
        )
        return next((str(row[0]) for row in rows), None)

    async def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """Return indexed words close to the query's words, for a search that found nothing."""
        vocab = await self._vocabulary()
        terms: list[str] = []
        for token in tokens(query)[:MAX_SUGGESTION_TOKENS]:
            for term in sorted(vocab.looser(token), key=lambda t: -vocab.surface(t)):
                if term not in terms:
                    terms.append(term)
        return [word for term in terms[:limit] if (word := await self._original_word(term))]

    async def _original_word(self, term: str) -> str | None:
        """Return the word as an article spells it (hamza, ta marbuta) for an indexed term."""
        async with self._conn.execute(
            "SELECT p.text FROM passages_fts f JOIN passages p ON p.id = f.rowid"
            " WHERE passages_fts MATCH ? LIMIT 1",
            (Alternative(Column.SURFACE, (term,), Kind.SURFACE).fts(),),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        for start, end, toks in word_spans(row[0]):
            if term in toks:
                return str(row[0][start:end])
        return None

    async def known_entities(self, limit: int = 6) -> list[str]:
        """Return the names of the entities the archive mentions most."""
        vocab = await self._vocabulary()
        ranked = []
        for entity in load_lexicon().entities:
            name = tuple(tokens(entity.names[0]))
            if name and all(vocab.has(t) for t in name):
                ranked.append((-min(vocab.surface(t) for t in name), entity.names[0]))
        return [name for _, name in sorted(ranked)[:limit]]

    async def all_passages(self) -> list[str]:
        """Return the original text of every passage, in document order."""
        async with self._conn.execute(
            "SELECT text FROM passages ORDER BY document_id, ordinal"
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def stats(self) -> Stats:
        """Return the size of the archive."""
        async with self._conn.execute(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM passages),"
            " (SELECT count(DISTINCT outlet) FROM documents),"
            " (SELECT max(finished_at) FROM ingest_runs)"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        size = sum(
            p.stat().st_size for p in (Path(self.path), Path(self.path + "-wal")) if p.exists()
        )
        return Stats(row[0], row[1], row[2], self.path, size, row[3])

    async def _vocabulary(self) -> Vocabulary:
        rows = await self._conn.execute_fetchall("PRAGMA data_version")
        version = (int(next(iter(rows))[0]), self._doc_changes)
        if self._vocab is not None and version == self._vocab_version:
            return self._vocab
        async with self._vocab_lock:  # many searches arriving at once load it once
            if self._vocab is not None and version == self._vocab_version:
                return self._vocab
            self._vocab = await self._load_vocabulary()
            self._vocab_version = version
            return self._vocab

    async def warm_up(self) -> None:
        """Load the vocabulary and its indexes, so that the first search pays nothing."""
        (await self._vocabulary()).prepare()

    async def _load_vocabulary(self) -> Vocabulary:
        vocab = Vocabulary()
        tables = {c.value: vocab.df[c] for c in Column}
        for col, term, df in await self._conn.execute_fetchall("SELECT col, term, df FROM terms"):
            tables[col][term] = df
        totals = {
            key: int(value)
            for key, value in await self._conn.execute_fetchall(
                "SELECT key, value FROM state WHERE key IN ('passages', 'surface_tokens')"
            )
        }
        vocab.passages = totals.get("passages", 0)
        vocab.avg_len = totals.get("surface_tokens", 0) / vocab.passages if vocab.passages else 1.0
        return vocab

    async def search(self, query: str, limit: int = 10, offset: int = 0) -> list[SearchHit]:
        """Return ranked passages answering the query; never raises on user input."""
        if limit <= 0:
            return []
        vocab = await self._vocabulary()
        if vocab is not self._plans_for:  # plans depend on the vocabulary they were made from
            self._plans, self._plans_for = {}, vocab
        plan = self._plans.get(query)
        if plan is None:
            plan = plan_query(query, vocab, load_lexicon(), self._stem)
            if len(query) <= PLAN_CACHE_CHARS:
                if len(self._plans) >= PLAN_CACHE:
                    del self._plans[next(iter(self._plans))]  # the oldest
                self._plans[query] = plan
        if plan.empty:
            return []
        return await self._run_plan(plan, vocab, limit, max(0, offset))

    async def _fetch(self, expression: str, by_rank: bool, limit: int) -> list[aiosqlite.Row]:
        # Rank inside FTS5 first, then join only the chosen rows: joining before the sort
        # would read every matching passage.
        order = "bm25(passages_fts, 1.0, 0.7)" if by_rank else "rowid DESC"
        # One round trip to the connection's thread (execute + fetchall + close would be three).
        rows = await self._conn.execute_fetchall(
            "SELECT p.id, p.surface, p.stem, d.title_terms FROM ("
            f" SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?"
            f" ORDER BY {order} LIMIT ?) f"
            " JOIN passages p ON p.id = f.id JOIN documents d ON d.id = p.document_id",
            (expression, limit),
        )
        return list(rows)

    async def _candidates(self, plan: Plan, vocab: Vocabulary) -> list[aiosqlite.Row]:
        """Fetch candidates, planning by posting-list size so large archives stay fast.

        Passages holding the whole query come first: every concept, each phrase whole; then
        every concept. FTS5 ranks these sets by bm25 when their concepts have at most
        RANK_ALL_AND_POSTINGS postings, and walks them newest first otherwise; either way it
        stops at CANDIDATES. Once ENOUGH_CANDIDATES are in hand from a ranked set, or from a
        set read whole, no other passage answers as well. A concept with a spelling
        in over COMMON_SHARE of the passages is left out of these sets: it narrows them
        little and costs FTS5 a walk through its whole posting list.

        Otherwise, since FTS5's bm25 reads the whole posting list of every phrase in the
        expression, only the rarest concepts (together at most RANK_ALL_POSTINGS postings)
        are ranked in SQL: passages holding all of them first, then any of them. The common
        concepts still count when the candidates are scored. A query made only of common
        words adds the most recent passages holding its two rarest concepts. A phrase counts
        as often as its rarest word; a concept found nowhere is left out.
        """
        sizes = {
            c: sum(vocab.postings(a.column, a.phrase) for a in c.alternatives)
            for c in plan.concepts
        }
        live = sorted((c for c in plan.concepts if sizes[c]), key=sizes.__getitem__)
        if not live:
            return []
        rows, enough = await self._holding_all(plan, live, vocab)
        if enough:
            return rows
        rare: list[Concept] = []
        for concept in live:
            if sum(sizes[c] for c in rare) + sizes[concept] > RANK_ALL_POSTINGS:
                break
            rare.append(concept)
        if not rare:
            # Intersecting more than two common concepts costs more than it narrows.
            expression = plan.match_expression(tuple(live[:2]))
            return _unique(rows + await self._fetch(expression, False, CANDIDATES))
        if len(rare) > 1:
            found = await self._fetch(plan.all_expression(tuple(rare)), True, CANDIDATES)
            rows = _unique(rows + found)
        if len(rows) < ENOUGH_CANDIDATES:
            found = await self._fetch(plan.fts_expression(tuple(rare)), True, CANDIDATES)
            rows = _unique(rows + found)
        return rows

    async def _holding_all(
        self, plan: Plan, live: list[Concept], vocab: Vocabulary
    ) -> tuple[list[aiosqlite.Row], bool]:
        """Fetch passages holding every concept but the commonest; tell if they suffice."""
        biggest = {c: max(vocab.postings(a.column, a.phrase) for a in c.alternatives) for c in live}
        useful = tuple(c for c in live if biggest[c] <= vocab.passages * COMMON_SHARE)
        tiers = []
        if len(useful) > 1 or any(a.kind is Kind.PART for c in useful for a in c.alternatives):
            tiers.append(plan.match_expression(useful, whole=True))
        if len(useful) > 1:
            tiers.append(plan.match_expression(useful))
        rank = sum(biggest[c] for c in useful) <= RANK_ALL_AND_POSTINGS
        rows: list[aiosqlite.Row] = []
        for expression in dict.fromkeys(tiers):
            found = await self._fetch(expression, rank, CANDIDATES)
            rows = _unique(rows + found)
            if len(rows) >= ENOUGH_CANDIDATES and (rank or len(found) < CANDIDATES):
                return rows, True
            if len(found) == CANDIDATES:
                break  # the newest passages holding more of the query: looser sets add nothing
        return rows, False

    async def _run_plan(
        self, plan: Plan, vocab: Vocabulary, limit: int, offset: int
    ) -> list[SearchHit]:
        """Retrieve candidates for a plan with FTS5 and rank them."""
        rows = await self._candidates(plan, vocab)
        scorer = Scorer(plan, vocab)
        scored = [
            (
                scorer.score(
                    Candidate.of(
                        row["id"], row["surface"], row["stem"], row["title_terms"], scorer.wanted
                    )
                ),
                row,
            )
            for row in rows
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1]["id"]))
        chosen: list[tuple[float, int]] = []
        seen: set[str] = set()
        for value, row in scored:
            # The same passage syndicated in two documents is shown once.
            if row["surface"] in seen:
                continue
            seen.add(row["surface"])
            if len(seen) > offset:
                chosen.append((value, row["id"]))
            if len(chosen) >= limit:
                break
        return await self._hits(chosen, plan.terms())

    async def _hits(self, chosen: list[tuple[float, int]], terms: set[str]) -> list[SearchHit]:
        """Read the passages and documents of the final results and mark their snippets."""
        if not chosen:
            return []
        found = await self._conn.execute_fetchall(
            "SELECT p.id, p.text, p.ordinal, d.id, d.key, d.title, d.outlet FROM passages p"
            " JOIN documents d ON d.id = p.document_id"
            f" WHERE p.id IN ({','.join('?' * len(chosen))})",
            [row_id for _, row_id in chosen],
        )
        rows = {row[0]: row for row in found}
        hits = []
        for value, row_id in chosen:
            _, text, ordinal, doc_id, key, title, outlet = rows[row_id]
            hits.append(
                SearchHit(
                    doc_id=doc_id,
                    doc=key,
                    title=title,
                    outlet=outlet,
                    passage=text,
                    ordinal=ordinal,
                    score=round(value, 4),
                    snippet=mark(text, matched_spans(text, terms), width=SNIPPET_WIDTH),
                )
            )
        return hits
