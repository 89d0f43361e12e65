"""Chats, subscriptions, matching of new documents, and the durable outbox."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

import aiosqlite

from storage.lexicon import load_lexicon
from storage.matching import (
    Compiled,
    PassageKeys,
    TopicIndex,
    compile_plan,
    satisfies,
)
from storage.models import (
    Chat,
    PushKind,
    PushStatus,
    SearchHit,
    SubscribeResult,
    Subscription,
)
from storage.query import Stemmer, plan_query
from storage.snippets import mark, matched_spans
from storage.timestamps import iso
from storage.vocabulary import Vocabulary

MATCH_BATCH = 200  # documents matched per transaction
_CHAT_COLUMNS = (
    "id",
    "type",
    "language",
    "timezone",
    "digest_time",
    "quiet_start",
    "quiet_end",
    "last_digest_at",
)


@dataclass(frozen=True)
class AlertMatch:
    """A new document that matched some of the topics an audience follows."""

    language: str
    doc_id: int
    title: str
    outlet: str | None
    queries: tuple[str, ...]
    passage: str


@dataclass(frozen=True)
class DigestItem:
    """A document for a digest, with the passage that matched best."""

    doc_id: int
    title: str
    outlet: str | None
    passage: str
    matches: int


@dataclass(frozen=True)
class _Audience:
    """Chats that follow the same topics in the same language: they get the same alerts."""

    language: str
    topics: tuple[tuple[str, str], ...]  # (plan JSON, query), in subscription order
    chats: list[tuple[int, str]]  # (chat id, not before)


Rendered = tuple[str, str | None]  # text, reply_markup JSON
AlertRenderer = Callable[[AlertMatch], Rendered]
NotBefore = Callable[[Chat, datetime], datetime]


async def _insert_subscription(
    conn: aiosqlite.Connection, chat_id: int, query: str, compiled: Compiled, now: datetime
) -> int:
    """Store a compiled subscription; return 1 if it was new."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO subscriptions (chat_id, query, plan, created_at)"
        " VALUES (?, ?, ?, ?)",
        (chat_id, query, json.dumps(compiled, ensure_ascii=False), iso(now)),
    )
    return cur.rowcount


class PushStore:
    """The subscription side of the Store (mixed into it; shares its connection)."""

    _conn: aiosqlite.Connection
    _stem: Stemmer
    _known_active: set[int]  # chats this process saw active: touching them needs no write
    _write_lock: asyncio.Lock
    _transaction: Callable[[], AbstractAsyncContextManager[aiosqlite.Connection]]
    _vocabulary: Callable[[], Awaitable[Vocabulary]]

    # --- chats ---------------------------------------------------------------------------

    async def ensure_chat(
        self, chat_id: int, chat_type: str, language: str, tz: str, now: datetime
    ) -> Chat:
        """Return the chat, creating it with defaults on first use."""
        await self.touch_chat(chat_id, chat_type, language, tz, now)
        chat = await self.chat(chat_id)
        assert chat is not None
        return chat

    async def touch_chat(
        self, chat_id: int, chat_type: str, language: str, tz: str, now: datetime
    ) -> bool:
        """Record that a chat wrote: create it, or make it active again; tell if it was inactive."""
        if chat_id in self._known_active:  # the common case costs no write
            return False
        rows = await self._conn.execute_fetchall(
            "SELECT active FROM chats WHERE id = ?", (chat_id,)
        )
        was_inactive = any(not row[0] for row in rows)
        if was_inactive or not rows:
            async with self._write_lock:  # one statement, outside any open transaction
                await self._conn.execute_fetchall(
                    "INSERT INTO chats (id, type, language, timezone, last_digest_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET active = 1",
                    (chat_id, chat_type, language, tz, iso(now), iso(now)),
                )
        self._known_active.add(chat_id)
        return was_inactive

    async def chat(self, chat_id: int) -> Chat | None:
        """Return one chat's settings."""
        return (await self._chats({chat_id})).get(chat_id)

    async def update_chat(self, chat_id: int, **values: Any) -> None:
        """Change chat settings (timezone, digest_time, quiet_start, quiet_end, language...)."""
        allowed = {
            "timezone",
            "digest_time",
            "quiet_start",
            "quiet_end",
            "language",
            "last_digest_at",
        }
        assert set(values) <= allowed, values
        sets = ", ".join(f"{k} = ?" for k in values)
        async with self._transaction() as conn:
            await conn.execute(f"UPDATE chats SET {sets} WHERE id = ?", (*values.values(), chat_id))

    async def set_active(self, chat_id: int, active: bool) -> bool:
        """Mark a chat active or inactive; tell whether anything changed."""
        self._known_active.discard(chat_id)
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE chats SET active = ? WHERE id = ? AND active != ?",
                (int(active), chat_id, int(active)),
            )
            if not active:
                await conn.execute(
                    "UPDATE outbox SET status = ?, last_error = 'chat inactive'"
                    " WHERE chat_id = ? AND status = ?",
                    (PushStatus.CANCELLED, chat_id, PushStatus.PENDING),
                )
        return cur.rowcount > 0

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Move a group's settings, subscriptions and pending pushes to its supergroup id."""
        self._known_active.difference_update((old_id, new_id))
        async with self._transaction() as conn:
            await conn.execute("UPDATE OR IGNORE chats SET id = ? WHERE id = ?", (new_id, old_id))
            await conn.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND status IN (?, ?)",
                (new_id, old_id, PushStatus.PENDING, PushStatus.SENDING),
            )

    # --- subscriptions -------------------------------------------------------------------

    async def subscribe(self, chat_id: int, query: str, limit: int) -> SubscribeResult:
        """Follow a query in a chat (the chat must exist)."""
        query = " ".join(query.split())
        vocab = await self._vocabulary()
        plan = plan_query(query, vocab, load_lexicon(), self._stem)
        compiled = compile_plan(plan, vocab)
        if not compiled:
            return SubscribeResult.EMPTY
        async with self._transaction() as conn:
            async with conn.execute(
                "SELECT count(*), sum(query = ?) FROM subscriptions WHERE chat_id = ?",
                (query, chat_id),
            ) as cur:
                row = await cur.fetchone()
            count, same = (row[0], row[1]) if row else (0, 0)
            if same:
                return SubscribeResult.EXISTS
            if count >= limit:
                return SubscribeResult.LIMIT
            await _insert_subscription(conn, chat_id, query, compiled, datetime.now(UTC))
        return SubscribeResult.ADDED

    async def subscribe_many(self, pairs: list[tuple[int, str]], tz: str, now: datetime) -> int:
        """Subscribe many (chat, query) pairs at once, compiling each distinct query once."""
        vocab = await self._vocabulary()
        lexicon = load_lexicon()
        compiled = {
            q: compile_plan(plan_query(q, vocab, lexicon, self._stem), vocab)
            for q in {q for _, q in pairs}
        }
        async with self._transaction() as conn:
            await conn.executemany(
                "INSERT OR IGNORE INTO chats (id, type, language, timezone, last_digest_at,"
                " created_at) VALUES (?, 'private', 'ar', ?, ?, ?)",
                [(chat, tz, iso(now), iso(now)) for chat in {c for c, _ in pairs}],
            )
            count = 0
            for chat, query in pairs:
                if compiled[query]:
                    count += await _insert_subscription(conn, chat, query, compiled[query], now)
        return count

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        """Return a chat's subscriptions, oldest first."""
        async with self._conn.execute(
            "SELECT id, chat_id, query FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)
        ) as cur:
            return [Subscription(*row) for row in await cur.fetchall()]

    async def unsubscribe(
        self, chat_id: int, sub_id: int | None = None, query: str | None = None
    ) -> bool:
        """Stop following one subscription (by id or by query); tell whether it existed."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM subscriptions WHERE chat_id = ? AND (id = ? OR query = ?)",
                (chat_id, sub_id, " ".join((query or "").split()) or None),
            )
        return cur.rowcount > 0

    async def would_alert(self, query: str, limit: int, scan: int = 200) -> list[SearchHit]:
        """Return the newest passages (of the latest `scan` holding the query) it would alert on."""
        vocab = await self._vocabulary()
        plan = plan_query(" ".join(query.split()), vocab, load_lexicon(), self._stem)
        compiled = compile_plan(plan, vocab)
        if not compiled:
            return []
        # FTS5 narrows to passages holding every concept; the alert test itself decides.
        rows = await self._conn.execute_fetchall(
            "SELECT p.text, p.ordinal, p.surface, p.stem, d.id, d.key, d.title, d.outlet FROM ("
            " SELECT rowid AS id FROM passages_fts WHERE passages_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?) f"
            " JOIN passages p ON p.id = f.id JOIN documents d ON d.id = p.document_id"
            " ORDER BY p.id DESC",
            (plan.all_expression(), scan),
        )
        hits: list[SearchHit] = []
        seen: set[str] = set()
        terms = plan.terms()
        for text, ordinal, surface, stem, doc_id, key, title, outlet in rows:
            keys = PassageKeys.of(surface.split(), stem.split())
            if surface in seen or not satisfies(compiled, keys):
                continue
            seen.add(surface)  # a passage syndicated in two documents is shown once
            snippet = mark(text, matched_spans(text, terms), width=320)
            hits.append(SearchHit(doc_id, key, title, outlet, text, ordinal, 0.0, snippet))
            if len(hits) >= limit:
                break
        return hits

    # --- matching new documents ----------------------------------------------------------

    async def _state(self, key: str, default: str) -> str:
        async with self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else default

    async def mark_documents_seen(self) -> None:
        """Start matching after the documents already in the archive (first run)."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO state (key, value)"
                " SELECT 'matched_doc', coalesce(max(id), 0) FROM documents"
            )

    async def match_new_documents(
        self, render: AlertRenderer, not_before: NotBefore, now: datetime
    ) -> int:
        """Write one alert per (chat, new document) to the outbox; return how many."""
        await self.mark_documents_seen()
        last = int(await self._state("matched_doc", "0"))
        audiences: list[_Audience] | None = None
        writing: asyncio.Task[int] | None = None
        written = 0
        while docs := list(
            await self._conn.execute_fetchall(
                "SELECT id, title, outlet FROM documents WHERE id > ? ORDER BY id LIMIT ?",
                (last, MATCH_BATCH),
            )
        ):
            last = docs[-1]["id"]
            if audiences is None:
                audiences = await self._audiences(not_before, now)
            # Matching and rendering in this thread overlap the previous batch's writes.
            alerts = await self._alerts_for(docs, audiences) if audiences else []
            contents: dict[AlertMatch, int] = {}  # content -> its place in `shared`
            shared: list[Rendered] = []
            batch = []
            for audience, match in alerts:
                # Audiences can share an alert's content; render and store each distinct one once.
                slot = contents.get(match)
                if slot is None:
                    slot = contents[match] = len(shared)
                    shared.append(render(match))
                    if slot % 16 == 0:
                        await asyncio.sleep(0)  # let the writing batch send its next statement
                batch.append((audience, match.doc_id, slot))
            if writing:
                written += await writing
            writing = asyncio.create_task(self._write_alerts(shared, batch, last, now))
        if writing:
            written += await writing
        if audiences:
            await self._conn.execute_fetchall("DELETE FROM temp.alert_members")
        return written

    async def _write_alerts(
        self, shared: list[Rendered], batch: list[tuple[int, int, int]], last: int, now: datetime
    ) -> int:
        """Store rendered contents and fan (audience, document, content) out to the outbox."""
        async with self._transaction() as conn:
            # Ids are chosen here: no other writer can run inside this transaction.
            found = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM push_contents")
            base = int(next(iter(found))[0]) + 1
            await conn.executemany(
                "INSERT INTO push_contents (id, text, reply_markup) VALUES (?, ?, ?)",
                [(base + i, text, markup) for i, (text, markup) in enumerate(shared)],
            )
            await conn.execute("DELETE FROM temp.alert_batch")
            await conn.executemany(
                "INSERT INTO temp.alert_batch (audience, doc_id, content_id) VALUES (?, ?, ?)",
                [(audience, doc_id, base + slot) for audience, doc_id, slot in batch],
            )
            # SQLite fans each alert out to its audience's chats. Walking the chats in id order
            # (CROSS JOIN keeps them the outer loop) writes rows in nearly key order, so
            # consecutive inserts touch neighbouring index pages, without a sort.
            cur = await conn.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, chat_id, kind, text,"
                " content_id, not_before, created_at)"
                " SELECT 'alert:' || m.chat_id || ':' || b.doc_id, m.chat_id, ?, '',"
                " b.content_id, m.not_before, ?"
                " FROM temp.alert_members m CROSS JOIN temp.alert_batch b USING (audience)",
                (PushKind.ALERT, iso(now)),
            )
            # The high-water mark moves in the same transaction as the alerts it covers.
            await conn.execute(
                "INSERT INTO state (key, value) VALUES ('matched_doc', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(last),),
            )
        return int(cur.rowcount)

    async def _audiences(self, not_before: NotBefore, now: datetime) -> list[_Audience]:
        """Group the active chats by what they follow; store who belongs to which group."""
        rows = await self._conn.execute_fetchall(
            f"SELECT {', '.join('c.' + f for f in _CHAT_COLUMNS)}, s.plan, s.query"
            " FROM subscriptions s"
            " JOIN chats c ON c.id = s.chat_id WHERE c.active = 1 ORDER BY s.chat_id, s.id"
        )
        groups: dict[tuple[str, tuple[tuple[str, str], ...]], _Audience] = {}
        for _, chat_rows in groupby(rows, key=itemgetter(0)):
            subs = list(chat_rows)
            chat = Chat(**{f: subs[0][f] for f in _CHAT_COLUMNS}, active=True)
            key = (chat.language, tuple((row["plan"], row["query"]) for row in subs))
            if key not in groups:
                groups[key] = _Audience(*key, [])
            groups[key].chats.append((chat.id, iso(not_before(chat, now))))
        audiences = list(groups.values())
        async with self._transaction() as conn:
            await conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS alert_members (chat_id INTEGER PRIMARY KEY,"
                " audience INTEGER NOT NULL, not_before TEXT NOT NULL)"
            )
            await conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS alert_batch (audience INTEGER, doc_id INTEGER,"
                " content_id INTEGER NOT NULL, PRIMARY KEY (audience, doc_id)) WITHOUT ROWID"
            )
            await conn.execute("DELETE FROM temp.alert_members")
            await conn.executemany(
                "INSERT INTO temp.alert_members (chat_id, audience, not_before) VALUES (?, ?, ?)",
                sorted((chat, i, nb) for i, a in enumerate(audiences) for chat, nb in a.chats),
            )
        return audiences

    async def _alerts_for(
        self, docs: list[aiosqlite.Row], audiences: list[_Audience]
    ) -> list[tuple[int, AlertMatch]]:
        """Return (audience, alert) for every audience that follows a topic of a document."""
        index = TopicIndex()
        following: dict[str, list[int]] = defaultdict(list)  # topic -> audiences
        for i, audience in enumerate(audiences):
            for plan in dict.fromkeys(plan for plan, _ in audience.topics):
                index.add(plan)
                following[plan].append(i)
        hits: dict[int, list[tuple[str, set[str]]]] = defaultdict(list)
        passages = await self._conn.execute_fetchall(
            "SELECT document_id, text, surface, stem FROM passages"
            f" WHERE document_id IN ({','.join('?' * len(docs))}) ORDER BY document_id, ordinal",
            [doc["id"] for doc in docs],
        )
        for n, (doc_id, text, surface, stem) in enumerate(passages, 1):
            topics = index.matches(PassageKeys.of(surface.split(), stem.split()))
            if topics:
                hits[doc_id].append((text, topics))
            if n % 64 == 0:
                await asyncio.sleep(0)  # a batch may be writing: let it send its next statement
        alerts = []
        for doc in docs:
            found = hits.get(doc["id"])
            if not found:
                continue
            topics = set().union(*(t for _, t in found))
            for i in sorted({i for topic in topics for i in following[topic]}):
                wanted = {plan for plan, _ in audiences[i].topics}
                # The best passage is the first that matches the most of the audience's topics.
                passage = max(found, key=lambda hit: len(wanted & hit[1]))[0]
                queries = tuple(q for plan, q in audiences[i].topics if plan in topics)
                alert = AlertMatch(
                    audiences[i].language, doc["id"], doc["title"], doc["outlet"], queries, passage
                )
                alerts.append((i, alert))
        return alerts

    async def _rows_in(self, sql: str, ids: set[int]) -> list[aiosqlite.Row]:
        """Run sql, whose `{}` takes the placeholders, for ids 500 at a time (SQLite's limit)."""
        ordered = sorted(ids)
        rows: list[aiosqlite.Row] = []
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            rows += await self._conn.execute_fetchall(sql.format(",".join("?" * len(chunk))), chunk)
        return rows

    async def _chats(self, ids: set[int]) -> dict[int, Chat]:
        rows = await self._rows_in(
            f"SELECT {', '.join(_CHAT_COLUMNS)}, active FROM chats WHERE id IN ({{}})",
            ids,
        )
        return {row[0]: Chat(**{**dict(row), "active": bool(row["active"])}) for row in rows}

    # --- digests -------------------------------------------------------------------------

    async def digest_chats(self) -> list[Chat]:
        """Return active chats that chose a digest time."""
        async with self._conn.execute(
            "SELECT id FROM chats WHERE digest_time IS NOT NULL AND active = 1"
        ) as cur:
            ids = [row[0] for row in await cur.fetchall()]
        chats = await self._chats(set(ids))
        return [chats[i] for i in ids if i in chats]

    async def digest_items(self, chat: Chat, since: str, limit: int) -> list[DigestItem]:
        """Return documents ingested after since that match the chat's subscriptions."""
        async with self._conn.execute(
            "SELECT id, title, outlet FROM documents WHERE ingested_at > ? ORDER BY id",
            (since,),
        ) as cur:
            docs = list(await cur.fetchall())
        if not docs:
            return []
        subs = await self.subscriptions(chat.id)
        if not subs:
            items = []
            for doc in docs[-limit:][::-1]:
                async with self._conn.execute(
                    "SELECT text FROM passages WHERE document_id = ? ORDER BY ordinal LIMIT 1",
                    (doc["id"],),
                ) as cur:
                    row = await cur.fetchone()
                items.append(
                    DigestItem(doc["id"], doc["title"], doc["outlet"], row[0] if row else "", 0)
                )
            return items
        index = TopicIndex()
        for (plan,) in await self._conn.execute_fetchall(
            "SELECT plan FROM subscriptions WHERE chat_id = ?", (chat.id,)
        ):
            index.add(plan)
        by_doc = {d["id"]: d for d in docs}
        best: dict[int, tuple[int, str]] = {}
        async with self._conn.execute(
            "SELECT document_id, text, surface, stem FROM passages"
            f" WHERE document_id IN ({','.join('?' * len(docs))})",
            tuple(by_doc),
        ) as cur:
            async for doc_id, text, surface, stem in cur:
                n = len(index.matches(PassageKeys.of(surface.split(), stem.split())))
                if n and n > best.get(doc_id, (0, ""))[0]:
                    best[doc_id] = (n, text)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[0]))[:limit]
        return [
            DigestItem(d, by_doc[d]["title"], by_doc[d]["outlet"], text, n)
            for d, (n, text) in ranked
        ]

    async def enqueue_digest(
        self, chat: Chat, occurrence: datetime, rendered: Rendered | None, now: datetime
    ) -> bool:
        """Write a digest (if any) and move the chat's digest mark, in one transaction."""
        written = False
        async with self._transaction() as conn:
            if rendered is not None:
                text, markup = rendered
                cur = await conn.execute(
                    "INSERT OR IGNORE INTO outbox (idempotency_key, chat_id, kind, text,"
                    " reply_markup, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        f"digest:{chat.id}:{iso(occurrence)}",
                        chat.id,
                        PushKind.DIGEST,
                        text,
                        markup,
                        iso(now),
                        iso(now),
                    ),
                )
                written = cur.rowcount > 0
            await conn.execute(
                "UPDATE chats SET last_digest_at = ? WHERE id = ?", (iso(occurrence), chat.id)
            )
        return written
