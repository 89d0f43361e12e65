"""Search: plan a query, fetch candidates, score them, fold near-copies, read hits.

The pipeline is analyse -> plan -> fetch candidates -> score -> stories -> hits and snippets.
Candidates come from the derived index (search/index.py), or from the backend's own index
while that one is behind; the archive is read only through SearchRows.
"""

from __future__ import annotations

import asyncio
import gc
import html
import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from search.analysis import capitalised, tokens, word_spans
from search.follow import Follower, IndexMissing, IndexRows, IndexStatus, Progress
from search.index import PassageIndex
from search.lexicon import load_lexicon
from search.nearcopy import Shingled, Story, fold, shingled, stories
from search.plan import Alternative, Column, Concept, Kind, Match, Plan, Rank
from search.query import MAX_CONCEPTS, Stemmer, plan_query
from search.ranking import Ranking, Scorer
from search.results import Copy, SearchHit
from search.snippets import mark, matched_spans
from search.vocabulary import Vocabulary

# Since passages are scored on how much of the question they cover, FTS5's bm25 order puts
# some best answers past the 50th: ARCD inside the 29.5k archive 0.703 / 0.799 -> 0.713 /
# 0.818 at 1 / 3 from 50.
CANDIDATES = 100
# When reprints crowd the candidates (they fold into at most this share as many stories),
# the search reads this many instead, so that other stories get their turn: on seeds plus
# 500 near-copies, success@3 0.936 -> 0.972. At 200, 2 of the 251 judged queries still ranked
# differently on PostgreSQL, whose first stage reads more. An archive without copies never
# pays for it.
CROWDED_SHARE = 0.8
DEEP_CANDIDATES = 300
# The derived index ranks every passage by the BM25 of whole concepts, and its best 50 hold
# what FTS5's best 100 held at half the scoring time: ARCD inside the 29.5k archive 0.716 /
# 0.817 at 1 / 3 (0.729 / 0.841 from 100, p99 twice as long); headlines, phrases, seeds and
# seeds plus near-copies as from FTS5.
INDEX_CANDIDATES = 50
INDEX_DEEP_CANDIDATES = 150
# Up to this many postings FTS5 can rank every matching passage within a few milliseconds.
RANK_ALL_POSTINGS = 8_000
ENOUGH_SHARE = 0.6  # of the candidates wanted, in hand from a ranked set: enough
FOLD_DEPTH = 15
TITLED = 20  # newest articles whose headline holds the query's rarest concepts
# Passages holding every concept are ranked in FTS5 while these postings can be read.
RANK_ALL_AND_POSTINGS = 50_000
COMMON_SHARE = 0.2  # of the passages, held by a concept's commonest spelling
SNIPPET_WIDTH = 320
SEARCH_SLOTS = 2
PLAN_CACHE, PLAN_CACHE_CHARS = 4096, 200
MAX_SUGGESTION_TOKENS = 6
_LATIN_RE = re.compile("[a-z]")  # in normalised text, where capitals are folded
# A question's answer may be the passage after one of its best candidates: these many.
FOLLOWED = 10


class Row(Protocol):
    """A row the backend returns: read by column name or position."""

    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> Iterable[str]: ...


def _unique(rows: list[Row]) -> list[Row]:
    """Drop rows fetched twice, keeping the first."""
    first: dict[int, Row] = {}
    for row in rows:
        first.setdefault(row[0], row)
    return list(first.values())


_Ranked = tuple[Ranking, Row]


def _evidence(pair: _Ranked) -> tuple[Ranking, int]:
    # Ties go to evidence (phrase, proximity, title) before the older passage.
    return pair[0], pair[1]["id"]


def _score(
    scorer: Scorer,
    rows: list[Row],
    names: dict[int, frozenset[int]],
    scored: dict[int, Ranking] | None = None,
) -> list[_Ranked]:
    """Score candidate rows, best first; a row holding a context is scored with it.

    scored keeps the rankings of rows without a context, for a deeper read of the same query.
    """
    ranked = []
    scored = {} if scored is None else scored
    # Reprints repeat passages word for word: each text (under each headline) is scored once.
    done: dict[tuple[str, str], Ranking] = {}
    for row in rows:
        context = None
        if "context_stem" in row.keys():  # noqa: SIM118 (`in` a Row looks at its values)
            context = scorer.candidate(
                0, row["context_surface"], row["context_stem"], row["title_terms"]
            )
        same = (row["surface"], row["title_terms"])
        ranking = None
        if context is None:
            ranking = scored.get(row["id"]) or (None if row["id"] in names else done.get(same))
        if ranking is None:
            cand = scorer.candidate(
                row["id"], row["surface"], row["stem"], row["title_terms"], names.get(row["id"])
            )
            ranking = scorer.rank(cand, context)
            if context is None:
                scored[row["id"]] = ranking
                if row["id"] not in names:
                    done[same] = ranking
        ranked.append((ranking, row))
    return sorted(ranked, key=_evidence)


def _headlines(scorer: Scorer, ranked: list[_Ranked]) -> list[_Ranked]:
    """Raise the best passage of each article whose headline the query names, best first."""
    seen: set[int] = set()
    out = []
    for ranking, row in ranked:
        if row["document_id"] not in seen:
            seen.add(row["document_id"])
            bonus = scorer.headline(row["title_terms"])
            if bonus:
                ranking = ranking.plus(bonus)
        out.append((ranking, row))
    return sorted(out, key=_evidence)


def _stories(
    ranked: list[_Ranked], wanted: int, depth: int
) -> tuple[list[tuple[float, Row]], list[Story], bool]:
    """Group the best depth ranked passages into stories; tell if copies crowd them.

    Near-copies (the same passage syndicated, or lightly rewritten) are one story: one
    result, listing the documents that repeat it.
    """
    scored = [(ranking.total, row) for ranking, row in ranked[:depth]]
    shingles: dict[str, Shingled] = {}  # reprinted passages are shingled once
    for _, row in scored:
        if row["stem"] not in shingles:
            shingles[row["stem"]] = shingled(row["stem"].split())
    texts = [shingles[row["stem"]] for _, row in scored]
    groups = fold(texts, len(scored))
    found = stories(
        groups, texts, [value for value, _ in scored], [row["id"] for _, row in scored], wanted
    )
    return scored, found, len(groups) <= len(scored) * CROWDED_SHARE


def _rank(concepts: Iterable[Concept], vocab: Vocabulary) -> Rank:
    """Return how a backend without bm25 weighs the concepts a candidate holds: by idf."""
    return tuple(
        (
            c.alternatives,
            max(vocab.idf(a.column, a.phrase) for a in c.alternatives),
            tuple(vocab.postings(a.column, a.phrase) for a in c.alternatives),
        )
        for c in concepts
        if c.alternatives
    )


def _build_vocabulary(
    terms: Iterable[Sequence[Any]], totals: dict[str, int], prepare: bool
) -> Vocabulary:
    """Return the vocabulary of the term counts, with its lookup indexes if asked."""
    vocab = Vocabulary()
    tables = {c.value: vocab.df[c] for c in Column}
    for col, term, df in terms:
        tables[col][term] = df
    vocab.passages = totals.get("passages", 0)
    vocab.avg_len = totals.get("surface_tokens", 0) / vocab.passages if vocab.passages else 1.0
    if prepare:
        vocab.prepare()
    return vocab


class SearchRows(IndexRows, Protocol):
    """What a backend answers the search pipeline: the only part of search that speaks SQL."""

    async def doc_version(self) -> str: ...
    async def vocabulary(self) -> tuple[Iterable[Sequence[Any]], dict[str, int]]: ...
    async def text_holding(self, alt: Alternative) -> str | None: ...
    async def by_title(self, words: list[str], limit: int, offset: int) -> list[int]: ...
    async def titled(self, words: list[list[str]], limit: int) -> list[Any]: ...
    async def candidates(self, match: Match, limit: int, rank: Rank | None) -> list[Any]: ...
    async def followers(self, ids: list[int]) -> list[Any]: ...
    async def texts(self, ids: list[int]) -> dict[int, str]: ...
    async def hits(self, ids: list[int]) -> dict[int, Any]: ...
    async def documents_of(self, ids: list[int]) -> dict[int, Copy]: ...
    async def newest(self, match: Match, limit: int) -> list[Any]: ...
    async def rows_of(self, ids: list[int]) -> list[Any]: ...


class SearchStore:
    """The search side of the Store: its vocabulary, plans and the ranking pipeline."""

    _stem: Stemmer

    def _start_search(self, rows: SearchRows, index: PassageIndex | None) -> None:
        """Set up what searches share: the backend's rows, the derived index, the vocabulary,
        kept plans and the turns they take."""
        self._rows = rows
        # Without the derived index (or while it is behind), the backend's own index serves.
        self._follower = Follower(index, rows) if index is not None else None
        self._version = ""  # of the archive, as the last search saw it
        self._vocab: Vocabulary | None = None
        self._vocab_lock = asyncio.Lock()
        self._vocab_version: str | None = None
        self._prepare_vocab = False  # a running bot builds lookup indexes with each load
        # Paging repeats a query and popular queries recur: their plans are kept.
        self._plans: dict[str, Plan] = {}
        self._plans_for: Vocabulary | None = None
        # A search runs Python between its queries. However many users send at once, this many
        # take turns on the event loop, so that a burst of them does not stall everyone else
        # (worst stall at 10,000 documents under the bench's load: 25-62 ms, 27-32 ms with 2).
        self._slots = asyncio.Semaphore(SEARCH_SLOTS)

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
        text = await self._rows.text_holding(Alternative(Column.SURFACE, (term,), Kind.SURFACE))
        if text is None:
            return None
        for start, end, toks in word_spans(text):
            if term in toks:
                return text[start:end]
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

    async def _vocabulary(self) -> Vocabulary:
        # Triggers count every change of documents (migration 8): outbox and chat writes,
        # which are far more frequent, do not make searches reload the vocabulary.
        version = self._version = await self._rows.doc_version()
        # While a newer vocabulary loads, searches go on with the one they have.
        if self._vocab is not None and (
            version == self._vocab_version or self._vocab_lock.locked()
        ):
            return self._vocab
        async with self._vocab_lock:  # many searches arriving at once load it once
            if self._vocab is not None and version == self._vocab_version:
                return self._vocab
            self._vocab = await self._load_vocabulary()
            self._vocab_version = version
            if self._prepare_vocab:
                # A running bot keeps the vocabulary and its indexes (millions of objects at
                # scale) until the next load: the collector should not walk them all in a full
                # pass, which stalls the event loop (170 ms with a 1,000-document archive).
                gc.freeze()
            return self._vocab

    async def warm_up(self) -> None:
        """Load the vocabulary and its indexes, so that the first search pays nothing."""
        # From now on every reload builds the indexes too, off the event loop.
        self._prepare_vocab = True
        vocab = await self._vocabulary()
        if self._follower is not None:  # a short way behind: now; a long way: in the background
            await self._follower.current(self._version)
        await asyncio.to_thread(vocab.prepare)
        # What start-up loaded lives as long as the process: full collections skip it.
        gc.collect()
        gc.freeze()

    async def _load_vocabulary(self) -> Vocabulary:
        terms, totals = await self._rows.vocabulary()
        # Hundreds of thousands of terms and their lookup indexes: built off the event loop.
        return await asyncio.to_thread(_build_vocabulary, terms, totals, self._prepare_vocab)

    async def search(self, query: str, limit: int = 10, offset: int = 0) -> list[SearchHit]:
        """Return ranked passages answering the query; never raises on user input."""
        async with self._slots:
            return await self._search(query, limit, offset)

    async def _search(self, query: str, limit: int, offset: int) -> list[SearchHit]:
        if limit <= 0:
            return []
        if "&" in query:  # a headline copied from a feed or page may hold &quot;
            query = html.unescape(query)
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
        hits = [] if plan.empty else await self._run_plan(plan, vocab, limit, max(0, offset))
        return hits or await self._by_title(query, limit, max(0, offset))

    async def _by_title(self, query: str, limit: int, offset: int) -> list[SearchHit]:
        """Return the first passage of each document whose headline holds every query word."""
        stopwords = load_lexicon().stopwords
        words = [t for t in dict.fromkeys(tokens(query)) if t not in stopwords][:MAX_CONCEPTS]
        if not words:
            return []
        ids = await self._rows.by_title(words, limit, offset)
        return await self._hits([(0.0, i) for i in ids], set(words))

    async def _first_stage(
        self, plan: Plan, vocab: Vocabulary, index: PassageIndex | None, deep: bool = False
    ) -> tuple[list[Row], bool]:
        """Fetch the best candidates from the derived index, else from the backend's; tell
        whether it may hold more."""
        if index is None:
            depth = DEEP_CANDIDATES if deep else CANDIDATES
            rows = await self._candidates(plan, vocab, depth)
            return rows, len(rows) >= depth
        depth = INDEX_DEEP_CANDIDATES if deep else INDEX_CANDIDATES
        live = [
            c
            for c in plan.concepts
            if any(vocab.postings(a.column, a.phrase) for a in c.alternatives)
        ]
        ids = index.top(live, depth) if live else []
        return await self._rows.rows_of(ids), len(ids) >= depth

    async def close_search(self) -> None:
        """Stop following the archive with the derived index."""
        if self._follower is not None:
            await self._follower.close()

    async def index_status(self) -> IndexStatus | None:
        """Return how far the derived index holds the archive, or None without one."""
        return await self._follower.status() if self._follower else None

    async def follow_index(self, progress: Progress | None = None) -> IndexStatus | None:
        """Bring the derived index up to the archive now (searches do it as they need)."""
        return await self._follower.follow_all(progress) if self._follower else None

    async def reindex(self, progress: Progress | None = None) -> IndexStatus:
        """Build the derived index anew from the archive, and put it in place of the old.

        An interrupted rebuild resumes where it stopped. Raises IndexMissing without one.
        """
        if self._follower is None:
            raise IndexMissing("this archive has no derived search index (FURAT_INDEX=off)")
        return await self._follower.rebuild(progress)

    async def _candidates(self, plan: Plan, vocab: Vocabulary, depth: int) -> list[Row]:
        """Fetch candidates, planning by posting-list size so large archives stay fast.

        Passages holding the whole query come first: every concept, each phrase whole; then
        every concept. FTS5 ranks these sets by bm25 when their concepts have at most
        RANK_ALL_AND_POSTINGS postings, and walks them newest first otherwise; either way it
        stops at depth candidates. Once ENOUGH_SHARE of them are in hand from a ranked set, or
        from a set read whole, no other passage answers as well. A concept with a spelling
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
        rows, enough = await self._holding_all(plan, live, vocab, depth)
        if enough:
            return rows
        rare: list[Concept] = []
        for concept in live:
            if sum(sizes[c] for c in rare) + sizes[concept] > RANK_ALL_POSTINGS:
                break
            rare.append(concept)
        if not rare:
            # Intersecting more than two common concepts costs more than it narrows.
            lean = plan.lean(tuple(live[:2]))
            return _unique(rows + await self._rows.candidates(lean, depth, None))
        if len(rare) > 1:
            found = await self._rows.candidates(plan.all_of(tuple(rare)), depth, _rank(rare, vocab))
            rows = _unique(rows + found)
        if len(rows) < depth * ENOUGH_SHARE:
            found = await self._rows.candidates(plan.any_of(tuple(rare)), depth, _rank(rare, vocab))
            rows = _unique(rows + found)
        return rows

    async def _titled(
        self, plan: Plan, vocab: Vocabulary, index: PassageIndex | None
    ) -> list[Row]:
        """Fetch the articles whose headline best holds the query's words (by BM25, from the
        derived index), else the newest whose headline holds its two rarest concepts.

        Someone who types a headline wants its article, whose passages may not hold the
        headline's words together; the scorer then tells how much of it the query is.
        """
        heads = []
        for concept in plan.concepts:
            words = [a.phrase[0] for a in concept.alternatives if a.column is Column.SURFACE]
            size = sum(vocab.postings(Column.SURFACE, (w,)) for w in words)
            if size:
                heads.append((size, words))
        if len(heads) < 2:
            return []
        if index is not None:
            # Newest first misses the article at scale: many headlines share a few words.
            return await self._rows.rows_of(index.titled([w for _, w in heads], TITLED))
        heads.sort(key=lambda h: h[0])
        return await self._rows.titled([words for _, words in heads[:2]], TITLED)

    async def _holding_all(
        self, plan: Plan, live: list[Concept], vocab: Vocabulary, depth: int
    ) -> tuple[list[Row], bool]:
        """Fetch passages holding every concept but the commonest; tell if they suffice."""
        biggest = {c: max(vocab.postings(a.column, a.phrase) for a in c.alternatives) for c in live}
        useful = tuple(c for c in live if biggest[c] <= vocab.passages * COMMON_SHARE)
        tiers: list[Match] = []
        if len(useful) > 1 or any(a.kind is Kind.PART for c in useful for a in c.alternatives):
            tiers.append(plan.lean(useful, whole=True))
        if len(useful) > 1:
            tiers.append(plan.lean(useful))
        rank = sum(biggest[c] for c in useful) <= RANK_ALL_AND_POSTINGS
        order = _rank(useful, vocab) if rank else None
        rows: list[Row] = []
        for match in dict.fromkeys(tiers):
            found = await self._rows.candidates(match, depth, order)
            rows = _unique(rows + found)
            if len(rows) >= depth * ENOUGH_SHARE and (rank or len(found) < depth):
                return rows, True
            if len(found) == depth:
                break  # the newest passages holding more of the query: looser sets add nothing
        return rows, False

    async def _run_plan(
        self, plan: Plan, vocab: Vocabulary, limit: int, offset: int
    ) -> list[SearchHit]:
        """Retrieve candidates for a plan with FTS5 and rank them."""
        scorer = Scorer(plan, vocab)
        wanted = limit + offset
        index = await self._follower.current(self._version) if self._follower else None
        titled = await self._titled(plan, vocab, index)
        rows, more = await self._first_stage(plan, vocab, index)
        # Copies score alike and stand together: the best few dozen hold the stories shown.
        known: dict[int, Ranking] = {}  # a deeper read scores only what it adds
        ranked = await self._ranked(scorer, _unique(rows + titled), known)
        scored, found, crowded = _stories(ranked, wanted, FOLD_DEPTH + 3 * wanted)
        if crowded:  # fold every candidate, read deeper first if the index holds more
            if more:
                deeper, _ = await self._first_stage(plan, vocab, index, deep=True)
                ranked = await self._ranked(scorer, _unique(deeper + titled), known)
            scored, found, _ = _stories(ranked, wanted, len(ranked))
        found = found[offset:]
        chosen = [(story.score, scored[story.shown][1]["id"]) for story in found]
        copies = {scored[s.shown][1]["id"]: [scored[c][1]["id"] for c in s.copies] for s in found}
        return await self._hits(chosen, plan.terms(), copies)

    async def _ranked(
        self, scorer: Scorer, rows: list[Row], scored: dict[int, Ranking]
    ) -> list[_Ranked]:
        """Score candidates, best first; to a question the passage after one may answer."""
        ranked = _score(scorer, rows, await self._names(scorer, rows), scored)
        if not (scorer.follows and ranked):
            return _headlines(scorer, ranked)
        # The answer often follows the passage that states what was asked: the passages after
        # the best few are scored with the one before them as their context.
        followers = await self._rows.followers([row["id"] for _, row in ranked[:FOLLOWED]])
        best = {row["id"]: (ranking, row) for ranking, row in ranked}
        for ranking, row in _score(scorer, followers, await self._names(scorer, followers)):
            if row["id"] not in best or ranking < best[row["id"]][0]:
                best[row["id"]] = (ranking, row)
        return _headlines(scorer, sorted(best.values(), key=_evidence))

    async def _names(
        self, scorer: Scorer, rows: list[Row]
    ) -> dict[int, frozenset[int]]:
        """Return where candidates hold capitalised English words, if the question asks a name."""
        ids = [row["id"] for row in rows if _LATIN_RE.search(row["surface"])]
        if not (scorer.wants_names and ids):
            return {}
        texts = await self._rows.texts(ids)
        return {i: capitalised(text, scorer.unnamed) for i, text in texts.items()}

    async def _hits(
        self,
        chosen: list[tuple[float, int]],
        terms: set[str],
        copies: dict[int, list[int]] | None = None,
    ) -> list[SearchHit]:
        """Read the passages and documents of the final results and mark their snippets."""
        if not chosen:
            return []
        rows = await self._rows.hits([row_id for _, row_id in chosen])
        copied = [c for cs in (copies or {}).values() for c in cs]
        folded = await self._rows.documents_of(copied) if copied else {}
        hits = []
        for value, row_id in chosen:
            _, text, ordinal, doc_id, key, title, outlet, url, published, agency = rows[row_id]
            listed: dict[int, Copy] = {}
            for c in (copies or {}).get(row_id, ()):
                # A copy is another document: passages repeated inside one article are not listed.
                if c in folded and folded[c].doc_id != doc_id:
                    listed.setdefault(folded[c].doc_id, folded[c])
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
                    url=url,
                    published=published,
                    copies=tuple(listed.values()),
                    agency=agency,
                )
            )
        return hits
