"""The PostgreSQL side of search: the pipeline's queries over the GIN index of passage terms.

It answers the same `search.engine.SearchRows` protocol as SQLite's FTS5 side; analysis,
planning, scoring and folding are the same code on both backends.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import asyncpg

from search.index import Row
from search.plan import Alternative, Match, Rank
from search.results import Copy
from storage.pg.terms import indexable, phrase_query, quote


def tsquery(match: Match) -> str | None:
    """Return the tsquery literal of a match: every group, each by any of its alternatives;
    None if some group can match nothing (its words are all too long to be indexed)."""
    groups = []
    for group in match:
        phrases = [_phrase(a) for a in group if all(indexable(t) for t in a.phrase)]
        if not phrases:
            return None
        groups.append("(" + " | ".join(dict.fromkeys(phrases)) + ")")
    return " & ".join(groups)


# What the derived index takes of a passage: its words, and its article's headline if first.
_INDEXED = (
    "p.id, p.surface, p.stem, CASE WHEN p.ordinal = 0 THEN d.title_terms ELSE '' END"
    " FROM passages p JOIN documents d ON d.id = p.document_id"
)


def _phrase(alt: Alternative) -> str:
    return f"({phrase_query(alt.phrase, alt.column.value)})"


RERANKED = 10  # candidates ranked by idf per candidate asked for, then ranked by FTS5's bm25
# (6 sufficed until queries reached the pronoun forms of their words: one judged query then
# ranked differently with the near-copies; 10 ranks all 251 alike on both backends)
_K1, _B = 1.2, 0.75  # FTS5's bm25 constants
_COLUMN_WEIGHTS = {"surface": 1.0, "stem": 0.7}  # as SQLite's bm25(passages_fts, 1.0, 0.7)


def _occurrences(tokens: list[str], counts: Counter[str], phrase: tuple[str, ...]) -> int:
    first, n = phrase[0], len(phrase)
    if n == 1 or not counts[first]:
        return counts[first]
    return sum(1 for i, t in enumerate(tokens) if t == first and tuple(tokens[i : i + n]) == phrase)


def fts5_bm25(rank: Rank, rows: float, mean_length: float) -> Callable[[Any], float]:
    """Return FTS5's bm25 of candidate rows (their surface and stem) for the ranked phrases."""
    phrases: dict[
        tuple[str, tuple[str, ...]], float
    ] = {}  # each distinct phrase once, as FTS5 reads each phrase of its expression once
    for alternatives, _, postings in rank:
        for alt, holding in zip(alternatives, postings, strict=True):
            idf = max(math.log((rows - holding + 0.5) / (holding + 0.5)), 1e-6)
            phrases.setdefault((alt.column.value, alt.phrase), idf)

    def score(row: Any) -> float:
        tokens = {"surface": row["surface"].split(), "stem": row["stem"].split()}
        counts = {column: Counter(words) for column, words in tokens.items()}
        # FTS5 counts both columns' tokens; stems are as many as surface words.
        norm = _K1 * (1 - _B + _B * len(tokens["surface"]) / mean_length)
        total = 0.0
        for (column, phrase), idf in phrases.items():
            freq = _COLUMN_WEIGHTS[column] * _occurrences(tokens[column], counts[column], phrase)
            total += idf * freq * (_K1 + 1) / (freq + norm)
        return total

    return score


class PgSearchRows:
    """Fetch what a search needs from the PostgreSQL archive."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # Candidates fetched since a search began: its tiers can ask the same of PostgreSQL
        # (a whole phrase and its words are one tsquery when the query has no phrase).
        self._fetched: dict[tuple[object, ...], list[Any]] = {}

    async def doc_version(self) -> str:
        """Return the counter of document changes (a trigger bumps it)."""
        self._fetched.clear()  # every search begins here: nothing it fetches is older
        value = await self._pool.fetchval("SELECT value FROM state WHERE key = 'doc_version'")
        return str(value or "0")

    async def vocabulary(self) -> tuple[Iterable[Sequence[Any]], dict[str, int]]:
        """Return (column, term, passage count) rows, and the totals bm25 needs."""
        terms = await self._pool.fetch("SELECT col, term, df FROM terms")
        rows = await self._pool.fetch(
            "SELECT key, value FROM state WHERE key IN ('passages', 'surface_tokens')"
        )
        return terms, {row["key"]: int(row["value"]) for row in rows}

    async def text_holding(self, alt: Alternative) -> str | None:
        """Return the text of one passage holding an alternative."""
        query = tsquery(((alt,),))
        if query is None:
            return None
        value = await self._pool.fetchval(
            "SELECT text FROM passages WHERE terms @@ $1::tsquery LIMIT 1", query
        )
        return None if value is None else str(value)

    async def by_title(self, words: list[str], limit: int, offset: int) -> list[int]:
        """Return the first passage of each document whose headline holds every word."""
        if not all(indexable(w) for w in words):
            return []
        rows = await self._pool.fetch(
            "SELECT (SELECT id FROM passages WHERE document_id = d.id ORDER BY ordinal LIMIT 1)"
            " AS id FROM documents d"
            " WHERE array_to_tsvector(string_to_array(d.title_terms, ' ')) @@ $1::tsquery"
            " ORDER BY d.id DESC LIMIT $2 OFFSET $3",
            " & ".join(quote(w) for w in words),
            limit,
            offset,
        )
        return [row["id"] for row in rows if row["id"]]

    async def titled(self, words: list[list[str]], limit: int) -> list[Any]:
        """Return the first passage of the newest documents whose headline holds a word of
        each group, with its analysed text."""
        groups = [[w for w in group if indexable(w)] for group in words]
        if not all(groups):
            return []
        rows = await self._pool.fetch(
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id FROM ("
            " SELECT id, title_terms FROM documents"
            " WHERE array_to_tsvector(string_to_array(title_terms, ' ')) @@ $1::tsquery"
            " ORDER BY id DESC LIMIT $2) d"
            " JOIN passages p ON p.id ="
            " (SELECT id FROM passages WHERE document_id = d.id ORDER BY ordinal LIMIT 1)",
            " & ".join("(" + " | ".join(quote(w) for w in group) + ")" for group in groups),
            limit,
        )
        return list(rows)

    async def candidates(self, match: Match, limit: int, rank: Rank | None) -> list[Any]:
        """Return passages matching, best by the weights of the concepts they hold for their
        length when ranked (or newest first), with their analysed text."""
        query = tsquery(match)
        if query is None:
            return []
        params: list[object] = [query, max(limit, RERANKED * limit) if rank else limit]
        score, source, order = "0", "passages p", "p.id DESC"
        if rank:
            held = []
            for alternatives, weight, _ in rank:
                held_query = tsquery((alternatives,))
                if held_query is None:
                    continue
                if held_query == query:
                    # Every match holds it: a second test would read each match's terms again.
                    held.append(f"{weight:.6f}")
                    continue
                params.append(held_query)
                held.append(f"CASE WHEN p.terms @@ ${len(params)}::tsquery THEN {weight:.6f} END")
            # As bm25 does, a passage's length counts against it (b = 0.75).
            score = (
                f"(coalesce({' , 0) + coalesce('.join(held)}, 0))"
                " / (0.25 + 0.75 * p.length / a.len)"
            )
            order = "score DESC, p.id DESC"
            source += (
                ", (SELECT greatest(sum(value::float) FILTER (WHERE key = 'surface_tokens')"
                "  / nullif(sum(value::float) FILTER (WHERE key = 'passages'), 0), 1) AS len,"
                "  sum(value::float) FILTER (WHERE key = 'passages') AS n FROM state) a"
            )
        elif not await self._dense(match, limit):
            # Newest first along the primary key, the planner's pick for a generic plan, stops
            # early where matches are dense but reads most of the table where they are few
            # (seconds at 100,000 documents). Few are read from the index and sorted.
            order = "p.id + 0 DESC"
        # Choose the passages first, then join the chosen few: joining documents before the
        # sort hashed every document, and carried every match's texts through it.
        outer = "f.score DESC, f.id DESC" if rank else "f.id DESC"
        # Ranked candidates carry the archive's totals, which FTS5's bm25 needs.
        totals = ", a.len, a.n" if rank else ""
        sql = (
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id"
            f"{totals.replace('a.', 'f.')} FROM ("
            f" SELECT p.id, {score} AS score{totals} FROM {source}"
            f" WHERE p.terms @@ $1::tsquery ORDER BY {order} LIMIT $2) f"
            " JOIN passages p ON p.id = f.id JOIN documents d ON d.id = p.document_id"
            f" ORDER BY {outer}"
        )
        key = (sql, *params)
        if key not in self._fetched:
            self._fetched[key] = list(await self._pool.fetch(sql, *params))
        rows = self._fetched[key]
        if not rank or not rows:
            return list(rows)
        # The candidates SQLite's FTS5 would give: the best by its bm25 among the best by idf.
        bm25 = fts5_bm25(rank, float(rows[0]["n"] or 1), float(rows[0]["len"]))
        return sorted(rows, key=lambda row: -bm25(row))[:limit]

    async def _dense(self, match: Match, limit: int) -> bool:
        """Tell whether a walk newest first should find limit matches sooner than the index
        finds them all, taking the match's groups as independent."""
        words = list({t for group in match for a in group for t in a.phrase})
        rows = await self._pool.fetch(
            "SELECT col, term, df FROM terms"
            " WHERE col IN ('surface', 'stem') AND term = ANY($1::text[])"
            " UNION ALL SELECT 'passages', '', value::bigint FROM state WHERE key = 'passages'",
            words,
        )
        df = {(row["col"], row["term"]): row["df"] for row in rows}
        total = max(1, df.get(("passages", ""), 1))
        expected = float(total)
        for group in match:
            held = sum(min(df.get((a.column.value, t), 0) for t in a.phrase) for a in group)
            expected *= min(1.0, held / total)
        # The walk reads about limit * total / expected passages, the index expected: alike at
        # sqrt(limit * total).
        return expected > math.sqrt(limit * total)

    async def followers(self, ids: list[int]) -> list[Any]:
        """Return the passage after each of these, with that one's text as its context."""
        return list(
            await self._pool.fetch(
                "SELECT n.id, n.surface, n.stem, d.title_terms, n.document_id,"
                " p.surface AS context_surface,"
                " p.stem AS context_stem FROM passages p"
                " JOIN passages n ON n.document_id = p.document_id AND n.ordinal = p.ordinal + 1"
                " JOIN documents d ON d.id = n.document_id WHERE p.id = ANY($1::bigint[])",
                ids,
            )
        )

    async def texts(self, ids: list[int]) -> dict[int, str]:
        """Return the original text of these passages."""
        rows = await self._pool.fetch(
            "SELECT id, text FROM passages WHERE id = ANY($1::bigint[])", ids
        )
        return {row["id"]: row["text"] for row in rows}

    async def hits(self, ids: list[int]) -> dict[int, Any]:
        """Return the passages and documents of the results shown, by passage id."""
        rows = await self._pool.fetch(
            "SELECT p.id, p.text, p.ordinal, d.id, d.key, d.title, d.outlet, d.url, d.published,"
            " d.agency"
            " FROM passages p JOIN documents d ON d.id = p.document_id"
            " WHERE p.id = ANY($1::bigint[])",
            ids,
        )
        return {row[0]: row for row in rows}

    async def documents_of(self, ids: list[int]) -> dict[int, Copy]:
        """Return the document of each of these passages, by passage id."""
        rows = await self._pool.fetch(
            "SELECT p.id, d.id, d.key, d.title, d.outlet FROM passages p"
            " JOIN documents d ON d.id = p.document_id WHERE p.id = ANY($1::bigint[])",
            ids,
        )
        return {row[0]: Copy(row[1], row[2], row[3], row[4]) for row in rows}

    async def newest(self, match: Match, limit: int) -> list[Any]:
        """Return the newest passages matching, with their documents, for alert previews."""
        query = tsquery(match)
        if query is None:
            return []
        return list(
            await self._pool.fetch(
                "SELECT p.text, p.ordinal, p.surface, p.stem, d.id, d.key, d.title, d.outlet,"
                " d.url, d.published FROM passages p JOIN documents d ON d.id = p.document_id"
                " WHERE p.terms @@ $1::tsquery ORDER BY p.id DESC LIMIT $2",
                query,
                limit,
            )
        )

    async def rows_of(self, ids: list[int]) -> list[Any]:
        """Return these passages with their analysed text, in the order given."""
        rows = await self._pool.fetch(
            "SELECT p.id, p.surface, p.stem, d.title_terms, p.document_id FROM passages p"
            " JOIN documents d ON d.id = p.document_id WHERE p.id = ANY($1::bigint[])",
            ids,
        )
        found = {row["id"]: row for row in rows}
        return [found[i] for i in ids if i in found]

    # --- what a replica's derived index follows (search/follow.py) --------------------------

    async def archive_id(self) -> str:
        """Return the identity of this archive (migration 5)."""
        return str(await self._pool.fetchval("SELECT value FROM state WHERE key = 'archive_id'"))

    async def ends(self) -> tuple[int, int, int]:
        """Return the last passage id, the last removal and the number of passages."""
        row = await self._pool.fetchrow(
            "SELECT (SELECT coalesce(max(id), 0) FROM passages),"
            " (SELECT coalesce(max(seq), 0) FROM passage_removals),"
            " (SELECT value::bigint FROM state WHERE key = 'passages')"
        )
        return int(row[0]), int(row[1]), int(row[2] or 0)

    async def passages_after(self, passage_id: int, limit: int) -> list[Row]:
        """Return the analysed words of the passages after this id, by id."""
        rows = await self._pool.fetch(
            f"SELECT {_INDEXED} WHERE p.id > $1 ORDER BY p.id LIMIT $2", passage_id, limit
        )
        return [Row(*row) for row in rows]

    async def passages_by_id(self, ids: list[int]) -> list[Row]:
        """Return the analysed words of these passages, those that exist."""
        rows = await self._pool.fetch(f"SELECT {_INDEXED} WHERE p.id = ANY($1::bigint[])", ids)
        return [Row(*row) for row in rows]

    async def removals_after(self, seq: int, limit: int) -> list[tuple[int, int]]:
        """Return (position, passage id) of the removals after this position, in order."""
        rows = await self._pool.fetch(
            "SELECT seq, passage_id FROM passage_removals WHERE seq > $1 ORDER BY seq LIMIT $2",
            seq,
            limit,
        )
        return [(int(a), int(b)) for a, b in rows]
