"""Times, ranges and zones as users type them, in any script's digits."""

from __future__ import annotations

import re
import unicodedata
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM_RE = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# Decimal digits of any script (Arabic-Indic ٠٨, Persian ۰۸...) and the Arabic separators.
_DIGIT_RE = re.compile(r"[^\D0-9]")
_SEPARATORS = str.maketrans({"٫": ":", "：": ":", "؛": ":"})
_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


class BadTime(ValueError):
    """A time, range or zone the user typed that cannot be understood, and why."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(f"{reason}: {text!r}")
        self.reason = reason  # bad_time, bad_range, same_times or bad_zone
        self.text = text


def _ascii_digits(text: str) -> str:
    text = _DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group(), 0)), text)
    return text.translate(_SEPARATORS)


def parse_hhmm(text: str) -> time:
    """Parse 'HH:MM' (or 'H.MM'), in any script's digits, into a time."""
    m = _HHMM_RE.match(_ascii_digits(text.strip()))
    if not m:
        raise BadTime("bad_time", text.strip())
    return time(int(m.group(1)), int(m.group(2)))


def parse_range(text: str) -> tuple[time, time]:
    """Parse 'HH:MM-HH:MM' into (start, end); a range that is empty is refused."""
    parts = re.split(r"\s*[-–—]\s*", text.strip())
    if len(parts) != 2:
        raise BadTime("bad_range", text.strip())
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if start == end:
        raise BadTime("same_times", start.strftime("%H:%M"))
    return start, end


def parse_zone(text: str) -> str:
    """Return a canonical zone name for an IANA name or a UTC offset such as +3 or UTC-04:30."""
    text = text.strip()
    m = _OFFSET_RE.match(_ascii_digits(text))
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise BadTime("bad_zone", text)
        return f"UTC{m.group(1)}{hours:02d}:{minutes:02d}"
    if text.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTime("bad_zone", text) from None
    return text
