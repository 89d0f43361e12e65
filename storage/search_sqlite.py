"""The SQLite side of search: every query the search pipeline runs, over FTS5.

The pipeline (storage/search.py) decides what to fetch; this module knows how to ask SQLite
for it. A second backend answers the same methods (`search.engine.SearchRows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiosqlite

from search.index import Row
from search.plan import Alternative, Match, Rank
from search.results import Copy

Reader = Callable[[], aiosqlite.Connection]


def phrase(alt: Alternative) -> str:
    """Return an alternative as a safe FTS5 column-filtered phrase."""
    # Tokens hold only letters and digits; doubling quotes keeps that a guarantee.
    body = " ".join(t.replace('"', '""') for t in alt.phrase)
    return f'{alt.column.value} : "{body}"'


def expression(match: Match) -> str:
    """Return an FTS5 MATCH expression: every group, each by any of its alternatives."""
    return " AND ".join(
        "(" + " OR ".join(dict.fromkeys(phrase(a) for a in group)) + ")" for group in match
    )


# What the derived index takes of a passage: its words, and its article's headline if first.
_INDEXED = (
    "p.id, p.surface, p.stem, CASE WHEN p.ordinal = 0 THEN d.title_terms ELSE '' END"
    " FROM passages p JOIN documents d ON d.id = p.document_id"
)


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


class SqliteSearchRows:
    """Fetch what a search needs from the SQLite archive."""

    def __init__(self, read: Reader) -> None:
        self._read = read

    async def doc_version(self) -> str:
        """Return the counter of document changes (triggers bump it; migration 8)."""
        rows = await self._read().execute_fetchall(
            "SELECT value FROM state WHERE key = 'doc_version'"
        )
        return str(next(iter(rows))[0]) if rows else "0"

    async def vocabulary(self) -> tuple[Iterable[Sequence[Any]], dict[str, int]]:
        """Return (column, term, passage count) rows, and the totals bm25 needs."""
        read = self._read()
        # Hundreds of thousands of rows: the caller reads them off the event loop.
        terms = await read.execute_fetchall("SELECT col, term, df FROM terms")
        totals = {
            key: int(value)
            for key, value in await read.execute_fetchall(
                "SELECT key, value FROM state WHERE key IN ('passages', 'surface_tokens')"
            )
        }
        return terms, totals

    async def text_holding(self, alt: Alternative) -> str | None:
        """Return the text of one passage holding an alternative."""
        rows = await self._read().execute_fetchall(
            "SELECT p.text FROM passages_fts f JOIN passages p ON p.id = f.rowid"
            " WHERE passages_fts MATCH ? LIMIT 1",
            (phrase(alt),),
        )
        return next((str(row[0]) for row in rows), None)

    async def by_title(self, words: list[str], limit: int, offset: int) -> list[int]:
        """Return the first passage of each document whose headline holds every word."""
        # Quoted phrases: no input reaches FTS5 syntax.
        match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = await self._read().execute_fetchall(
            "SELECT (SELECT id FROM passages WHERE document_id = t.id ORDER BY ordinal LIMIT 1)"
            " FROM (SELECT rowid AS id, rank FROM titles_fts WHERE titles_fts MATCH ?"
            " ORDER BY rank LIMIT ? OFFSET ?) t ORDER BY t.rank",
            (match, limit, offset),
        )
        return [row[0] for row in rows if row[0]]

    async def titled(self, words: list[list[str]], limit: int) -> list[aiosqlite.Row]:
        """Return the first passage of the newest documents whose headline holds a word of
        each group, with its analysed text."""
        match = " AND ".join(
            "(" + " OR ".join('"' + w.replace('"', '""') + '"' for w in group) + ")"
            for group in words
        )
        rows = await self._read().execute_fetchall(
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id FROM ("
            " SELECT rowid AS id FROM titles_fts WHERE titles_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?) t JOIN documents d ON d.id = t.id"
            " JOIN passages p ON p.id ="
            " (SELECT id FROM passages WHERE document_id = d.id ORDER BY ordinal LIMIT 1)",
            (match, limit),
        )
        return list(rows)

    async def candidates(
        self, match: Match, limit: int, rank: Rank | None
    ) -> list[aiosqlite.Row]:
        """Return passages matching, best by bm25 when ranked (or newest first), with their
        analysed text."""
        # Rank inside FTS5 first, then join only the chosen rows: joining before the sort
        # would read every matching passage. bm25 weighs the terms itself.
        order = "bm25(passages_fts, 1.0, 0.7)" if rank is not None else "rowid DESC"
        # One round trip to the connection's thread (execute + fetchall + close would be three).
        rows = await self._read().execute_fetchall(
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id FROM ("
            f" SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?"
            f" ORDER BY {order} LIMIT ?) f"
            " JOIN passages p ON p.id = f.id JOIN documents d ON d.id = p.document_id",
            (expression(match), limit),
        )
        return list(rows)

    async def followers(self, ids: list[int]) -> list[aiosqlite.Row]:
        """Return the passage after each of these, with that one's text as its context."""
        rows = await self._read().execute_fetchall(
            "SELECT n.id, n.surface, n.stem, d.title_terms, n.document_id,"
            " p.surface AS context_surface,"
            " p.stem AS context_stem FROM passages p"
            " JOIN passages n ON n.document_id = p.document_id AND n.ordinal = p.ordinal + 1"
            " JOIN documents d ON d.id = n.document_id"
            f" WHERE p.id IN ({_marks(ids)})",
            ids,
        )
        return list(rows)

    async def texts(self, ids: list[int]) -> dict[int, str]:
        """Return the original text of these passages."""
        rows = await self._read().execute_fetchall(
            f"SELECT id, text FROM passages WHERE id IN ({_marks(ids)})", ids
        )
        return {row[0]: row[1] for row in rows}

    async def hits(self, ids: list[int]) -> dict[int, aiosqlite.Row]:
        """Return the passages and documents of the results shown, by passage id."""
        rows = await self._read().execute_fetchall(
            "SELECT p.id, p.text, p.ordinal, d.id, d.key, d.title, d.outlet, d.url, d.published,"
            " d.agency"
            " FROM passages p JOIN documents d ON d.id = p.document_id"
            f" WHERE p.id IN ({_marks(ids)})",
            ids,
        )
        return {row[0]: row for row in rows}

    async def documents_of(self, ids: list[int]) -> dict[int, Copy]:
        """Return the document of each of these passages, by passage id."""
        rows = await self._read().execute_fetchall(
            "SELECT p.id, d.id, d.key, d.title, d.outlet FROM passages p"
            " JOIN documents d ON d.id = p.document_id"
            f" WHERE p.id IN ({_marks(ids)})",
            ids,
        )
        return {row[0]: Copy(*row[1:]) for row in rows}

    async def newest(self, match: Match, limit: int) -> list[aiosqlite.Row]:
        """Return the newest passages matching, with their documents, for alert previews."""
        rows = await self._read().execute_fetchall(
            "SELECT p.text, p.ordinal, p.surface, p.stem, d.id, d.key, d.title, d.outlet, d.url,"
            " d.published FROM ("
            " SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?) f"
            " JOIN passages p ON p.id = f.id JOIN documents d ON d.id = p.document_id"
            " ORDER BY p.id DESC",
            (expression(match), limit),
        )
        return list(rows)

    async def rows_of(self, ids: list[int]) -> list[aiosqlite.Row]:
        """Return these passages with their analysed text, in the order given."""
        rows = await self._read().execute_fetchall(
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id FROM passages p"
            f" JOIN documents d ON d.id = p.document_id WHERE p.id IN ({_marks(ids)})",
            ids,
        )
        found = {row[0]: row for row in rows}
        return [found[i] for i in ids if i in found]

    # --- what the derived index follows (search/follow.py) ---------------------------------

    async def archive_id(self) -> str:
        """Return the identity of this archive (migration 15)."""
        rows = await self._read().execute_fetchall(
            "SELECT value FROM state WHERE key = 'archive_id'"
        )
        return str(next(iter(rows))[0])

    async def ends(self) -> tuple[int, int, int]:
        """Return the last passage id, the last removal and the number of passages."""
        rows = await self._read().execute_fetchall(
            "SELECT (SELECT coalesce(max(id), 0) FROM passages),"
            " (SELECT coalesce(max(seq), 0) FROM passage_removals),"
            " (SELECT coalesce(value, 0) FROM state WHERE key = 'passages')"
        )
        last, removal, total = next(iter(rows))
        return int(last), int(removal), int(total or 0)

    async def passages_after(self, passage_id: int, limit: int) -> list[Row]:
        """Return the analysed words of the passages after this id, by id."""
        rows = await self._read().execute_fetchall(
            f"SELECT {_INDEXED} WHERE p.id > ? ORDER BY p.id LIMIT ?", (passage_id, limit)
        )
        return [Row(*row) for row in rows]

    async def passages_by_id(self, ids: list[int]) -> list[Row]:
        """Return the analysed words of these passages, those that exist."""
        if not ids:
            return []
        rows = await self._read().execute_fetchall(
            f"SELECT {_INDEXED} WHERE p.id IN ({_marks(ids)})", ids
        )
        return [Row(*row) for row in rows]

    async def removals_after(self, seq: int, limit: int) -> list[tuple[int, int]]:
        """Return (position, passage id) of the removals after this position, in order."""
        rows = await self._read().execute_fetchall(
            "SELECT seq, passage_id FROM passage_removals WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [(int(a), int(b)) for a, b in rows]
