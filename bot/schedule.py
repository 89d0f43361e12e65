"""Local-time arithmetic for digests and quiet hours, with the clock passed in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo


def zone(name: str) -> tzinfo:
    """Return the tzinfo for a name produced by handlers.timeparse.parse_zone."""
    m = re.match(r"^UTC([+-])(\d{2}):(\d{2})$", name)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return timezone(delta if m.group(1) == "+" else -delta)
    return UTC if name == "UTC" else ZoneInfo(name)


def _local_at(day: datetime, at: time, tz: tzinfo) -> datetime:
    """Return the instant when local wall clock on day's date shows at (DST gaps move on)."""
    naive = datetime.combine(day.date(), at)
    local = naive.replace(tzinfo=tz)
    # A wall time that does not exist (spring forward) round-trips to a different one.
    round_trip = local.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != naive:
        local = round_trip
    return local.astimezone(UTC)


def last_occurrence(at: time, tz_name: str, now: datetime) -> datetime:
    """Return the latest instant, not after now, at which local time was `at`."""
    tz = zone(tz_name)
    local_now = now.astimezone(tz)
    for days_back in range(0, 3):
        candidate = _local_at(local_now - timedelta(days=days_back), at, tz)
        if candidate <= now:
            return candidate
    raise AssertionError("a daily time occurs within three days")


def digest_due(at: time, tz_name: str, last_sent: datetime, now: datetime) -> datetime | None:
    """Return the occurrence a digest is due for, if one passed since the last digest."""
    occurrence = last_occurrence(at, tz_name, now)
    return occurrence if occurrence > last_sent else None


def quiet_until(start: time, end: time, tz_name: str, now: datetime) -> datetime | None:
    """Return when quiet hours end if now falls inside them, else None."""
    tz = zone(tz_name)
    local = now.astimezone(tz).time().replace(second=0, microsecond=0, tzinfo=None)
    inside = start <= local < end if start < end else (local >= start or local < end)
    if start == end or not inside:
        return None
    end_today = _local_at(now.astimezone(tz), end, tz)
    return (
        end_today if end_today > now else _local_at(now.astimezone(tz) + timedelta(days=1), end, tz)
    )
