"""A derived index of the passages' analysed words: the first stage of search at scale.

The archive (SQLite or PostgreSQL) stays the source of truth: this index is rebuilt from it
(`furat reindex`) and follows it, passages by increasing id and removals in the order of the
archive's removal log. Its mark file says how far it has followed, and which archive.
Tantivy ranks a disjunction of the query's words with BM25 and skips the blocks of postings
that cannot reach the top k, so reading candidates costs about the same at any archive size.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import tantivy

from search.plan import Alternative, Column, Concept

FORMAT = 2  # of the fields below; an index of another format is rebuilt, not read
MARK_ID = -1  # the document that holds the mark, committed with the passages it counts
WRITER_HEAP = 64_000_000  # bytes the writer buffers before it flushes a segment


class IndexBusy(Exception):
    """Another process is writing the index."""


@dataclass(frozen=True)
class Mark:
    """How far an index has followed an archive."""

    archive: str  # the archive's identity: another database is not followed
    passage: int = 0  # every passage up to this id is in
    removal: int = 0  # every removal up to this log position is applied
    format: int = FORMAT


@dataclass(frozen=True)
class Row:
    """A passage as the index takes it: its id and analysed words, and its article's
    headline if it is the article's first passage."""

    id: int
    surface: str
    stem: str
    title: str = ""


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    # The words come analysed by Furat (search.analysis): split on spaces, nothing else.
    for column in Column:
        builder.add_text_field(column.value, tokenizer_name="whitespace")
    builder.add_text_field("title", tokenizer_name="whitespace")
    builder.add_text_field("mark", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _alternative(schema: tantivy.Schema, alt: Alternative) -> tantivy.Query:
    field = alt.column.value
    if len(alt.phrase) == 1:
        query = tantivy.Query.term_query(schema, field, alt.phrase[0])
    else:
        query = tantivy.Query.phrase_query(schema, field, list(alt.phrase))
    return tantivy.Query.boost_query(query, alt.weight)


class PassageIndex:
    """A Tantivy index of passages in one folder; open with `PassageIndex.open(folder)`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._inode = folder.stat().st_ino
        self._index = tantivy.Index(_schema(), path=str(folder), reuse=True)
        self.mark: Mark | None = None
        self.refresh()

    @classmethod
    def open(cls, folder: Path) -> PassageIndex:
        """Open the index in folder, creating an empty one (or replacing an unreadable one)."""
        folder.mkdir(parents=True, exist_ok=True)
        try:
            return cls(folder)
        except ValueError:  # written by another version of the schema: build it again
            shutil.rmtree(folder)
            folder.mkdir()
            return cls(folder)

    def replaced(self) -> bool:
        """Tell whether a rebuild (`furat reindex`, maybe in another process) replaced the
        folder since this object last read it."""
        try:
            return self.folder.stat().st_ino != self._inode
        except OSError:  # between the two renames of the swap
            return True

    def refresh(self) -> None:
        """See what other processes (or a rebuild that replaced the folder) committed."""
        inode = self.folder.stat().st_ino
        if inode != self._inode:
            self._index = tantivy.Index(_schema(), path=str(self.folder), reuse=True)
            self._inode = inode
        self._index.reload()
        searcher = self._index.searcher()
        found = searcher.search(tantivy.Query.term_query(self._index.schema, "id", MARK_ID), 1)
        mark = None
        for _, address in found.hits:
            try:
                mark = Mark(**json.loads(searcher.doc(address)["mark"][0]))
            except (ValueError, TypeError, KeyError, IndexError):
                mark = None
        self.mark = mark if mark is not None and mark.format == FORMAT else None

    def count(self) -> int:
        """Return the number of passages in the index."""
        return int(self._index.searcher().num_docs) - (self.mark is not None)

    def top(self, concepts: Sequence[Concept], k: int) -> list[int]:
        """Return the ids of the k passages that best hold the concepts, best first.

        A passage scores the BM25 of each alternative it holds, times the alternative's
        weight; a concept counts once, by its best alternative.
        """
        clauses = []
        for concept in concepts:
            alts = [_alternative(self._index.schema, a) for a in concept.alternatives]
            if alts:
                clauses.append((tantivy.Occur.Should, tantivy.Query.disjunction_max_query(alts)))
        if not clauses or k <= 0:
            return []
        return self._ids(tantivy.Query.boolean_query(clauses), k)

    def titled(self, words: Sequence[Sequence[str]], k: int) -> list[int]:
        """Return the first passages of the k articles whose headlines best hold the words:
        a word of each group, by BM25."""
        schema = self._index.schema
        clauses = [
            (
                tantivy.Occur.Should,
                tantivy.Query.disjunction_max_query(
                    [tantivy.Query.term_query(schema, "title", w) for w in group]
                ),
            )
            for group in words
            if group
        ]
        return self._ids(tantivy.Query.boolean_query(clauses), k) if clauses and k > 0 else []

    def _ids(self, query: tantivy.Query, k: int) -> list[int]:
        searcher = self._index.searcher()
        result = searcher.search(query, k, count=False)
        addresses = [address for _, address in result.hits]
        return [int(i or 0) for i in searcher.fast_field_values("id", addresses)]

    def writer(self) -> IndexWriter:
        """Take this process's turn at writing; raises IndexBusy while another has it."""
        try:
            writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
        except ValueError as error:
            if "lock" in str(error).lower():
                raise IndexBusy(str(error)) from error
            raise
        return IndexWriter(self, writer)

    def write(
        self, rows: Iterable[Row], removed: Iterable[int], mark: Mark, clear: bool = False
    ) -> None:
        """Commit one batch (see IndexWriter.commit) and give up the turn."""
        writer = self.writer()
        try:
            writer.commit(rows, removed, mark, clear)
        finally:
            writer.close()


class IndexWriter:
    """One process's turn at writing an index: batches committed one by one."""

    def __init__(self, index: PassageIndex, writer: tantivy.IndexWriter) -> None:
        self._index = index
        self._writer = writer

    def commit(
        self, rows: Iterable[Row], removed: Iterable[int], mark: Mark, clear: bool = False
    ) -> None:
        """Drop removed ids (or everything, with clear), add rows, and record the mark, in
        one commit.

        A passage changed in place is both removed and added: a removal drops only what was
        added before it.
        """
        if clear:
            self._writer.delete_all_documents()
        for passage_id in (*removed, MARK_ID):
            self._writer.delete_documents_by_term("id", passage_id)
        for row in rows:
            self._writer.add_document(
                tantivy.Document(id=row.id, surface=row.surface, stem=row.stem, title=row.title)
            )
        self._writer.add_document(tantivy.Document(id=MARK_ID, mark=json.dumps(asdict(mark))))
        self._writer.commit()
        self._index.refresh()

    def close(self) -> None:
        """Let merges of the committed segments finish, and give up the turn."""
        # Merges run beside the next batches; waiting for them once at the end, not after
        # every commit, keeps following a large archive linear in its size.
        self._writer.wait_merging_threads()
        self._index.refresh()


def replace_folder(new: Path, folder: Path) -> None:
    """Put a rebuilt index in place of the one in folder (which may not exist)."""
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
