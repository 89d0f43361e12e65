"""The durable outbox: every push is a row before it is sent, and its outcome after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from storage.db import Connected
from storage.models import Push, PushKind, PushStatus, QueueStatus
from storage.timestamps import iso

# A claimed push is due again if its outcome is not recorded by then: far longer than any send
# with its retries takes, so a live sender never sees its own row claimed twice.
SEND_LEASE = timedelta(minutes=10)


class OutboxStore(Connected):
    """The outbox side of the Store (mixed into it; shares its connections)."""

    async def enqueue(
        self,
        key: str,
        chat_id: int,
        kind: PushKind,
        text: str,
        markup: str | None,
        not_before: datetime,
        now: datetime,
    ) -> bool:
        """Write one push unless its idempotency key is already there."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO outbox (idempotency_key, chat_id, kind, text,"
                " reply_markup, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (key, chat_id, kind, text, markup, iso(not_before), iso(now)),
            )
            return cur.rowcount > 0

    async def enqueue_broadcast(self, text: str, now: datetime) -> int:
        """Write one push per active chat; return how many."""
        ref = iso(now)
        async with self._transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO outbox (idempotency_key, chat_id, kind, text, not_before,"
                " created_at) SELECT 'broadcast:' || id || ':' || ?, id, ?, ?, ?, ? FROM chats"
                " WHERE active = 1 ON CONFLICT DO NOTHING",
                (ref, PushKind.BROADCAST, text, iso(now), ref),
            )
            return cur.rowcount

    async def recover_in_flight(self) -> int:
        """Put rows left 'sending' by a crash back in the queue (they may be sent twice)."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = ? WHERE status = ?",
                (PushStatus.PENDING, PushStatus.SENDING),
            )
            return cur.rowcount

    async def claim_due(
        self, now: datetime, limit: int, lease: timedelta = SEND_LEASE
    ) -> list[Push]:
        """Mark up to limit due rows as sending and return them, oldest first.

        A row still `sending` a lease after its claim (its sender failed to record the
        outcome, or died) is due again.
        """
        # Two senders (replicas) claiming at once each skip the rows the other holds.
        async with self._transaction(exclusive=not self._dialect.row_locks) as conn:
            rows = await conn.execute_fetchall(
                "SELECT o.id, o.idempotency_key, o.chat_id, o.kind, coalesce(c.text, o.text),"
                " coalesce(c.reply_markup, o.reply_markup), o.attempts FROM outbox o"
                " LEFT JOIN push_contents c ON c.id = o.content_id"
                " WHERE (o.status = ? AND o.not_before <= ?)"
                " OR (o.status = ? AND o.claimed_at <= ?)"
                f" ORDER BY o.not_before, o.id LIMIT ?{self._dialect.skip_locked('o')}",
                (PushStatus.PENDING, iso(now), PushStatus.SENDING, iso(now - lease), limit),
            )
            await conn.executemany(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, claimed_at = ?"
                " WHERE id = ?",
                [(PushStatus.SENDING, iso(now), row[0]) for row in rows],
            )
        return [Push(r[0], r[1], r[2], r[3], r[4], r[5], r[6] + 1) for r in rows]

    async def release_push(self, push_id: int, not_before: datetime) -> None:
        """Put a claimed row back untried, due at not_before."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, attempts = attempts - 1, not_before = ?"
                " WHERE id = ?",
                (PushStatus.PENDING, iso(not_before), push_id),
            )

    async def next_due(self) -> datetime | None:
        """Return when the earliest pending row becomes due (or a claim's lease ends)."""
        rows = await self._read.execute_fetchall(
            "SELECT min(not_before) FROM outbox WHERE status = ?"
            " UNION ALL SELECT min(claimed_at) FROM outbox WHERE status = ?",
            (PushStatus.PENDING, PushStatus.SENDING),
        )
        pending, claimed = (row[0] for row in rows)
        times = [datetime.fromisoformat(pending)] if pending else []
        if claimed:
            times.append(datetime.fromisoformat(claimed) + SEND_LEASE)
        return min(times, default=None)

    async def finish_push(
        self,
        push_id: int,
        status: PushStatus,
        now: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome of one send: sent, failed, or pending again at retry_at."""
        async with self._transaction(exclusive=False) as conn:
            await conn.execute(
                "UPDATE outbox SET status = ?, last_error = ?, sent_at = ?,"
                " not_before = coalesce(?, not_before) WHERE id = ?",
                (
                    status,
                    error,
                    iso(now) if status is PushStatus.SENT else None,
                    iso(retry_at) if retry_at else None,
                    push_id,
                ),
            )

    async def queue_status(self, now: datetime) -> QueueStatus:
        """Return the numbers /status shows."""
        since = iso(now - timedelta(hours=24))
        rows = await self._read.execute_fetchall(
            "SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')),"
            " (SELECT count(*) FROM outbox WHERE status = 'sent' AND sent_at >= ?),"
            " (SELECT count(*) FROM outbox WHERE status = 'failed' AND created_at >= ?),"
            " (SELECT count(*) FROM chats WHERE active = 1),"
            " (SELECT count(*) FROM subscriptions),"
            " (SELECT max(finished_at) FROM ingest_runs)",
            (since, since),
        )
        return QueueStatus(*next(iter(rows)))

    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows in each state, every state present."""
        rows = await self._read.execute_fetchall(
            "SELECT status, count(*) FROM outbox GROUP BY status"
        )
        return {status.value: 0 for status in PushStatus} | {str(r[0]): int(r[1]) for r in rows}

    async def sent_pushes(self) -> AsyncIterator[tuple[str, int, str]]:
        """Yield (key, chat, status) of every outbox row, for tests and audits."""
        rows = await self._read.execute_fetchall(
            "SELECT idempotency_key, chat_id, status FROM outbox ORDER BY id"
        )
        for row in rows:
            yield row[0], row[1], row[2]
