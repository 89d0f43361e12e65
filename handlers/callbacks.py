"""Typed, compact, stateless callback data: `kind:a:b`, at most 64 bytes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64


class Action(StrEnum):
    """What a button does."""

    PAGE = "p"  # show page `b` of the results of stored query `a`
    ARTICLE = "a"  # send document `a` from character `b` of its body, a few messages
    UNSUBSCRIBE = "u"  # remove subscription `a`
    COPIES = "c"  # list the near-copies folded into result `b` of stored query `a`


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    action: Action
    a: int
    b: int = 0

    def encode(self) -> str:
        """Return the callback_data string."""
        data = f"{self.action.value}:{self.a}:{self.b}"
        assert len(data.encode()) <= MAX_BYTES
        return data


class BadCallback(ValueError):
    """Callback data this bot did not make, or no longer understands."""


def decode(data: str | None) -> Callback:
    """Parse callback_data or raise BadCallback."""
    if not data or len(data.encode()) > MAX_BYTES:
        raise BadCallback(data)
    parts = data.split(":")
    if len(parts) != 3:
        raise BadCallback(data)
    try:
        action = Action(parts[0])
        a, b = int(parts[1]), int(parts[2])
    except ValueError:
        raise BadCallback(data) from None
    if a < 0 or b < 0 or a > 2**53 or b > (2**31 if action is Action.ARTICLE else 10_000):
        raise BadCallback(data)
    return Callback(action, a, b)
