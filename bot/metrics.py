"""The Prometheus metrics of one Application, on a registry of its own."""

from __future__ import annotations

import logging
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from telegram import Update

from storage.feeds import PollStatus
from storage.models import PushStatus

log = logging.getLogger(__name__)

UPDATE_KINDS = ("message", "callback_query", "inline_query", "other")
PUSH_OUTCOMES = ("sent", "failed")
# Searches take milliseconds on a warm archive and up to a second on a cold, large one.
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class OutboxCounter(Protocol):
    """What /metrics reads at scrape time: outbox rows by state."""

    async def outbox_counts(self) -> dict[str, int]:
        """Return the number of outbox rows in each state."""
        ...


def update_kind(update: object) -> str:
    """Return the label of an update: the kinds the bot asks for, else other."""
    if isinstance(update, Update):
        for kind in UPDATE_KINDS[:-1]:
            if getattr(update, kind) is not None:
                return kind
    return "other"


class Metrics:
    """Counters, a histogram and a gauge; each Application builds its own (tests build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "furat_updates", "Updates handled, by kind.", ["kind"], registry=self.registry
        )
        self.search_seconds = Histogram(
            "furat_search_seconds",
            "Time a handler waited for a search.",
            buckets=SEARCH_BUCKETS,
            registry=self.registry,
        )
        self.outbox_rows = Gauge(
            "furat_outbox_rows", "Outbox rows by state.", ["state"], registry=self.registry
        )
        self.pushes = Counter(
            "furat_pushes", "Pushes sent and failed for good.", ["outcome"], registry=self.registry
        )
        self.feed_polls = Counter(
            "furat_feed_polls", "Feed polls by status.", ["status"], registry=self.registry
        )
        # Every series exists from the start: a dashboard reads 0, not "no data".
        for kind in UPDATE_KINDS:
            self.updates.labels(kind)
        for outcome in PUSH_OUTCOMES:
            self.pushes.labels(outcome)
        for status in PollStatus:
            self.feed_polls.labels(status.value)

    def count_update(self, update: object) -> None:
        """Count one update handed to the handlers."""
        self.updates.labels(update_kind(update)).inc()

    def observe_search(self, seconds: float) -> None:
        """Record how long one search took."""
        self.search_seconds.observe(seconds)

    def count_push(self, status: PushStatus) -> None:
        """Count a push that ended sent or failed; retries are not outcomes."""
        if status in (PushStatus.SENT, PushStatus.FAILED):
            self.pushes.labels(status.value).inc()

    def count_poll(self, status: PollStatus) -> None:
        """Count one feed poll by how it ended."""
        self.feed_polls.labels(status.value).inc()

    async def render(self, store: OutboxCounter | None) -> bytes:
        """Return the Prometheus text, the outbox gauge read from the store just now."""
        self.outbox_rows.clear()
        if store is not None:
            try:
                counts = await store.outbox_counts()
            except Exception:  # the other series still help while the database is away
                log.warning("could not read the outbox for /metrics", exc_info=True)
            else:
                for state, count in counts.items():
                    self.outbox_rows.labels(state).set(count)
        return generate_latest(self.registry)
