"""Chats, subscriptions, matching of new documents, and the durable outbox."""

from __future__ import annotations

import asyncio
import json
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from search.engine import SearchRows
from search.lexicon import load_lexicon
from search.matching import (
    Compiled,
    PassageKeys,
    TopicIndex,
    compile_plan,
    satisfies,
)
from search.nearcopy import NEAR, fold, resemblance, shingled, unpack
from search.query import Stemmer, plan_query
from search.results import Copy, SearchHit
from search.snippets import mark, matched_spans
from search.vocabulary import Vocabulary
from storage.db import Conn, Connected, Row
from storage.models import Chat, PushKind, PushStatus, SubscribeResult, Subscription
from storage.timestamps import iso

MATCH_BATCH = 200  # documents matched per transaction
STORY_HOURS = 48  # a near-copy of a document alerted this recently to a chat is not alerted
STORY_DOCUMENTS = 5000  # at most this many documents before a run are looked at for twins
DIGEST_ROOM = 3  # rows read per digest item: room for the near-copies folded into it
# A new chat's digests start after the documents already there (or already matched).
_DIGEST_START = (
    "coalesce((SELECT CAST(value AS BIGINT) FROM state WHERE key = 'matched_doc'),"
    " (SELECT max(id) FROM documents), 0)"
)
_CHAT_COLUMNS = (
    "id",
    "type",
    "language",
    "timezone",
    "digest_time",
    "quiet_start",
    "quiet_end",
    "last_digest_at",
    "digest_doc",
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
    url: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class DigestItem:
    """A document for a digest, with the passage that matched best."""

    doc_id: int
    title: str
    outlet: str | None
    passage: str
    matches: int
    url: str | None = None
    published: str | None = None
    also: tuple[str, ...] = ()  # the other outlets of its near-copies in the digest, earliest first
    also_unnamed: int = 0  # its near-copies in the digest whose outlet is unknown


@dataclass(frozen=True)
class Digest:
    """A chat's digest: its items, and the last matched document it covers."""

    items: tuple[DigestItem, ...]
    through_doc: int


@dataclass(frozen=True)
class _Audience:
    """Chats that follow the same topics in the same language: they get the same alerts."""

    language: str
    topics: tuple[tuple[str, str], ...]  # (plan JSON, query), in subscription order
    chats: list[tuple[int, str]]  # (chat id, not before)
    members: str = ""  # the chats as JSON arrays [chat, audience, not before], comma separated


@dataclass
class _Stories:
    """What one matching run knows of recent documents, to tell near-copies of alerted ones."""

    sketches: dict[int, frozenset[int]] = field(default_factory=dict)
    index: dict[int, list[int]] = field(default_factory=dict)  # sketch hash -> documents
    alerted: set[tuple[int, int]] = field(default_factory=set)  # (audience, document)
    loaded: bool = False  # the recent documents before the run are in

    def add(self, doc_id: int, sketch: frozenset[int]) -> None:
        """Index a document's sketch."""
        self.sketches[doc_id] = sketch
        for h in sketch:
            self.index.setdefault(h, []).append(doc_id)

    def sharing(self, sketch: frozenset[int]) -> set[int]:
        """Return the indexed documents that may be near-copies of a sketch, and no fewer.

        A near-copy shares at least NEAR of the sketch's hashes (its resemblance counts only
        shared ones), so it holds one of any len - ceil(NEAR * len) + 1 of them: the rarest
        such hashes name the fewest documents. Any one hash would do for a test; in an archive
        whose common phrases land in most sketches it named every document (a 1,000-document
        matching run spent 16 of its 20 s comparing them).
        """
        rarest = sorted(sketch, key=lambda h: len(self.index.get(h, ())))
        enough = len(sketch) - math.ceil(NEAR * len(sketch)) + 1
        return {doc for h in rarest[:enough] for doc in self.index.get(h, ())}


Rendered = tuple[str, str | None]  # text, reply_markup JSON
# Unqualified, these names find the temporary tables first on both backends.
_TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS alert_members (chat_id BIGINT PRIMARY KEY,"
    " audience INTEGER NOT NULL, not_before TEXT NOT NULL)",
    "CREATE TEMP TABLE IF NOT EXISTS alert_batch (audience INTEGER, doc_id BIGINT,"
    " content_id BIGINT NOT NULL, PRIMARY KEY (audience, doc_id))",
    "CREATE TEMP TABLE IF NOT EXISTS alert_twins (doc_id BIGINT, twin_id BIGINT,"
    " PRIMARY KEY (doc_id, twin_id))",
)
AlertRenderer = Callable[[AlertMatch], Rendered]
NotBefore = Callable[[Chat, datetime], datetime]
# What a supergroup takes over from the group it was: everything but its id and type.
_MIGRATED_COLUMNS = _CHAT_COLUMNS[2:]


def _members_of(audiences: list[_Audience], wanted: set[int]) -> str:
    """Return the chats of the wanted audiences as a JSON array of [chat, audience, not before]."""
    return f"[{','.join(audiences[i].members for i in sorted(wanted) if audiences[i].members)}]"


def _one_item_per_story(rows: Iterable[Row], limit: int) -> tuple[DigestItem, ...]:
    """Fold ranked digest rows that are near-copies into the earliest of each; keep `limit`."""
    stories: list[list[tuple[Row, frozenset[int]]]] = []
    filed: dict[int, set[int]] = {}  # sketch hash -> stories holding it
    for row in rows:
        mine = unpack(row[7])
        home = next(
            (
                i
                for i in sorted({i for h in mine for i in filed.get(h, ())})
                if any(resemblance(mine, theirs) >= NEAR for _, theirs in stories[i])
            ),
            None,
        )
        if home is None:
            if len(stories) == limit:
                continue  # later rows may still be copies of a kept story
            home = len(stories)
            stories.append([])
        stories[home].append((row, mine))
        for h in mine:
            filed.setdefault(h, set()).add(home)
    items = []
    for story in stories:
        shown, *copies = sorted((row for row, _ in story), key=itemgetter(0))
        outlets = dict.fromkeys(row[2] for row in copies if row[2] and row[2] != shown[2])
        unnamed = sum(1 for row in copies if not row[2])
        doc_id, title, outlet, passage, matches, url, published, _ = shown
        items.append(
            DigestItem(
                doc_id, title, outlet, passage, matches, url, published, tuple(outlets), unnamed
            )
        )
    return tuple(items)


async def _insert_subscription(
    conn: Conn, chat_id: int, query: str, compiled: Compiled, now: datetime
) -> int:
    """Store a compiled subscription; return 1 if it was new."""
    cur = await conn.execute(
        "INSERT INTO subscriptions (chat_id, query, plan, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (chat_id, query, json.dumps(compiled, ensure_ascii=False), iso(now)),
    )
    return cur.rowcount


class PushStore(Connected):
    """The subscription side of the Store (mixed into it; shares its connection)."""

    _stem: Stemmer
    _match_lock: asyncio.Lock  # one matching run at a time, whoever asks for it
    _vocabulary: Callable[[], Awaitable[Vocabulary]]
    _rows: SearchRows

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
        # Read every time, not remembered per process: another replica may have found the chat
        # blocked since. The common case is this read alone, with no write.
        rows = await self._read.execute_fetchall(
            "SELECT active FROM chats WHERE id = ?", (chat_id,)
        )
        was_inactive = any(not row[0] for row in rows)
        if was_inactive or not rows:
            async with self._transaction() as conn:
                await conn.execute(
                    "INSERT INTO chats (id, type, language, timezone, last_digest_at, created_at,"
                    f" digest_doc) VALUES (?, ?, ?, ?, ?, ?, {_DIGEST_START})"
                    " ON CONFLICT (id) DO UPDATE SET active = 1",
                    (chat_id, chat_type, language, tz, iso(now), iso(now)),
                )
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
        """Move a group's settings, subscriptions and pending pushes to its supergroup id.

        The new id may already exist (a message from it arrived first): the group's own
        settings and subscriptions are merged into it rather than lost.
        """
        settings = ", ".join(f"{c} = old.{c}" for c in _MIGRATED_COLUMNS)
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (id, type, language, timezone, last_digest_at,"
                " created_at, digest_doc) SELECT ?, 'supergroup', language, timezone,"
                " last_digest_at, created_at, digest_doc FROM chats WHERE id = ?"
                " ON CONFLICT DO NOTHING",
                (new_id, old_id),
            )
            await conn.execute(
                f"UPDATE chats SET {settings}, active = 1"
                " FROM (SELECT * FROM chats WHERE id = ?) AS old WHERE chats.id = ?",
                (old_id, new_id),
            )
            await conn.execute(
                "INSERT INTO subscriptions (chat_id, query, plan, created_at)"
                " SELECT ?, query, plan, created_at FROM subscriptions WHERE chat_id = ?"
                " ORDER BY id ON CONFLICT DO NOTHING",
                (new_id, old_id),
            )
            await conn.execute("DELETE FROM chats WHERE id = ?", (old_id,))
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
            rows = await conn.execute_fetchall(
                "SELECT count(*), sum(CASE WHEN query = ? THEN 1 ELSE 0 END) FROM subscriptions"
                " WHERE chat_id = ?",
                (query, chat_id),
            )
            count, same = next(((row[0], row[1]) for row in rows), (0, 0))
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
                "INSERT INTO chats (id, type, language, timezone, last_digest_at,"
                f" created_at, digest_doc) VALUES (?, 'private', 'ar', ?, ?, ?, {_DIGEST_START})"
                " ON CONFLICT DO NOTHING",
                [(chat, tz, iso(now), iso(now)) for chat in {c for c, _ in pairs}],
            )
            count = 0
            for chat, query in pairs:
                if compiled[query]:
                    count += await _insert_subscription(conn, chat, query, compiled[query], now)
        return count

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        """Return a chat's subscriptions, oldest first."""
        rows = await self._read.execute_fetchall(
            "SELECT id, chat_id, query FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)
        )
        return [Subscription(*row) for row in rows]

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
        # The index narrows to passages holding every concept; the alert test itself decides.
        rows = await self._rows.newest(plan.all_of(plan.concepts), scan)
        matching = [
            row
            for row in rows
            if satisfies(compiled, PassageKeys.of(row["surface"].split(), row["stem"].split()))
        ]
        # A passage syndicated or lightly rewritten in other documents is shown once.
        groups = fold([shingled(row["stem"].split()) for row in matching], limit)
        terms = plan.terms()
        hits: list[SearchHit] = []
        for i, folded in groups:
            text, ordinal, _, _, doc_id, key, title, outlet, url, published = matching[i]
            copies: dict[int, Copy] = {}
            for row in (matching[c] for c in folded):
                if row["id"] != doc_id:
                    copy = Copy(row["id"], row["key"], row["title"], row["outlet"])
                    copies.setdefault(copy.doc_id, copy)
            snippet = mark(text, matched_spans(text, terms), width=320)
            hits.append(
                SearchHit(
                    doc_id,
                    key,
                    title,
                    outlet,
                    text,
                    ordinal,
                    0.0,
                    snippet,
                    url,
                    published,
                    tuple(copies.values()),
                )
            )
        return hits

    # --- matching new documents ----------------------------------------------------------

    async def _state(self, key: str, default: str) -> str:
        rows = await self._read.execute_fetchall(
            "SELECT value FROM state WHERE key = ?", (key,)
        )
        return next((str(row[0]) for row in rows), default)

    async def mark_documents_seen(self) -> None:
        """Start matching after the documents already in the archive (first run)."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO state (key, value)"
                " SELECT 'matched_doc', CAST(coalesce(max(id), 0) AS TEXT) FROM documents"
                " WHERE true ON CONFLICT DO NOTHING"
            )

    async def match_new_documents(
        self, render: AlertRenderer, not_before: NotBefore, now: datetime
    ) -> int:
        """Write one alert per (chat, new document) to the outbox; return how many.

        One run at a time: a second caller waits, then finds the documents already matched.
        """
        async with self._match_lock:
            return await self._match_new_documents(render, not_before, now)

    async def _match_new_documents(
        self, render: AlertRenderer, not_before: NotBefore, now: datetime
    ) -> int:
        await self.mark_documents_seen()
        last = int(await self._state("matched_doc", "0"))
        audiences: list[_Audience] | None = None
        writing: asyncio.Task[int] | None = None
        written = 0
        stories = _Stories()
        while docs := list(
            await self._read.execute_fetchall(
                "SELECT id, title, outlet, url, published, sketch FROM documents WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (last, MATCH_BATCH),
            )
        ):
            last = docs[-1]["id"]
            if audiences is None:
                audiences = await self._audiences(not_before, now)
            # Matching and rendering in this thread overlap the previous batch's writes.
            alerts, topics = await self._alerts_for(docs, audiences) if audiences else ([], [])
            alerts, twins = await self._one_per_story(docs, alerts, stories, now)
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
            members = _members_of(audiences or [], {audience for audience, _, _ in batch})
            if writing:
                written += await writing
            writing = asyncio.create_task(
                self._write_alerts(shared, batch, members, topics, last, now, twins)
            )
        if writing:
            written += await writing
        return written

    async def _write_alerts(
        self,
        shared: list[Rendered],
        batch: list[tuple[int, int, int]],
        members: str,
        topics: list[tuple[str, int, int]],
        last: int,
        now: datetime,
        twins: list[tuple[int, int]],
    ) -> int:
        """Store rendered contents and fan (audience, document, content) out to the outbox.

        A chat already alerted to a twin (a near-copy, within STORY_HOURS) of a document is
        not alerted to the document.
        """
        async with self._transaction() as conn:
            # Ids are chosen here: no other writer can run inside this transaction.
            found = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM push_contents")
            base = int(next(iter(found))[0]) + 1
            await conn.executemany(
                "INSERT INTO push_contents (id, text, reply_markup) VALUES (?, ?, ?)",
                [(base + i, text, markup) for i, (text, markup) in enumerate(shared)],
            )
            # The temporary tables live only inside this transaction, which holds the write
            # lock: no other task can see or change them, and they are left empty.
            for ddl in _TEMP_TABLES:
                await conn.execute(ddl)
            await conn.execute(
                "INSERT INTO alert_members (chat_id, audience, not_before)"
                " SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS INTEGER), value ->> 2"
                f" FROM {self._dialect.json_items}",
                (members,),
            )
            await conn.executemany(
                "INSERT INTO alert_batch (audience, doc_id, content_id) VALUES (?, ?, ?)",
                [(audience, doc_id, base + slot) for audience, doc_id, slot in batch],
            )
            await conn.executemany(
                "INSERT INTO alert_twins (doc_id, twin_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                twins,
            )
            if self._dialect.analyze_temp:
                await conn.execute("ANALYZE alert_members, alert_batch, alert_twins")
            # SQLite fans each alert out to its audience's chats. Walking the chats in id order
            # (CROSS JOIN keeps them the outer loop) writes rows in nearly key order, so
            # consecutive inserts touch neighbouring index pages, without a sort.
            cur = await conn.execute(
                "INSERT INTO outbox (idempotency_key, chat_id, kind, text,"
                " content_id, not_before, created_at)"
                " SELECT 'alert:' || m.chat_id || ':' || b.doc_id, m.chat_id, ?, '',"
                " b.content_id, m.not_before, ?"
                f" FROM alert_members m {self._dialect.fan_join} alert_batch b"
                " ON b.audience = m.audience"
                " WHERE NOT EXISTS (SELECT 1 FROM alert_twins w JOIN outbox o"
                "  ON o.idempotency_key = 'alert:' || m.chat_id || ':' || w.twin_id"
                "  WHERE w.doc_id = b.doc_id AND o.created_at >= ? AND o.status IN (?, ?, ?))"
                " ON CONFLICT DO NOTHING",
                (
                    PushKind.ALERT,
                    iso(now),
                    iso(now - timedelta(hours=STORY_HOURS)),
                    PushStatus.PENDING,
                    PushStatus.SENDING,
                    PushStatus.SENT,
                ),
            )
            await conn.execute("DELETE FROM alert_members")
            await conn.execute("DELETE FROM alert_batch")
            await conn.execute("DELETE FROM alert_twins")
            # Digests read these instead of the passages.
            await conn.executemany(
                "INSERT INTO topic_matches (topic, doc_id, passage_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                topics,
            )
            # The high-water mark moves in the same transaction as the alerts it covers.
            await conn.execute(
                "INSERT INTO state (key, value) VALUES ('matched_doc', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(last),),
            )
        return int(cur.rowcount)

    async def _one_per_story(
        self,
        docs: list[Row],
        alerts: list[tuple[int, AlertMatch]],
        stories: _Stories,
        now: datetime,
    ) -> tuple[list[tuple[int, AlertMatch]], list[tuple[int, int]]]:
        """Drop the alerts whose story this run already alerted to the same audience; return
        the rest, and (document, twin) for every earlier near-copy the outbox must be asked about.

        Twins are looked for among the latest STORY_DOCUMENTS documents of the last STORY_HOURS
        and this run's alerted ones: only those sharing a sketch hash are compared.
        """
        sketches = {doc["id"]: unpack(doc["sketch"]) for doc in docs if doc["sketch"]}
        if not stories.loaded and sketches:
            stories.loaded = True
            first = min(sketches)
            rows = await self._read.execute_fetchall(
                "SELECT id, sketch FROM documents WHERE id >= ? AND id < ?"
                " AND sketch IS NOT NULL AND ingested_at >= ?",
                (first - STORY_DOCUMENTS, first, iso(now - timedelta(hours=STORY_HOURS))),
            )
            for doc_id, encoded in rows:
                stories.add(doc_id, unpack(encoded))
        twins_of: dict[int, list[int]] = {}
        for doc_id in sorted({match.doc_id for _, match in alerts if match.doc_id in sketches}):
            mine = sketches[doc_id]
            others = stories.sharing(mine)
            twins_of[doc_id] = sorted(
                other
                for other in others
                if other < doc_id and resemblance(mine, stories.sketches[other]) >= NEAR
            )
            stories.add(doc_id, mine)
        kept = []
        for audience, match in alerts:
            twins = twins_of.get(match.doc_id, ())
            # This run's own alerts are not in the outbox yet when the batch is written.
            if any((audience, twin) in stories.alerted for twin in twins):
                continue
            stories.alerted.add((audience, match.doc_id))
            kept.append((audience, match))
        return kept, [(doc_id, twin) for doc_id, twins in twins_of.items() for twin in twins]

    async def _audiences(self, not_before: NotBefore, now: datetime) -> list[_Audience]:
        """Group the active chats by what they follow."""
        rows = await self._read.execute_fetchall(
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
        # Encoded once per run: each batch of documents sends the audiences it alerts.
        return [
            replace(a, members=",".join(json.dumps([c, i, nb]) for c, nb in a.chats))
            for i, a in enumerate(groups.values())
        ]

    async def _alerts_for(
        self, docs: list[Row], audiences: list[_Audience]
    ) -> tuple[list[tuple[int, AlertMatch]], list[tuple[str, int, int]]]:
        """Return (audience, alert) for every audience that follows a topic of a document,
        and (topic, document, first passage) for every topic a document matched."""
        index = TopicIndex()
        following: dict[str, list[int]] = defaultdict(list)  # topic -> audiences
        for i, audience in enumerate(audiences):
            for plan in dict.fromkeys(plan for plan, _ in audience.topics):
                index.add(plan)
                following[plan].append(i)
        hits: dict[int, list[tuple[str, set[str]]]] = defaultdict(list)
        first: dict[tuple[str, int], int] = {}  # (topic, document) -> passage
        passages = await self._read.execute_fetchall(
            "SELECT document_id, id, text, surface, stem FROM passages"
            f" WHERE document_id IN ({','.join('?' * len(docs))}) ORDER BY document_id, ordinal",
            [doc["id"] for doc in docs],
        )
        for n, (doc_id, passage_id, text, surface, stem) in enumerate(passages, 1):
            topics = index.matches(PassageKeys.of(surface.split(), stem.split()))
            if topics:
                hits[doc_id].append((text, topics))
                for topic in topics:
                    first.setdefault((topic, doc_id), passage_id)
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
                    audiences[i].language,
                    doc["id"],
                    doc["title"],
                    doc["outlet"],
                    queries,
                    passage,
                    doc["url"],
                    doc["published"],
                )
                alerts.append((i, alert))
        return alerts, [(topic, doc, passage) for (topic, doc), passage in first.items()]

    async def _rows_in(self, sql: str, ids: set[int]) -> list[Row]:
        """Run sql, whose `{}` takes the placeholders, for ids 500 at a time (SQLite's limit)."""
        ordered = sorted(ids)
        rows: list[Row] = []
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            rows += await self._read.execute_fetchall(sql.format(",".join("?" * len(chunk))), chunk)
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
        rows = await self._read.execute_fetchall(
            "SELECT id FROM chats WHERE digest_time IS NOT NULL AND active = 1"
        )
        ids = [row[0] for row in rows]
        chats = await self._chats(set(ids))
        return [chats[i] for i in ids if i in chats]

    async def digest_items(self, chat: Chat, limit: int, since_doc: int | None = None) -> Digest:
        """Return what matched the chat's subscriptions after its last digest, best first.

        Matching records the topics each new document met, so this reads an index range per
        subscription, whatever the size of the archive. A chat without subscriptions gets the
        latest documents. Near-copies are one item, shown by the earliest, naming the others.
        """
        since = chat.digest_doc if since_doc is None else since_doc
        through = int(await self._state("matched_doc", "0"))
        # Near-copies fold into one item: a few more rows keep the digest `limit` items long.
        wanted = limit * DIGEST_ROOM
        rows = await self._read.execute_fetchall(
            "SELECT d.id, d.title, d.outlet, coalesce(p.text, ''), m.n, d.url, d.published,"
            " d.sketch FROM ("
            "  SELECT t.doc_id, count(DISTINCT t.topic) AS n, min(t.passage_id) AS passage_id"
            "  FROM subscriptions s JOIN topic_matches t ON t.topic = s.plan"
            "  WHERE s.chat_id = ? AND t.doc_id > ? AND t.doc_id <= ?"
            "  GROUP BY t.doc_id ORDER BY n DESC, t.doc_id DESC LIMIT ?) m"
            " JOIN documents d ON d.id = m.doc_id LEFT JOIN passages p ON p.id = m.passage_id"
            " ORDER BY m.n DESC, d.id DESC",
            (chat.id, since, through, wanted),
        )
        if not rows and not await self.subscriptions(chat.id):
            rows = await self._read.execute_fetchall(
                "SELECT d.id, d.title, d.outlet, coalesce((SELECT text FROM passages"
                "  WHERE document_id = d.id ORDER BY ordinal LIMIT 1), ''), 0, d.url, d.published,"
                " d.sketch FROM documents d WHERE d.id > ? AND d.id <= ?"
                " ORDER BY d.id DESC LIMIT ?",
                (since, through, wanted),
            )
        return Digest(_one_item_per_story(rows, limit), max(since, through))

    async def enqueue_digest(
        self,
        chat: Chat,
        occurrence: datetime,
        rendered: Rendered | None,
        through_doc: int,
        now: datetime,
    ) -> bool:
        """Write a digest (if any) and move the chat's digest mark, in one transaction."""
        written = False
        async with self._transaction() as conn:
            if rendered is not None:
                text, markup = rendered
                cur = await conn.execute(
                    "INSERT INTO outbox (idempotency_key, chat_id, kind, text,"
                    " reply_markup, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
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
                "UPDATE chats SET last_digest_at = ?,"
                " digest_doc = CASE WHEN digest_doc > ? THEN digest_doc ELSE ? END WHERE id = ?",
                (iso(occurrence), through_doc, through_doc, chat.id),
            )
        return written
