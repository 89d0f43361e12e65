"""Work that replicas share through the database: leases on jobs, and per-user flood buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Connected
from storage.timestamps import iso


@dataclass(frozen=True)
class FloodVerdict:
    """What a flood bucket said about one update."""

    admitted: bool
    warn: bool  # the first refusal of this flood: tell the user once


class LeaseStore(Connected):
    """The leases and flood side of the Store (mixed into it; shares its connections)."""

    async def acquire_lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta
    ) -> bool:
        """Take the lease if free, expired or already holder's (renewing it); tell if held."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires_at = excluded.expires_at"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                (name, holder, iso(now + ttl), iso(now)),
            )
            return cur.rowcount > 0

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up if holder has it, so that another process takes it at once."""
        async with self._transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )
            return cur.rowcount > 0

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Return who holds the lease at now, if anyone."""
        rows = await self._read.execute_fetchall(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, iso(now))
        )
        return next((str(r[0]) for r in rows), None)

    async def take_flood_token(
        self, user_id: int, bucket: str, now: float, burst: float, per_second: float
    ) -> FloodVerdict:
        """Spend one of the user's tokens in a bucket refilled at per_second, up to burst.

        One statement, so replicas racing on the same user each see the other's spending.
        """
        # The bucket refilled since `last`, capped at burst (no scalar min: PostgreSQL has none).
        refilled = (
            "CASE WHEN flood.tokens + (excluded.last - flood.last) * ? > ? THEN ?"
            " ELSE flood.tokens + (excluded.last - flood.last) * ? END"
        )
        refill = (per_second, burst, burst, per_second)
        async with self._transaction() as conn:
            rows = await conn.execute_fetchall(
                "INSERT INTO flood (user_id, bucket, tokens, last, warned) VALUES (?, ?, ?, ?, 0)"
                " ON CONFLICT (user_id, bucket) DO UPDATE SET"
                f" tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END,"
                f" warned = CASE WHEN {refilled} >= 1 THEN 0 ELSE flood.warned + 1 END,"
                " last = excluded.last"
                " RETURNING warned",
                (user_id, bucket, burst - 1, now, *refill, *refill, *refill, *refill),
            )
        warned = next((int(r[0]) for r in rows), 0)
        return FloodVerdict(admitted=warned == 0, warn=warned == 1)
