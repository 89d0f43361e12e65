"""Which bot processes are using this database: a heartbeat row per running bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Connected
from storage.timestamps import iso


@dataclass(frozen=True)
class Presence:
    """One bot process that said it is running."""

    holder: str
    started_at: datetime
    seen_at: datetime


class PresenceStore(Connected):
    """The presence side of the Store (mixed into it; shares its connections)."""

    async def beat(self, holder: str, started_at: datetime, now: datetime) -> None:
        """Record that the bot process holder is alive at now."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO presence (holder, started_at, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (holder) DO UPDATE SET seen_at = excluded.seen_at",
                (holder, iso(started_at), iso(now)),
            )

    async def leave(self, holder: str) -> None:
        """Forget a bot process that is stopping."""
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM presence WHERE holder = ?", (holder,))

    async def live_bots(self, now: datetime, within: timedelta) -> list[Presence]:
        """Return the bot processes seen since now - within, most recent first."""
        rows = await self._read.execute_fetchall(
            "SELECT holder, started_at, seen_at FROM presence WHERE seen_at >= ?"
            " ORDER BY seen_at DESC",
            (iso(now - within),),
        )
        return [
            Presence(r[0], datetime.fromisoformat(r[1]), datetime.fromisoformat(r[2])) for r in rows
        ]
