"""Times, ranges and zones as users type them: any script's digits, and what was wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest

from handlers.timeparse import BadTime, parse_hhmm, parse_range, parse_zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:30", time(8, 30)),
        ("8:05", time(8, 5)),
        ("23.59", time(23, 59)),
        (" 00:00 ", time(0, 0)),
        ("٠٨:٣٠", time(8, 30)),  # Arabic-Indic digits
        ("۰۸:۳۰", time(8, 30)),  # Persian digits
        ("٢٣٫٤٥", time(23, 45)),  # Arabic decimal separator
    ],
)
def test_parse_hhmm(text: str, expected: time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "7", "07:60", "", "ab:cd", "٠٨:٣٠x"])
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(BadTime):
        parse_hhmm(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asia/Damascus", "Asia/Damascus"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("UTC", "UTC"),
        ("+3", "UTC+03:00"),
        ("UTC-04:30", "UTC-04:30"),
        ("GMT+5", "UTC+05:00"),
    ],
)
def test_parse_zone(text: str, expected: str) -> None:
    assert parse_zone(text) == expected


@pytest.mark.parametrize("text", ["Mars/Olympus", "+15", "", "../../etc/passwd"])
def test_parse_zone_rejects(text: str) -> None:
    with pytest.raises(BadTime):
        parse_zone(text)


def test_parse_range() -> None:
    assert parse_range("23:00-07:00") == (time(23), time(7))
    assert parse_range("٢٣:٠٠-٠٧:٠٠") == (time(23), time(7))


@pytest.mark.parametrize(
    ("parse", "text", "reason", "shown"),
    [
        (parse_hhmm, "25:00", "bad_time", "25:00"),
        (parse_hhmm, "", "bad_time", ""),
        (parse_range, "23:00", "bad_range", "23:00"),
        (parse_range, "23:00-25:00", "bad_time", "25:00"),
        (parse_range, "23:00-23:00", "same_times", "23:00"),  # quiet for no time at all
        (parse_range, "7:00 - 07:00", "same_times", "07:00"),
        (parse_zone, "Mars/Olympus", "bad_zone", "Mars/Olympus"),
    ],
)
def test_bad_times_say_what_was_wrong(
    parse: Callable[[str], object], text: str, reason: str, shown: str
) -> None:
    with pytest.raises(BadTime) as caught:
        parse(text)
    assert (caught.value.reason, caught.value.text) == (reason, shown)
