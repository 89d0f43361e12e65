"""Instants as the tables store them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """Return a UTC instant as ISO text with milliseconds: pacing and 'ingested after the last
    digest' need more than whole seconds, and text of one width compares like the instants."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
