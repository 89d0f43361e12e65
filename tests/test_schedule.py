"""Local time for digests and quiet hours: DST changes, times passed while down."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.schedule import digest_due, last_occurrence, quiet_until


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_damascus_digest_time() -> None:
    # Damascus keeps UTC+3 all year.
    assert last_occurrence(time(8), "Asia/Damascus", utc(2026, 11, 22, 6)) == utc(2026, 11, 22, 5)
    assert last_occurrence(time(8), "Asia/Damascus", utc(2026, 11, 22, 4)) == utc(2026, 11, 21, 5)


def test_offset_zone() -> None:
    assert last_occurrence(time(8), "UTC-04:30", utc(2026, 1, 1, 13)) == utc(2026, 1, 1, 12, 30)


def test_dst_spring_forward_moves_a_missing_time_on() -> None:
    # Berlin jumps from 02:00 to 03:00 on 2026-03-29; 02:30 does not exist that day.
    at = last_occurrence(time(2, 30), "Europe/Berlin", utc(2026, 3, 29, 12))
    assert at == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    before = last_occurrence(time(2, 30), "Europe/Berlin", utc(2026, 3, 28, 12))
    assert at - before == timedelta(hours=24)  # an hour later on the wall clock, same UTC


def test_dst_fall_back_sends_once() -> None:
    # New York repeats 01:00–02:00 on 2026-11-01: the digest at 01:30 goes out once.
    first = last_occurrence(time(1, 30), "America/New_York", utc(2026, 11, 1, 5, 45))
    assert first == utc(2026, 11, 1, 5, 30)
    later = utc(2026, 11, 1, 6, 45)  # 01:45 again, in EST
    assert digest_due(time(1, 30), "America/New_York", first, later) is None
    nxt = digest_due(time(1, 30), "America/New_York", first, utc(2026, 11, 2, 7))
    assert nxt == utc(2026, 11, 2, 6, 30)


def test_digest_time_passed_while_down_is_due_once() -> None:
    last_sent = utc(2026, 11, 20, 5)  # 08:00 Damascus, two days ago
    now = utc(2026, 11, 22, 9)  # the bot comes back at noon
    due = digest_due(time(8), "Asia/Damascus", last_sent, now)
    assert due == utc(2026, 11, 22, 5)  # only today's, not one per missed day
    assert digest_due(time(8), "Asia/Damascus", due, now + timedelta(minutes=1)) is None


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2026, 11, 22, 21), utc(2026, 11, 23, 4)),  # 00:00 Damascus, inside 23:00-07:00
        (utc(2026, 11, 22, 20, 30), utc(2026, 11, 23, 4)),  # 23:30, before midnight
        (utc(2026, 11, 22, 4, 30), None),  # 07:30, after the end
        (utc(2026, 11, 22, 12), None),  # 15:00
    ],
)
def test_quiet_hours_overnight(now: datetime, until: datetime | None) -> None:
    assert quiet_until(time(23), time(7), "Asia/Damascus", now) == until


def test_quiet_hours_same_day() -> None:
    assert quiet_until(time(13), time(14), "UTC", utc(2026, 1, 1, 13, 20)) == utc(2026, 1, 1, 14)
    assert quiet_until(time(13), time(14), "UTC", utc(2026, 1, 1, 14)) is None
    assert quiet_until(time(9), time(9), "UTC", utc(2026, 1, 1, 9)) is None
